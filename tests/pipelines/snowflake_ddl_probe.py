"""Print the DDL that target-snowflake's own connector issues for each of the tap's stream schemas.

Runs in the venv of an unmodified ``meltanolabs-target-snowflake`` (``test_snowflake_ddl.py`` builds it:
the target pins a singer-sdk of its own), not in the project's. For every schema file given it calls
``SnowflakeConnector.create_empty_table`` (the SDK's, which the target's sink calls for a new table) on
a mock engine that records the statements instead of sending them, and prints one JSON object:
``{stream: {"ddl": CREATE TABLE text, "columns": {property: column type as compiled}}}``.

Usage: ``python snowflake_ddl_probe.py CONFIG_JSON SCHEMA_FILE...`` (CONFIG_JSON: the target's config).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from snowflake.sqlalchemy.snowdialect import SnowflakeDialect
from target_snowflake.connector import SnowflakeConnector


def main(config_json: str, schema_files: list[str]) -> dict[str, Any]:
    connector = SnowflakeConnector(config=json.loads(config_json))
    dialect = SnowflakeDialect()
    statements: list[str] = []

    def record(sql: Any, *_args: Any, **_kwargs: Any) -> None:
        statements.append(str(sql.compile(dialect=dialect)))

    connector._cached_engine = sa.create_mock_engine("snowflake://", record)  # type: ignore[assignment]
    out: dict[str, Any] = {}
    for path in map(Path, schema_files):
        schema = json.loads(path.read_text())
        statements.clear()
        connector.create_empty_table(f"db.eaccounting.{path.stem}", schema=schema)
        out[path.stem] = {
            "ddl": "\n".join(statements),
            "columns": {
                name: str(connector.to_sql_type(prop).compile(dialect=dialect))
                for name, prop in schema["properties"].items()
            },
        }
    return out


if __name__ == "__main__":
    json.dump(main(sys.argv[1], sys.argv[2:]), sys.stdout)
