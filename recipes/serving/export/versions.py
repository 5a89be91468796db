"""Version folders of an export: which exist, and claiming one without clobbering another.

Everything is written to a hidden staging folder next to the target and renamed
into place, so a half-written version never appears to TF Serving (which
ignores names that are not integers). Without an explicit version the rename
also claims the version: when a concurrent export takes the number first, the
next free one is used.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import uuid
from pathlib import Path

from zoo.errors import UsageError, ZooError

# What rename(2) reports when the target is a directory that is not empty.
_TAKEN = (errno.EEXIST, errno.ENOTEMPTY)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""Model names an export accepts."""


def list_versions(model_root: str | Path) -> list[int]:
    """The versions (integer-named directories) under a model's directory, ascending.

    Args:
        model_root: `OUT/NAME`.

    Returns:
        The version numbers; empty when the directory does not exist.
    """
    root = Path(model_root)
    if not root.is_dir():
        return []
    return sorted(
        int(entry.name)
        for entry in root.iterdir()
        if entry.is_dir() and entry.name.isdigit() and not entry.name.startswith("0")
    )


def refuse_existing(target: Path, overwrite: bool) -> None:
    """Refuses a version that exists, unless it is to be overwritten.

    Raises:
        UsageError: `target` exists and `overwrite` is off.
    """
    if target.exists() and not overwrite:
        following = (list_versions(target.parent) or [0])[-1] + 1
        raise UsageError(
            f"{target} already exists; pass --overwrite to replace it, "
            f"or another --version (the next free one is {following})."
        )


def claim_next_version(staging: Path, model_root: Path) -> Path:
    """Renames `staging` to the next free version and returns that version's directory.

    The rename is the claim: it fails when a concurrent export has just taken
    the number, and the following one is tried.
    """
    while True:
        target = model_root / str((list_versions(model_root) or [0])[-1] + 1)
        try:
            os.rename(staging, target)
        except OSError as error:
            if error.errno in _TAKEN:
                continue  # the version now exists, so the next listing goes past it
            raise ZooError(f"Cannot move the export into {target}: {error.strerror}.") from None
        return target


def move_into_place(staging: Path, target: Path, overwrite: bool) -> None:
    """Renames `staging` to the requested version, replacing it only with `overwrite`."""
    if target.exists():
        refuse_existing(target, overwrite)
        retired = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
        os.rename(target, retired)
        os.rename(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
        return
    try:
        os.rename(staging, target)
    except OSError as error:
        if error.errno in _TAKEN:  # a concurrent export took this version meanwhile
            refuse_existing(target, overwrite)
        raise ZooError(f"Cannot move the export into {target}: {error.strerror}.") from None
