"""`make walkthrough` (scripts/meltano_walkthrough.py) runs, every step succeeds, and its transcript is
secret-free and shows the column types that landed.

The walkthrough installs the plugins from ``git+file://<repo>@<HEAD's sha>``: committed content only (in
CI the fresh clone's HEAD, i.e. what is tested). It takes ~65 s with warm pip/uv caches (2026-11-30, a
shared 2-core machine; most of it is ~20 Meltano start-ups), so:

- It is part of ``make test``: README links the walkthrough as the way to see the whole path in a user's
  own project, and nothing else checks that path end to end (Hub definitions + a git ``pip_url`` + a
  target-postgres of the user's + auth + run), so it must not rot unnoticed.
- It runs once per CI run, not on both Pythons: ``.ci/run`` sets ``CI_REPEAT_PASS=1`` for its second
  pass. What could differ between Pythons is covered on both by the faster tests it is made of
  (test_install.py: git-URL installs; test_meltano_auth.py: the auth commands through Meltano;
  test_postgres_elt.py: the run into PostgreSQL).

The column types are not asserted (target-postgres' typing is another change's subject): each of the
three columns must be listed with a type.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_support import MELTANO, PIPELINES, ROOT

from eaccounting_sandbox.switches import DEMO_CLIENT_SECRET

pytestmark = [
    *PIPELINES,
    pytest.mark.skipif(
        os.environ.get("CI_REPEAT_PASS") == "1", reason="runs in CI's first pass only (.ci/run)"
    ),
]

SCRIPT = ROOT / "scripts" / "meltano_walkthrough.py"
COLUMNS = ("TotalAmount", "ModifiedUtc", "Rows")
STREAMS = ("customers", "customer_invoices")
# What the sandbox's codes and tokens look like (secrets.token_urlsafe(24 or 32)): 32+ URL-safe
# characters with upper and lower case and digits (a git sha is lower-case hex, a setting name has no
# digits).
TOKEN_SHAPED = re.compile(r"(?<![\w-])(?=[\w-]*[A-Z])(?=[\w-]*[a-z])(?=[\w-]*\d)[\w-]{32,}(?![\w-])")
STEPS = (
    "$ meltano init project",
    "$ meltano add --plugin-type extractor tap-eaccounting --from-ref tap-eaccounting.yml",
    "$ meltano add --plugin-type loader target-eaccounting --from-ref target-eaccounting.yml",
    "$ meltano add --plugin-type loader target-postgres --from-ref target-postgres.yml",
    '$ meltano config set tap-eaccounting client_secret "$CLIENT_SECRET"',
    "$ meltano config list tap-eaccounting",
    "$ meltano invoke tap-eaccounting:auth-url",
    '$ meltano invoke tap-eaccounting:auth-exchange --code="$CODE"',
    "$ meltano invoke tap-eaccounting:auth-status --verify",
    "$ meltano run tap-eaccounting target-postgres",
)


def _head() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def walked() -> Iterator[tuple[str, Path]]:
    """The transcript of one walkthrough and its kept work directory. Not under pytest's basetemp: as
    root, the embedded PostgreSQL's own OS user must reach its data directory (tests/conftest.py)."""
    if not MELTANO.exists():
        pytest.skip(f"MELTANO IS NOT INSTALLED ({MELTANO}): the walkthrough needs the `pipelines` extra")
    work = Path(tempfile.mkdtemp(prefix="eaccounting-walk-test-"))
    try:
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--workdir", str(work / "walk")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        transcript = proc.stdout + proc.stderr
        assert proc.returncode == 0, transcript[-6000:]
        yield transcript, work / "walk"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _after(transcript: str, command: str) -> list[str]:
    """The output lines of the step whose line is ``command``."""
    lines = transcript.splitlines()
    start = lines.index(command) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(("$ ", "# "))), len(lines))
    return [line.strip() for line in lines[start:end]]


def test_walkthrough(walked: tuple[str, Path]) -> None:
    transcript, work = walked
    print(transcript)
    missing = [step for step in STEPS if step not in transcript.splitlines()]
    assert not missing, f"steps missing: {missing}"
    assert transcript.rstrip().splitlines()[-1].startswith("# every step succeeded")

    # The plugins come from this repo's git URL at HEAD, installed (target-postgres at its pinned version).
    git_url = f"git+file://{ROOT}@{_head()}"
    pip_urls = _after(transcript, "$ grep -n 'pip_url' meltano.yml")
    assert sum(line.endswith(f"pip_url: {git_url}") for line in pip_urls) == 2, pip_urls
    for plugin in ("extractor 'tap-eaccounting'", "loader 'target-eaccounting'", "loader 'target-postgres'"):
        assert f"Installed {plugin}" in transcript

    # Configured: the secret went to .env (it reached Meltano) and the listing redacts it.
    assert f"TAP_EACCOUNTING_CLIENT_SECRET='{DEMO_CLIENT_SECRET}'" in (work / "project" / ".env").read_text()
    listed = _after(transcript, "$ meltano config list tap-eaccounting")
    assert any(line.startswith("client_secret ") and "(redacted)" in line for line in listed), listed

    # Authorized through Meltano: the URL asks for the selection's scopes, the code was exchanged, the
    # grant verified.
    (url,) = _after(transcript, "$ meltano invoke tap-eaccounting:auth-url")
    assert "/connect/authorize?" in url
    assert "scope=ea%3Aapi+offline_access+ea%3Asales_readonly" in url
    assert "HTTP 302 -> " in transcript
    assert "store_exists: True" in _after(
        transcript, '$ meltano invoke tap-eaccounting:auth-exchange --code="$CODE"'
    )
    assert "verified: True" in _after(transcript, "$ meltano invoke tap-eaccounting:auth-status --verify")

    # The run: both streams ok, and Postgres holds what the tap's summary says it emitted.
    run = _after(transcript, "$ meltano run tap-eaccounting target-postgres")
    assert "Run summary: 2 stream(s): 2 ok" in run
    assert "Block run completed" in run
    emitted = {cells[0]: int(cells[2]) for line in run if len(cells := line.split()) > 2 and cells[1] == "ok"}
    counts = {
        m.group(1): int(m.group(2)) for m in re.finditer(r"^\s*(\w+)\s*\|\s*(\d+)\s*$", transcript, re.M)
    }
    assert set(emitted) == set(STREAMS), run
    assert counts == emitted, (counts, emitted)
    assert all(n > 0 for n in counts.values())

    # The column types that landed: each of the three columns listed with a type.
    typed = dict(
        re.findall(
            rf"^\s*customer_invoices\s*\|\s*({'|'.join(COLUMNS)})\s*\|\s*(\S[^|]*?)\s*\|", transcript, re.M
        )
    )
    assert set(typed) == set(COLUMNS), transcript[-2000:]

    # No secret: the client secret, any token the store holds, nor anything shaped like a code or token.
    tokens = json.loads((work / "project" / ".secrets" / "tokens.json").read_text())
    secrets = [DEMO_CLIENT_SECRET, tokens["access_token"], tokens["refresh_token"]]
    assert all(len(s) > 12 for s in secrets)
    assert not [s for s in secrets if s in transcript], "a secret is in the transcript"
    assert not TOKEN_SHAPED.findall(transcript), TOKEN_SHAPED.findall(transcript)
