"""The Singer SDK's standard target suite (``get_target_test_class``), adapted to this target.

Kept as they are: ``cli_prints`` and ``invalid_schema`` (a bad SCHEMA still stops the run).

Adapted: ``record_before_schema`` expected the SDK to stop the run. This target rejects such a record
instead (one reject line with its line number, the run goes on), so ``record_before_schema_rejected``
runs the same file and expects that reject line, then the SCHEMA of the file's stream, which maps to no
eAccounting object, to stop the run with ``UnknownStreamError``. test_bad_messages_http.py covers the
same with a stream this target writes, between good records that all land.

Also adapted: every other standard test feeds streams such as ``array_data`` or ``camelcase`` that map to
no eAccounting object. This target refuses an unknown stream at SCHEMA time by design (issue 4,
"an unknown stream name is a clear error"), so instead of expecting those files to load,
``unknown_streams_refused`` runs each of them and expects ``UnknownStreamError`` before any record.
``state_after_ledger`` replaces ``multiple_state_messages`` with a stream this target writes: state
is emitted only after the records it covers are in the ledger.

Excluded, with reasons: ``record_missing_key_property`` and ``record_missing_required_property``
(their stream names are unknown here, so they stop at SCHEMA; a record missing its key property is
rejected in test_bad_messages_http.py, missing API-required fields in test_bad_input_http.py), and the
load-method / schema update tests (``pk_updates``, ``schema_updates``, ``no_primary_keys``, ...): this
target does not create tables; the upsert behaviour they probe is covered by test_streams_http.py.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing import target_test_streams as sdk_streams
from singer_sdk.testing.runners import TargetTestRunner
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.target_tests import TargetCliPrintsTest, TargetInvalidSchemaTest
from singer_sdk.testing.templates import TargetTestTemplate
from target_support import TargetHarness

from target_eaccounting.ledger import Ledger
from target_eaccounting.record_errors import UnknownStreamError
from target_eaccounting.target import TargetEAccounting

GENERIC_FILES = (
    "array_data",
    "camelcase",
    "camelcase_complex_schema",
    "duplicate_records",
    "encoded_string_data",
    "no_primary_keys",
    "optional_attributes",
    "schema_updates",
    "special_chars_in_attributes",
    "user_location_data",
)


class TargetUnknownStreamsRefused(TargetTestTemplate):
    name = "unknown_streams_refused"

    def test(self) -> None:
        for name in GENERIC_FILES:
            path = importlib.resources.files(sdk_streams) / f"{name}.singer"
            target = self.runner.new_target()
            with path.open(encoding="utf-8") as fh, pytest.raises(UnknownStreamError, match="maps to no API"):
                target.listen(fh)


class TargetRecordBeforeSchemaRejected(TargetTestTemplate):
    name = "record_before_schema_rejected"

    def test(self) -> None:
        path = importlib.resources.files(sdk_streams) / "record_before_schema.singer"
        target = self.runner.new_target()
        with path.open(encoding="utf-8") as fh, pytest.raises(UnknownStreamError, match="maps to no API"):
            target.listen(fh)
        lines = Path(self.runner.config["reject_path"]).read_text().splitlines()
        (reject,) = [json.loads(line) for line in lines]
        assert (reject["line_number"], reject["reason"]) == (1, "record_before_schema")
        assert reject["stream"] == "test_record_before_schema"
        assert reject["record"] == {"id": 1, "metric": 6719}


class TargetStateAfterLedger(TargetTestTemplate):
    name = "state_after_ledger"

    def test(self) -> None:
        config = self.runner.config
        lines = [
            {"type": "SCHEMA", "stream": "customers", "schema": {"properties": {}}, "key_properties": []},
            {"type": "RECORD", "stream": "customers", "record": {"CustomerNumber": "10000", "Note": "s1"}},
            {"type": "STATE", "value": {"bookmark": 1}},
            {"type": "RECORD", "stream": "customers", "record": {"CustomerNumber": "10001", "Note": "s2"}},
            {"type": "STATE", "value": {"bookmark": 2}},
        ]
        path = Path(config["ledger_path"]).with_name("state.singer")
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        self.runner.input_filepath = path
        self.runner.sync_all()
        assert self.runner.state_messages[-1] == {"bookmark": 2}
        ledger = Ledger(config["ledger_path"])
        for number in ("10000", "10001"):
            entry = ledger.get("customers", number)
            assert entry is not None
            assert entry.is_done


_Standard = get_target_test_class(
    TargetEAccounting,
    config={"client_id": "placeholder", "client_secret": "placeholder"},
    custom_suites=[
        SingerTestSuite(
            kind="target",
            tests=[
                TargetCliPrintsTest,
                TargetInvalidSchemaTest,
                TargetRecordBeforeSchemaRejected,
                TargetUnknownStreamsRefused,
                TargetStateAfterLedger,
            ],
        )
    ],
    include_target_tests=False,
)


class TestTargetEAccountingStandard(_Standard):  # type: ignore[misc,valid-type]  # a class built at runtime
    @pytest.fixture
    def runner(self, harness: TargetHarness) -> TargetTestRunner:
        return TargetTestRunner(target_class=TargetEAccounting, config=harness.config)
