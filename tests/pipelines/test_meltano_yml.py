"""meltano.yml is generated, complete (no Meltano Hub lookup) and keeps secrets out of the file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml
from pipeline_support import BIN, FAN_OUT_ENABLED, NOT_SELECTED, ROOT

from tap_eaccounting.streams import FAN_OUT_STREAMS

# A setting with one of these in its name holds a credential (a connection URL can carry a password).
SECRET_NAME = re.compile(r"secret|password|token$|refresh_token|private_key|sqlalchemy_url")
PINNED = re.compile(r"^[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*$")


def _meltano_yml() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "meltano.yml").read_text())
    return loaded


def _plugins() -> list[dict[str, Any]]:
    plugins = _meltano_yml()["plugins"]
    return [*plugins["extractors"], *plugins["loaders"]]


def test_meltano_yml_is_rendered_from_the_connectors_about() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "render_meltano_yml.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("plugin", _plugins(), ids=lambda p: p["name"])
def test_plugin_is_fully_defined_without_the_hub(plugin: dict[str, Any]) -> None:
    missing = [k for k in ("namespace", "pip_url", "executable") if not plugin.get(k)]
    assert not missing, f"{plugin['name']} needs {missing} or Meltano asks the Hub (unreachable from CI)"
    assert "variant" not in plugin
    assert "inherit_from" not in plugin
    assert plugin.get("settings"), f"{plugin['name']} declares no settings"
    if plugin["pip_url"] != "-e .":
        for requirement in plugin["pip_url"].split():
            assert PINNED.match(requirement), f"{plugin['name']}: {requirement} is not pinned"


@pytest.mark.parametrize("plugin", _plugins(), ids=lambda p: p["name"])
def test_every_secret_setting_is_sensitive(plugin: dict[str, Any]) -> None:
    loose = [
        s["name"] for s in plugin["settings"] if SECRET_NAME.search(s["name"]) and not s.get("sensitive")
    ]
    assert not loose, f"{plugin['name']}: settings {loose} hold secrets but are not `sensitive: true`"


@pytest.mark.parametrize("executable", ["tap-eaccounting", "target-eaccounting"])
def test_connector_secrets_match_the_about(executable: str) -> None:
    about = json.loads(subprocess.check_output([str(BIN / executable), "--about", "--format=json"]))
    secret = {n for n, p in about["settings"]["properties"].items() if p.get("secret")}
    assert {"client_secret", "refresh_token"} <= secret
    plugin = next(p for p in _plugins() if p["name"] == executable)
    sensitive = {s["name"] for s in plugin["settings"] if s.get("sensitive")}
    assert sensitive == secret


def test_no_secret_values_in_the_file() -> None:
    """Only the sandbox's demo credentials (not secret, docs/DESIGN.md) and the demo Postgres' URL."""
    allowed = {
        "sandbox-secret",
        "demo-no-bootstrap-refresh-token",
        # scripts/demo_postgres.py: a Unix socket, trust auth (`trust`: a placeholder tap-postgres needs)
        "postgresql://postgres:trust@localhost/postgres?host=${MELTANO_PROJECT_ROOT}/output/postgres",
    }
    for env in _meltano_yml()["environments"]:
        for kind in ("extractors", "loaders"):
            for plugin in env.get("config", {}).get("plugins", {}).get(kind, []):
                for key, value in (plugin.get("config") or {}).items():
                    if not SECRET_NAME.search(key) or value is None:
                        continue
                    assert env["name"] == "sandbox", key
                    assert value in allowed, (env["name"], key)


def test_named_jobs_exist() -> None:
    jobs = {j["name"]: j["tasks"] for j in _meltano_yml()["jobs"]}
    # `make demo` runs postgres-elt: the demo's loader is the production one.
    assert jobs == {
        "postgres-elt": ["tap-eaccounting target-postgres"],
        "reverse-etl": ["tap-postgres target-eaccounting"],
    }
    assert 'meltano" run postgres-elt' in (ROOT / "scripts" / "demo.sh").read_text()


def test_sandbox_environment_points_every_postgres_plugin_at_the_demo_postgres() -> None:
    """Where scripts/demo_postgres.py puts the socket: a `meltano run` in the sandbox environment reaches
    the server `make demo` starts (`demo_postgres.py start` for runs of one's own)."""
    sandbox = next(e for e in _meltano_yml()["environments"] if e["name"] == "sandbox")
    plugins = sandbox["config"]["plugins"]
    urls = {
        p["name"]: p["config"]["sqlalchemy_url"]
        for p in [*plugins["extractors"], *plugins["loaders"]]
        if "sqlalchemy_url" in p.get("config", {})
    }
    assert set(urls) == {"tap-postgres", "target-postgres"}
    for url in urls.values():
        assert url.endswith("?host=${MELTANO_PROJECT_ROOT}/output/postgres")
    assert 'DEFAULT_DIR = Path("output/postgres")' in (ROOT / "scripts" / "demo_postgres.py").read_text()


def test_loaders_get_the_tap_schemas_unchanged_and_target_postgres_a_utc_session() -> None:
    """README, "Loader types": the tap's own schemas give the loader types, so no plugin overrides them;
    target-postgres converts date-times into its session's zone, which must be UTC."""
    assert not [p["name"] for p in _plugins() if "schema" in p]
    target_postgres = next(p for p in _plugins() if p["name"] == "target-postgres")
    assert target_postgres["env"] == {"PGTZ": "UTC"}


def test_what_the_sandbox_environment_syncs_is_what_the_pipeline_tests_expect() -> None:
    """``NOT_SELECTED``: the keyless company_settings by `select`, every fan-out stream but the ones the
    sandbox environment's ``fan_out_streams`` lists (``FAN_OUT_ENABLED``) by the tap itself."""
    tap = next(p for p in _meltano_yml()["plugins"]["extractors"] if p["name"] == "tap-eaccounting")
    sandbox = next(e for e in _meltano_yml()["environments"] if e["name"] == "sandbox")
    config = next(p for p in sandbox["config"]["plugins"]["extractors"] if p["name"] == "tap-eaccounting")
    assert config["config"]["fan_out_streams"] == FAN_OUT_ENABLED
    excluded = {rule[1:].removesuffix(".*") for rule in tap["select"] if rule.startswith("!")}
    assert tap["select"][0] == "*.*"
    assert excluded | (set(FAN_OUT_STREAMS) - set(FAN_OUT_ENABLED)) == NOT_SELECTED
