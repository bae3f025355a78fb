"""Auth inside a data engineer's own Meltano project, driven through `meltano`.

A fresh project adds tap and target from the Hub definitions (`meltano add --from-ref meltano-hub/...`),
as README "Use it in your own Meltano project" says; their executables are this venv's (another test,
test_install.py, covers pip_url installs). Against a sandbox: `tap-eaccounting:auth-url` asks for the
scopes of the project's selection, the code from that URL goes through `:auth-exchange --code`,
`:auth-status --verify` proves the grant, the plain order `meltano invoke tap-eaccounting auth status`
works, the target's commands read the target's settings and ask for write scopes, a sync uses the stored
tokens, and a dead grant's message names the Meltano commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import yaml
from pipeline_support import BIN, PIPELINES, ROOT, MeltanoProject

from eaccounting_sandbox.server import SandboxServer

pytestmark = PIPELINES

HUB = ROOT / "meltano-hub"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
SANDBOX_CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}


def _new_project(root: Path) -> MeltanoProject:
    root.mkdir(parents=True)
    project_file = {
        "default_environment": "dev",
        "project_id": "meltano-auth-test",
        "send_anonymous_usage_stats": False,
        "environments": [{"name": "dev"}],
    }
    (root / "meltano.yml").write_text(yaml.safe_dump(project_file))
    return MeltanoProject(root)


def _use_this_venv(project: MeltanoProject, sandbox: SandboxServer, tokens: Path) -> None:
    """Point the added plugins at this venv's executables (no install) and at the sandbox; the tap syncs
    one stream. Tap and target share one token store (README: one grant, one store)."""
    path = project.root / "meltano.yml"
    meltano_yml: dict[str, Any] = yaml.safe_load(path.read_text())
    connection = {
        **SANDBOX_CLIENT,
        "api_url": sandbox.api_url,
        "identity_url": sandbox.identity_url,
        "token_store_path": str(tokens),
        "redirect_uri": REDIRECT_URI,
    }
    for kind in ("extractors", "loaders"):
        (plugin,) = meltano_yml["plugins"][kind]
        plugin.pop("pip_url")
        plugin["executable"] = str(BIN / plugin["executable"])
        for command in plugin["commands"].values():
            if "executable" in command:
                command["executable"] = str(BIN / command["executable"])
        plugin["config"] = dict(connection)
    meltano_yml["plugins"]["extractors"][0]["select"] = ["customers.*"]
    path.write_text(yaml.safe_dump(meltano_yml, sort_keys=False))


def _url(output: str) -> str:
    (url,) = [line for line in output.splitlines() if line.startswith("http")]
    return url


def _scopes(url: str) -> set[str]:
    return set(parse_qs(urlsplit(url).query)["scope"][0].split())


def _sign_in(url: str) -> str:
    """What the tenant's browser does: open the URL, consent (the sandbox consents at once), get the code."""
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return parse_qs(urlsplit(location).query)["code"][0]


def test_auth_through_meltano(tmp_path: Path, module_sandbox: SandboxServer) -> None:
    # One test, one scenario (tests/pipelines/conftest.py): each step needs the previous one's grant.
    project = _new_project(tmp_path / "project")
    for plugin_type, name in (("extractor", "tap-eaccounting"), ("loader", "target-eaccounting")):
        (definition,) = (HUB / f"{plugin_type}s").glob(f"{name}--*.yml")
        project.run("add", "--plugin-type", plugin_type, name, "--from-ref", str(definition), "--no-install")
    tokens = project.root / "tokens.json"
    _use_this_venv(project, module_sandbox, tokens)

    # No grant yet: the status says so, without failing.
    before = project.run("invoke", "tap-eaccounting:auth-status")
    assert "store_exists: False" in before.output

    # The authorize URL asks for what the project's selection (customers) needs, read-only.
    url = _url(project.run("invoke", "tap-eaccounting:auth-url").output)
    assert _scopes(url) == {"ea:api", "offline_access", "ea:sales_readonly"}
    assert parse_qs(urlsplit(url).query)["redirect_uri"] == [REDIRECT_URI]  # the setting reached the CLI

    code = _sign_in(url)
    # `--code=`: a code starting with "-" (1 in 64 of the sandbox's) would be taken for an option.
    exchanged = project.run("invoke", "tap-eaccounting:auth-exchange", f"--code={code}")
    assert "store_exists: True" in exchanged.output
    assert code not in exchanged.output
    stored = json.loads(tokens.read_text())
    assert stored.get("refresh_token")

    verified = project.run("invoke", "tap-eaccounting:auth-status", "--verify")
    assert "verified: True" in verified.output
    # Meltano's own order for a plain invoke: `tap-eaccounting --config FILE [--catalog ...] auth status`.
    plain = project.run("invoke", "tap-eaccounting", "auth", "status")
    assert "access_token_valid: True" in plain.output

    # The target's commands read the target's settings (the shared store) and ask for write scopes.
    target_url = _url(project.run("invoke", "target-eaccounting:auth-url").output)
    assert _scopes(target_url) == {"ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"}
    target_status = project.run("invoke", "target-eaccounting:auth-status")
    assert f"token_store_path: {tokens}" in target_status.output
    assert "store_exists: True" in target_status.output

    # A sync uses the stored grant (the one exchanged above: ea:sales_readonly is enough for customers).
    sync = project.run("invoke", "tap-eaccounting")
    records = [line for line in sync.output.splitlines() if line.startswith('{"type":"RECORD"')]
    assert len(records) == module_sandbox.admin("GET", "counts", params={"company": "demo-no"})["/customers"]

    outputs = [before, exchanged, verified, plain, target_status]
    for secret in (
        "sandbox-secret",
        *(v for v in json.loads(tokens.read_text()).values() if isinstance(v, str)),
    ):
        if len(secret) > 12:
            assert not [r.args for r in outputs if secret in r.output], "a secret was printed"

    # A dead grant: the run exits 2 and says how to re-authorize with Meltano (and without).
    module_sandbox.admin("POST", "password-change", {"company": "demo-no"})
    module_sandbox.admin("POST", "expire-access-tokens", {"company": "demo-no"})
    dead = project.run("invoke", "tap-eaccounting", check=False)
    assert dead.returncode == 2, dead.output[-3000:]
    assert "meltano invoke tap-eaccounting:auth-url" in dead.output
    assert "tap-eaccounting:auth-exchange --code CODE" in dead.output
    target_dead = project.run("invoke", "target-eaccounting:auth-status", "--verify", check=False)
    assert target_dead.returncode == 2, target_dead.output[-3000:]
    assert "target-eaccounting:auth-url" in target_dead.output
