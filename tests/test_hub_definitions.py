"""The Meltano Hub definitions (meltano-hub/) are built from the connectors' --about, complete and current.

Every setting has a label, a description and a kind a `meltano config` can use (secrets `password` and
`sensitive`, the start date `date_iso8601`, enums `options`); the auth commands are there; the version in
the pinned pip_url is the distribution's. The commands themselves run in tests/pipelines/test_meltano_auth.py.
"""

from __future__ import annotations

import importlib.metadata
import json
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCRIPT = ROOT / "scripts" / "render_hub_definitions.py"
EXECUTABLES = ["tap-eaccounting", "target-eaccounting"]
MELTANO_KINDS = {
    "string", "integer", "decimal", "boolean", "date_iso8601", "email", "password", "oauth", "options",
    "file", "array", "object", "hidden",
}  # fmt: skip


@cache
def _about(executable: str) -> dict[str, Any]:
    about: dict[str, Any] = json.loads(
        subprocess.check_output([str(BIN / executable), "--about", "--format=json"])
    )
    return about


def _definition(executable: str) -> dict[str, Any]:
    kind = "extractors" if executable.startswith("tap-") else "loaders"
    paths = sorted((ROOT / "meltano-hub" / kind).glob(f"{executable}--*.yml"))
    assert len(paths) == 1, paths
    loaded: dict[str, Any] = yaml.safe_load(paths[0].read_text("utf-8"))
    return loaded


def test_definitions_are_rendered_from_the_connectors_about() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("executable", EXECUTABLES)
def test_every_setting_is_described(executable: str) -> None:
    about, definition = _about(executable), _definition(executable)
    settings = {s["name"]: s for s in definition["settings"]}
    assert set(about["settings"]["properties"]) <= set(settings)
    for name, setting in settings.items():
        assert setting.get("label"), name
        assert setting.get("description"), name
        assert setting.get("kind") in MELTANO_KINDS, name
    for name, prop in about["settings"]["properties"].items():
        if prop.get("secret"):
            assert settings[name]["kind"] == "password", name
            assert settings[name]["sensitive"] is True, name
        else:
            assert "sensitive" not in settings[name], name
        if prop.get("enum"):
            assert settings[name]["kind"] == "options", name
            assert [o["value"] for o in settings[name]["options"]] == prop["enum"], name
        if prop.get("default") is not None:
            assert settings[name]["value"] == prop["default"], name
    assert settings["client_secret"]["kind"] == "password"
    assert settings["refresh_token"]["sensitive"] is True
    assert settings["client_id"]["label"] == "Client ID"
    assert settings["api_url"]["label"] == "API URL"
    assert settings["request_timeout"]["kind"] == "decimal"
    assert settings["rate_limit_keying"]["kind"] == "options"
    assert settings["redirect_uri"]["kind"] == "string"  # read by the auth commands only


def test_the_taps_start_date_is_a_date_and_its_opt_in_streams_are_not_selected() -> None:
    definition = _definition("tap-eaccounting")
    settings = {s["name"]: s for s in definition["settings"]}
    assert settings["start_date"]["kind"] == "date_iso8601"
    assert settings["page_size"]["kind"] == "integer"
    assert settings["detect_deletes"]["kind"] == "boolean"
    assert settings["account_balance_dates"]["kind"] == "array"
    assert settings["fan_out_streams"]["kind"] == "array"
    # The fan-out streams hold themselves back (fan_out_streams); only the keyless one is left out.
    assert definition["select"] == ["*.*", "!company_settings.*"]


@pytest.mark.parametrize("executable", EXECUTABLES)
def test_plugin_metadata_comes_from_the_about(executable: str) -> None:
    about, definition = _about(executable), _definition(executable)
    version = importlib.metadata.version("eaccounting-singer")
    assert about["version"] == version
    assert definition["name"] == executable
    assert definition["namespace"] == executable.replace("-", "_")
    assert definition["executable"] == executable
    assert definition["pip_url"].endswith(f".git@v{version}")
    assert definition["capabilities"] == about["capabilities"]
    assert definition["settings_group_validation"] == [["client_id", "client_secret"]]
    for key in ("variant", "label", "description", "repo", "docs"):
        assert definition.get(key), key


@pytest.mark.parametrize("executable", EXECUTABLES)
def test_auth_commands_read_the_plugins_own_settings(executable: str) -> None:
    """A command gets no config file from Meltano: it reads the variables Meltano exports for the plugin
    itself (MELTANO_EXTRACT_* / MELTANO_LOAD_*), whatever its name. The target's commands run the auth CLI
    of the same distribution, asking for write scopes."""
    commands = _definition(executable)["commands"]
    assert set(commands) == {"auth-url", "auth-exchange", "auth-status"}
    prefix = "MELTANO_EXTRACT_" if executable.startswith("tap-") else "MELTANO_LOAD_"
    for name, command in commands.items():
        args = shlex.split(command["args"])
        assert args[:2] == ["--config", "ENV"], name
        assert args[args.index("--env-prefix") + 1] == prefix, name
        assert args[args.index("auth") + 1] == name.removeprefix("auth-"), name
        assert command["description"], name
        assert command.get("executable", executable) == "tap-eaccounting", name
    url = shlex.split(commands["auth-url"]["args"])
    if executable == "target-eaccounting":
        assert "--write" in url
    else:
        assert "--write" not in url
        assert url[url.index("--catalog") + 1].endswith("/run/$MELTANO_EXTRACTOR_NAME/tap.properties.json")


@pytest.mark.parametrize("executable", EXECUTABLES)
def test_the_first_log_line_names_the_version(executable: str, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"client_id": "x", "client_secret": "y", "token_store_path": str(tmp_path / "t")})
    )
    catalog = tmp_path / "catalog.json"
    catalog.write_text('{"streams": []}')
    args = ["--catalog", str(catalog)] if executable.startswith("tap-") else []
    proc = subprocess.run(
        [str(BIN / executable), "--config", str(config), *args],
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    first = proc.stderr.splitlines()[0]
    assert f"{executable} v{importlib.metadata.version('eaccounting-singer')}" in first, first
