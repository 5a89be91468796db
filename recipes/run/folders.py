"""Folders that runs, studies and reports are written to: claiming one, and measuring one."""

from __future__ import annotations

import os
from pathlib import Path

from zoo.errors import UsageError


def refuse_used(path: Path, advice: str) -> None:
    """Refuses a path that holds something already (a file, or a folder with files).

    Raises:
        UsageError: `PATH already exists and is not empty; ADVICE`.
    """
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"{path} already exists and is not empty; {advice}")


def make_unused_dir(root: Path, stem: str) -> Path:
    """Creates `root/stem` or `root/stem-N`; `mkdir` is atomic, so two runs never share one."""
    root.mkdir(parents=True, exist_ok=True)
    counter = 1
    while True:
        path = root / (stem if counter == 1 else f"{stem}-{counter}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            counter += 1


def folder_size(path: Path) -> int:
    """Bytes of the files under `path`; links are counted as links, not followed."""
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:  # removed while we looked (a run writing)
                pass
    return total


def last_written(path: Path) -> float:
    """When `path` or one of its entries last changed (Unix time), links not followed."""
    times = [path.lstat().st_mtime]
    for entry in os.scandir(path):
        try:
            times.append(entry.stat(follow_symlinks=False).st_mtime)
        except OSError:  # removed while we looked
            pass
    return max(times)
