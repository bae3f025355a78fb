"""What every write strategy works with: the API, the ledger, references, fiscal years, outcomes and
the write settings of the run. Built once per run by ``run.RunContext``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from target_eaccounting.api import Api
from target_eaccounting.fiscal import FiscalYears
from target_eaccounting.ledger import WriteLedger
from target_eaccounting.outcomes import Outcomes
from target_eaccounting.references import References


@dataclass(frozen=True)
class WriteSettings:
    """The write-related settings of the target's config (see ``run.settings_from_config``)."""

    #: per stream, the record field holding the external key (default: the stream's number field)
    key_fields: Mapping[str, str] = field(default_factory=dict)
    #: per stream, the API field that carries the external key (``""``/None: none)
    reference_fields: Mapping[str, str | None] = field(default_factory=dict)
    convert_drafts: bool = False
    inject_fiscal_year_id: bool = True
    dry_run: bool = False
    max_write_attempts: int = 3


@dataclass(frozen=True)
class WriteContext:
    api: Api
    ledger: WriteLedger
    refs: References
    fiscal_years: FiscalYears
    outcomes: Outcomes
    settings: WriteSettings
    logger: logging.Logger
