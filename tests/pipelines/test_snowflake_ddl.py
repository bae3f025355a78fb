"""The tables an unmodified target-snowflake would create for every stream of the tap.

There is no Snowflake here, and fakesnow (0.12.1) cannot stand in for one with the unmodified target:
its server mode needs a host and port the target has no setting for, and patched in-process it creates
the tables and then fails at the target's ``PUT`` to the stage. So this checks the DDL: the target's own
``SnowflakeConnector`` builds each stream's ``CREATE TABLE`` from the tap's generated schema
(``snowflake_ddl_probe.py``, in a venv of ``meltanolabs-target-snowflake`` from PyPI, which pins a
singer-sdk of its own), and every property must get its loader type: an exact ``DECIMAL(38, s)``
(Snowflake's NUMBER(38, s)) with the scale of its kind for numbers, ``TIMESTAMP_TZ`` for date-times with
the documented ``timestamp_type: TIMESTAMP_TZ`` (the target's default, ``TIMESTAMP_NTZ``, drops the zone),
``VARIANT`` for nested objects and arrays.

The venv is built once per Python (``.venv-snowflake-<X.Y>``, ~60 s, git-ignored) and reused while the
pinned version is unchanged. Without PyPI the test skips and says so; any other install failure fails it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import PIPELINES, ROOT

from tap_eaccounting.schema_gen import DECIMAL_PRECISION, DECIMAL_SCALES, decimal_kind

pytestmark = PIPELINES

TARGET_SNOWFLAKE = "meltanolabs-target-snowflake==0.20.4"
VENV = ROOT / f".venv-snowflake-{sys.version_info.major}.{sys.version_info.minor}"
PROBE = Path(__file__).with_name("snowflake_ddl_probe.py")
SCHEMAS = sorted((ROOT / "tap_eaccounting" / "schemas").glob("*.json"))
# Never used to connect: the probe's engine records the statements.
CONFIG = {"account": "probe", "user": "probe", "password": "probe", "database": "probe"}


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="session")
def snowflake_python() -> Path:
    """The python of a venv holding the unmodified target-snowflake."""
    marker = VENV / f".installed-{TARGET_SNOWFLAKE}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        installed = _pip("install", "--quiet", TARGET_SNOWFLAKE)
        if installed.returncode != 0:
            if _pip("index", "versions", TARGET_SNOWFLAKE.split("==", maxsplit=1)[0]).returncode != 0:
                pytest.skip(f"PYPI IS NOT REACHABLE: cannot install {TARGET_SNOWFLAKE} for the DDL check")
            raise AssertionError(f"pip install {TARGET_SNOWFLAKE} failed:\n{installed.stderr[-2000:]}")
        marker.touch()
    return VENV / "bin" / "python"


def ddl(python: Path, **config: str) -> dict[str, Any]:
    out = subprocess.run(
        [str(python), str(PROBE), json.dumps({**CONFIG, **config}), *map(str, SCHEMAS)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    tables: dict[str, Any] = json.loads(out.stdout)
    return tables


def expected_type(name: str, prop: dict[str, Any], timestamp: str) -> str | None:
    """The column type a property must get; ``None`` for plain strings, booleans and integers."""
    if any(branch.get("format") == "x-singer.decimal" for branch in prop.get("anyOf", [])):
        return f"DECIMAL({DECIMAL_PRECISION}, {DECIMAL_SCALES[decimal_kind(name)]})"
    types = prop.get("type", [])
    if "array" in types or "object" in types:
        return "VARIANT"
    if prop.get("format") == "date-time":
        return timestamp
    assert "number" not in types, name  # every number is an exact decimal
    return None


def test_target_snowflake_types_every_property_of_every_stream(snowflake_python: Path) -> None:
    tz = ddl(snowflake_python, timestamp_type="TIMESTAMP_TZ")
    ntz = ddl(snowflake_python)
    assert set(tz) == {path.stem for path in SCHEMAS}
    seen: dict[str, int] = {}
    for path in SCHEMAS:
        properties = json.loads(path.read_text())["properties"]
        table = tz[path.stem]
        assert set(table["columns"]) == set(properties), path.stem
        for name, prop in properties.items():
            want = expected_type(name, prop, "TIMESTAMP_TZ")
            if want is None:
                continue
            seen[want] = seen.get(want, 0) + 1
            # The type the connector maps the property to, and the column it creates with it.
            assert table["columns"][name] == want, (path.stem, name, table["columns"][name])
            assert f'\t"{name}" {want}' in table["ddl"], (path.stem, name)
            if want == "TIMESTAMP_TZ":
                assert ntz[path.stem]["columns"][name] == "TIMESTAMP_NTZ", (path.stem, name)
    print(f"target-snowflake columns checked, by type: {dict(sorted(seen.items()))}")
    # Every kind is there: money, quantities, percentages, exchange rates; date-times; nested data.
    assert {f"DECIMAL(38, {s})" for s in DECIMAL_SCALES.values()} | {"TIMESTAMP_TZ", "VARIANT"} <= set(seen)
    invoices = tz["customer_invoices"]["columns"]
    assert (invoices["TotalAmount"], invoices["ModifiedUtc"], invoices["Rows"]) == (
        "DECIMAL(38, 4)",
        "TIMESTAMP_TZ",
        "VARIANT",
    )
