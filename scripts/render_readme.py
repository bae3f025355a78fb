"""Refresh the generated blocks of README.md: each connector's capabilities and settings from ``--about``.

A block is the text between ``<!-- BEGIN about:NAME -->`` and ``<!-- END about:NAME -->``, where NAME is
``tap-eaccounting`` or ``target-eaccounting``. ``--check`` fails if a block is stale (a test runs it),
so the README's settings tables can't drift from the config schemas.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(
    r"(<!-- BEGIN about:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END about:(?P=name) -->)", re.S
)


def about_markdown(executable: str) -> str:
    text = subprocess.check_output(
        [str(Path(sys.executable).parent / executable), "--about", "--format=markdown"], text=True
    )
    # Keep from "## Capabilities" on, one heading level down so it nests under the README's sections.
    body = text[text.index("## Capabilities") :]
    body = re.sub(r"^## ", "#### ", body, flags=re.M)
    return body.rstrip() + "\n"


def render(readme: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + about_markdown(m.group("name")) + m.group(4), readme)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print("README.md settings blocks are stale: run scripts/render_readme.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
