"""The ``eaccounting-sandbox`` console script: checks for the ``sandbox`` extra, then runs the CLI.

The sandbox's web stack (starlette, uvicorn) is the distribution's optional ``sandbox`` extra, so a
connector-only install has the script but not what it needs. Without the extra the script says so in one
line and exits 2, instead of a traceback from deep inside the server's imports.
"""

from __future__ import annotations

import importlib.util
import sys

# cli imports only the switches at module level (its server imports wait inside main), so this
# import works without the extra; the check below runs before anything needs the web stack.
from eaccounting_sandbox.cli import main as cli_main

WEB_STACK = ("starlette", "uvicorn")
MISSING_EXTRA = (
    "eaccounting-sandbox: the sandbox needs the 'sandbox' extra: pip install 'eaccounting-singer[sandbox]'"
)
EXIT_MISSING_EXTRA = 2


def missing_web_stack() -> list[str]:
    """The web-stack modules that are not installed."""
    return [name for name in WEB_STACK if importlib.util.find_spec(name) is None]


def main(argv: list[str] | None = None) -> int:
    if missing_web_stack():
        print(MISSING_EXTRA, file=sys.stderr)
        return EXIT_MISSING_EXTRA
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
