"""Run directories: where a run keeps its config, class names, history and checkpoints.

A run directory holds:

    config.yaml        the resolved configuration and its fingerprint
    class_names.json   class names in label order
    history.csv        one row per completed epoch
    state.json         what `--resume` continues from (epochs done, phase, best, and
                       the plateau and early-stopping counters)
    data.json          the data: source, classes, counts per split, skipped files
    last.keras         the model after the last completed epoch (with optimizer state)
    best.keras         the model at the best validation accuracy so far
    model.keras        the final model (written when the run completes)
    metrics.json       the final metrics
    logs/              TensorBoard logs
    run.lock           held while a process works on the run

Every file is written to a temporary name and renamed into place, so a killed
run never leaves a half-written file; `run.lock` is an OS lock that dies with
its process, so `kill -9` leaves nothing to clean up.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from recipes.config import RunConfig
from zoo.errors import UsageError

STATE_FILE = "state.json"
CONFIG_FILE = "config.yaml"
LOCK_FILE = "run.lock"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Writes a file through a temporary sibling and renames it into place.

    Args:
        path: The final path.
        write: Writes the content to the path it is given.
    """
    suffix = "".join(path.suffixes) or ".tmp"
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.partial{suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    """Writes text atomically (see `atomic_write`)."""
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


class RunDirectory:
    """An open, locked run directory.

    Use `RunDirectory.create` for a new run and `RunDirectory.reopen` to resume.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: io.TextIOWrapper | None = None

    @classmethod
    def create(cls, config: RunConfig, default_name: str, root: str = "runs") -> RunDirectory:
        """Makes a new run directory and locks it.

        Args:
            config: The resolved configuration; `config.output` is the directory
                when given.
            default_name: Stem of the directory name when `config.output` is not
                given (a timestamp and, if needed, a counter are added).
            root: Parent of generated directories.

        Returns:
            The locked run directory with `config.yaml` written.

        Raises:
            UsageError: `config.output` already holds files.
        """
        if config.output:
            path = Path(config.output)
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise UsageError(
                    f"{path} already exists and is not empty; pass --resume to continue the run "
                    "in it, or choose another --output."
                )
            path.mkdir(parents=True, exist_ok=True)
        else:
            path = _make_unused_dir(Path(root), f"{default_name}-{time.strftime('%Y%m%d-%H%M%S')}")
        run = cls(path)
        run.lock()
        run.write_yaml(CONFIG_FILE, {**config.to_dict(), "fingerprint": config.fingerprint()})
        return run

    @classmethod
    def reopen(cls, config: RunConfig) -> RunDirectory:
        """Opens an interrupted run to resume it.

        Args:
            config: The configuration given now; it must match the saved one.

        Returns:
            The locked run directory.

        Raises:
            UsageError: No run there, a finished run, nothing to resume, or a
                changed configuration.
        """
        if not config.output:
            raise UsageError("--resume needs --output RUN_DIR: the run directory to continue.")
        path = Path(config.output)
        saved_config = path / CONFIG_FILE
        if not saved_config.is_file():
            raise UsageError(
                f"{path} is not a zoo run directory (no {CONFIG_FILE}); check the path."
            )
        run = cls(path)
        run.lock()
        saved = yaml.safe_load(saved_config.read_text(encoding="utf-8")) or {}
        if saved.get("fingerprint") != config.fingerprint():
            changed = sorted(
                key
                for key, value in config.to_dict().items()
                if key in saved and saved[key] != value and key not in ("resume", "output")
            )
            run.unlock()
            raise UsageError(
                f"The configuration differs from the one {path} was started with "
                f"(changed: {', '.join(changed) or 'unknown'}); resume with the same flags, "
                "or start a new run with another --output."
            )
        if (path / "model.keras").is_file():
            run.unlock()
            raise UsageError(
                f"{path} has finished (it has its model.keras); there is nothing to resume. "
                "Evaluate or export it, or start a new run with another --output."
            )
        if not (path / STATE_FILE).is_file() or not (path / "last.keras").is_file():
            run.unlock()
            raise UsageError(
                f"{path} has no completed epoch to resume from; start it again without --resume "
                "after removing the directory."
            )
        return run

    def lock(self) -> None:
        """Takes the run's lock, or fails if another process holds it.

        Raises:
            UsageError: Another live process works on this run directory.
        """
        handle = open(self.path / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 (held)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise UsageError(
                f"{self.path} is in use by another zoo process (pid {owner}); wait for it to "
                "finish or choose another --output."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def unlock(self) -> None:
        """Releases the lock (also released by the OS when the process dies)."""
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def file(self, name: str) -> Path:
        """Path of a file inside the run directory."""
        return self.path / name

    def write_json(self, name: str, data: Any) -> None:
        """Writes a JSON file atomically."""
        atomic_write_text(self.file(name), json.dumps(data, indent=2, default=str) + "\n")

    def read_json(self, name: str) -> Any:
        """Reads a JSON file of the run."""
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    def write_yaml(self, name: str, data: dict[str, Any]) -> None:
        """Writes a YAML file atomically."""
        atomic_write_text(self.file(name), yaml.safe_dump(data, sort_keys=False))

    def save_model(self, model: Any, name: str) -> None:
        """Saves a Keras model (`.keras`) atomically."""
        atomic_write(self.file(name), lambda p: model.save(p))

    def copy_file(self, source: str, name: str) -> None:
        """Copies one of the run's files to another name, atomically."""
        atomic_write(self.file(name), lambda path: shutil.copyfile(self.file(source), path))

    def history(self) -> list[dict[str, Any]]:
        """The rows of `history.csv` (one per completed epoch)."""
        path = self.file("history.csv")
        if not path.is_file():
            return []
        with path.open(encoding="utf-8", newline="") as handle:
            return [_parse_row(row) for row in csv.DictReader(handle)]

    def write_history(self, rows: list[dict[str, Any]]) -> None:
        """Rewrites `history.csv` atomically with the given rows."""
        fields: list[str] = []
        for row in rows:
            fields.extend(key for key in row if key not in fields)

        def write(path: Path) -> None:
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=fields)
                writer.writeheader()
                writer.writerows(rows)

        atomic_write(self.file("history.csv"), write)


def _parse_row(row: dict[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, value in row.items():
        try:
            parsed[key] = int(value) if key == "epoch" else float(value)
        except (TypeError, ValueError):
            parsed[key] = value
    return parsed


def _make_unused_dir(root: Path, stem: str) -> Path:
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
