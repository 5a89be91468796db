"""Writing files so that a reader never sees half of one.

Every file the project writes (run files, reports, cached weights) goes to a
temporary sibling first and is renamed into place: a killed process leaves the
old file or the new one, never a torn one. Imports nothing heavy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    """Writes a file through a temporary sibling and renames it into place.

    Args:
        path: The final path.
        write: Writes the content to the path it is given (which keeps the
            final name's suffixes, for writers that choose a format by name).
    """
    path = Path(path)
    suffix = "".join(path.suffixes) or ".tmp"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial{suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            if temporary.is_dir():
                shutil.rmtree(temporary, ignore_errors=True)
            else:
                temporary.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], content: bytes) -> None:
    """Writes bytes atomically (see `atomic_write`)."""
    atomic_write(path, lambda temporary: temporary.write_bytes(content))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Writes UTF-8 text atomically (see `atomic_write`)."""
    atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def atomic_copy(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """Copies a file atomically, flushed to disk before the rename, readable by all.

    Args:
        source: The file to copy.
        destination: Where the copy goes; its folder is created.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)

    def copy(temporary: Path) -> None:
        with open(source, "rb") as inp, open(temporary, "wb") as out:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)

    atomic_write(destination, copy)
