"""Version folders of an export: which exist, and claiming one without clobbering another.

Everything is written to a hidden staging folder next to the target and renamed
into place, so a half-written version never appears to TF Serving (which
ignores names that are not integers). Without an explicit version the rename
also claims the version: when a concurrent export takes the number first, the
next free one is used. A staging folder is named after its process
(`.tmp-PID-RANDOM`); one whose process is gone (a killed export) is removed by
the next export.

Versions are folders named `[1-9][0-9]*` in ASCII digits, as TF Serving reads
them (`str.isdigit` would also take `²` or `١٢`).
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
VERSION_PATTERN = re.compile(r"[1-9][0-9]*")
"""Version folder names (ASCII digits, no leading zero)."""
_STAGING = re.compile(r"\.(?:tmp|old)-(?P<pid>[0-9]+)-[0-9a-f]+")
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
        if VERSION_PATTERN.fullmatch(entry.name) and entry.is_dir()
    )


def new_staging_dir(model_root: Path) -> Path:
    """A fresh hidden staging folder's path under `model_root`, named after this process."""
    return model_root / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def remove_abandoned_staging(model_root: Path) -> list[Path]:
    """Removes staging and retired folders whose export process is gone.

    Returns:
        The folders removed.
    """
    removed = []
    for entry in model_root.iterdir():
        match = _STAGING.fullmatch(entry.name)
        if match and not _process_alive(int(match["pid"])) and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


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
        retired = target.with_name(f".old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
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
