"""``python -m target_eaccounting`` runs the CLI (same as the ``target-eaccounting`` script).

``cli`` is the command built once in ``target``: the SDK's ``TargetEAccounting.cli`` property sets up
console logging each time it is read, and reading it twice printed every log line twice.
"""

from target_eaccounting.target import cli

cli()
