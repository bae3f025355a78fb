"""Everything one run shares: client, ledger, references, fiscal years, outcomes, the write context
the strategies work with, the record intake and the thread pool."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eaccounting_api.connection import DEFAULT_API_URL, DEFAULT_IDENTITY_URL
from target_eaccounting.api import Api, RequestClient
from target_eaccounting.fiscal import FiscalYears
from target_eaccounting.ledger import Ledger, WriteLedger
from target_eaccounting.outcomes import Outcomes
from target_eaccounting.pg_ledger import PostgresLedger
from target_eaccounting.record_intake import RecordIntake
from target_eaccounting.references import References
from target_eaccounting.rejects import RejectFile
from target_eaccounting.stream_specs import STREAMS
from target_eaccounting.write_context import WriteContext, WriteSettings

DEFAULT_LEDGER = "eaccounting-ledger.sqlite"
DEFAULT_REJECTS = "eaccounting-rejects.jsonl"
DEFAULT_PLAN = "eaccounting-plan.jsonl"


def settings_from_config(config: Mapping[str, Any]) -> WriteSettings:
    return WriteSettings(
        key_fields=dict(config.get("external_key_properties") or {}),
        reference_fields=dict(config.get("reference_fields") or {}),
        convert_drafts=bool(config.get("convert_drafts", False)),
        inject_fiscal_year_id=bool(config.get("inject_fiscal_year_id", True)),
        dry_run=bool(config.get("dry_run", False)),
        max_write_attempts=int(config.get("max_write_attempts") or 3),
    )


class RunContext:
    def __init__(self, config: Mapping[str, Any], logger: logging.Logger, client: RequestClient) -> None:
        settings = settings_from_config(config)
        self.concurrency = max(1, int(config.get("max_concurrency") or 4))
        self.api = Api(
            client,
            dry_run=settings.dry_run,
            api_url=str(config.get("api_url") or DEFAULT_API_URL),
            identity_url=str(config.get("identity_url") or DEFAULT_IDENTITY_URL),
        )
        # with coordination_dsn the ledger is the tenant's, in Postgres: a re-run anywhere sees it
        self.ledger: WriteLedger = (
            PostgresLedger.from_config(config)
            if config.get("coordination_dsn")
            else Ledger(config.get("ledger_path") or DEFAULT_LEDGER)
        )
        self.outcomes = Outcomes(
            RejectFile(config.get("reject_path") or DEFAULT_REJECTS),
            logger,
            client_id=config.get("client_id"),
            plan_path=(config.get("plan_path") or DEFAULT_PLAN) if settings.dry_run else None,
        )
        refs = References(
            self.api, self.ledger, invoice_streams={n: s.invoice_streams for n, s in STREAMS.items()}
        )
        self.write_context = WriteContext(
            api=self.api,
            ledger=self.ledger,
            refs=refs,
            fiscal_years=FiscalYears(lambda: self.api.list("/fiscalyears")),
            outcomes=self.outcomes,
            settings=settings,
            logger=logger,
        )
        self.intake = RecordIntake(self.write_context)
        self.executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="ea-write")

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.write_context.refs.close()
        self.outcomes.close()
        self.ledger.close()
