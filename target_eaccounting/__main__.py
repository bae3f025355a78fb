"""``python -m target_eaccounting`` runs the CLI (same as the ``target-eaccounting`` script)."""

from target_eaccounting.target import TargetEAccounting

TargetEAccounting.cli()
