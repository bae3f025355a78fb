"""Files that hold business records (ledger, reject file, dry-run plan): created 0600, and any directory
created for them 0700, whatever the umask allows. An existing file or directory keeps its mode."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_parents(path: Path) -> None:
    """Create the missing parent directories of ``path``, each 0700 (``mkdir(parents=True)`` would
    give the intermediate ones the default mode)."""
    for directory in (*reversed(path.parent.parents), path.parent):
        if not directory.exists():
            directory.mkdir(mode=DIR_MODE, exist_ok=True)


def create(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite then opens it as its database)."""
    make_parents(path)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))


def open_text(path: Path, *, append: bool) -> IO[str]:
    """Open ``path`` for writing text (appending, or truncating), creating it with mode 0600."""
    make_parents(path)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, FILE_MODE), "a" if append else "w", encoding="utf-8")
