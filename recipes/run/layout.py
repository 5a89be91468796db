"""`RunLayout`: every file of a run directory, and the only code that reads or writes them.

A run directory holds:

    config.yaml        the resolved configuration, in sections, and its fingerprint
    class_names.json   class names in label order
    data.json          the data: source, classes, counts per split, skipped files
    history.csv        one row per completed epoch
    state.json         what `--resume` continues from (epochs done, phase, best, and
                       the plateau and early-stopping counters)
    last.keras         the model after the last completed epoch (with optimizer state)
    best.keras         the model at the best validation accuracy so far (with
                       `--keep-checkpoints` best or all; no optimizer once finished)
    model.keras        the final model, without optimizer (written when the run completes)
    metrics.json       the final metrics, and the babysitting facts (initial loss
                       against ln C; the learning rate `--lr auto` chose)
    sanity.json        the initial-loss check: loss, ln C, sampled labels, problems
    lr_find.json       the learning-rate range test of `--lr auto` (rates, losses,
                       suggestions); lr_find.png draws it
    curves.png         loss, accuracy and learning rate per epoch (written when the run completes)
    logs/              TensorBoard logs
    run.lock           held while a process works on the run

Every file is written to a temporary name and renamed into place, so a killed
run never leaves a half-written file; `run.lock` is an OS lock that dies with
its process, so `kill -9` leaves nothing to clean up. Once a run finishes it
keeps the checkpoints `--keep-checkpoints` asks for (`KEPT`); until then it
keeps `last.keras`, which `--resume` continues from. Models are saved with
Keras' own layers, float32 whatever the training precision (`zoo.fast_layers`).
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from recipes.config import RunConfig, resolve_config
from recipes.config.files import parse_yaml
from recipes.run.folders import make_unused_dir
from recipes.run.locks import DirectoryLock
from zoo.atomic import atomic_write, atomic_write_text
from zoo.errors import UsageError, first_line


class RunLayout:
    """A run directory: its file names, and reading and writing them.

    `RunLayout(path)` reads an existing run; `RunLayout.create` and
    `RunLayout.reopen` give a locked one to train in.

    Args:
        path: The run directory.
    """

    CONFIG = "config.yaml"
    CLASS_NAMES = "class_names.json"
    DATA = "data.json"
    HISTORY = "history.csv"
    STATE = "state.json"
    LAST = "last.keras"
    BEST = "best.keras"
    MODEL = "model.keras"
    METRICS = "metrics.json"
    CURVES = "curves.png"
    SANITY = "sanity.json"
    LR_FIND = "lr_find.json"
    LR_FIND_PLOT = "lr_find.png"
    LOGS = "logs"
    LOCK = "run.lock"

    KEPT = {"best": (BEST,), "last": (LAST,), "all": (LAST, BEST), "none": ()}
    """The checkpoints a finished run keeps, by `--keep-checkpoints` value."""

    FINISHED, INTERRUPTED, RUNNING, BROKEN = "finished", "interrupted", "running", "broken"
    """What `status` says of a run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock: DirectoryLock | None = None

    # --- opening -----------------------------------------------------------------------

    @classmethod
    def create(cls, config: RunConfig, default_name: str, root: str = "runs") -> RunLayout:
        """Makes a new run directory, locks it and writes `config.yaml`.

        Args:
            config: The resolved configuration; `config.run.output` is the
                directory when given.
            default_name: Stem of the directory name when no output is given
                (a timestamp and, if needed, a counter are added).
            root: Parent of generated directories.

        Returns:
            The locked run.

        Raises:
            UsageError: The output directory already holds files.
        """
        if config.run.output:
            path = Path(config.run.output)
            from recipes.run.output import check_output  # it builds on this class

            check_output(config)
            path.mkdir(parents=True, exist_ok=True)
        else:
            path = make_unused_dir(Path(root), f"{default_name}-{time.strftime('%Y%m%d-%H%M%S')}")
        run = cls(path)
        run.lock()
        run.write_config(config)
        return run

    @classmethod
    def reopen(cls, config: RunConfig) -> RunLayout:
        """Opens an interrupted run to resume it.

        Args:
            config: The configuration given now; it must match the saved one.

        Returns:
            The locked run.

        A run stopped before its first checkpoint was complete (`state.json`
        and `last.keras`) is resumable too: it starts again from epoch 1
        (see `has_checkpoint`, `forget_progress`).

        Raises:
            UsageError: No run there, a finished run, or a changed configuration.
        """
        from recipes.run.output import check_output  # it builds on this class

        check_output(config)
        run = cls(config.run.output)
        run.lock()
        try:
            run.check_resumable(config)
        except UsageError:
            run.unlock()
            raise
        run._record_keep_checkpoints(config.run.keep_checkpoints)
        return run

    def _record_keep_checkpoints(self, keep: str) -> None:
        """Records a changed `keep_checkpoints` (not fingerprinted) in `config.yaml`."""
        saved = self.read_config()
        section = saved.get("run")
        if isinstance(section, dict) and section.get("keep_checkpoints") != keep:
            section["keep_checkpoints"] = keep
            atomic_write_text(self.file(self.CONFIG), yaml.safe_dump(saved, sort_keys=False))

    def check_resumable(self, config: RunConfig) -> None:
        """Refuses a changed configuration or a finished run (see `reopen`)."""
        saved = self.read_config()
        if saved.get("fingerprint") != config.fingerprint():
            now = config.flat()
            before = self.config().flat()
            changed = sorted(
                key
                for key, value in now.items()
                if key in before and before[key] != value and key not in ("resume", "output")
            )
            raise UsageError(
                f"The configuration differs from the one {self.path} was started with "
                f"(changed: {', '.join(changed) or 'unknown'}); resume with the same flags, "
                "or start a new run with another --output."
            )
        self.check_unfinished()

    def check_unfinished(self) -> None:
        """Refuses a finished run: there is nothing to resume."""
        if self.finished:
            raise UsageError(
                f"{self.path} has finished (it has its {self.MODEL}); there is nothing to resume. "
                "Evaluate or export it, or start a new run with another --output."
            )

    def lock(self) -> None:
        """Takes the run's lock, or fails if another process holds it.

        Raises:
            UsageError: Another live process works on this run directory.
        """
        self._lock = DirectoryLock(
            self.file(self.LOCK),
            lambda owner: (
                f"{self.path} is in use by another zoo process (pid {owner}); wait "
                "for it to finish or choose another --output."
            ),
        )
        self._lock.acquire()

    def unlock(self) -> None:
        """Releases the lock (also released by the OS when the process dies)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # --- reading -----------------------------------------------------------------------

    def file(self, name: str) -> Path:
        """Path of a file inside the run directory."""
        return self.path / name

    @property
    def finished(self) -> bool:
        """Whether the run completed (it has its final model)."""
        return self.file(self.MODEL).is_file()

    @property
    def has_checkpoint(self) -> bool:
        """Whether a completed epoch can be resumed from (`state.json` and `last.keras`)."""
        return self.file(self.STATE).is_file() and self.file(self.LAST).is_file()

    @property
    def is_run(self) -> bool:
        """Whether this is a run: a `config.yaml`, with a `run.lock` or a fingerprint."""
        if not self.file(self.CONFIG).is_file():
            return False
        try:
            return self.file(self.LOCK).is_file() or "fingerprint" in self.read_config()
        except (UsageError, OSError):
            return False

    def holder(self) -> str | None:
        """The pid of the process working on the run now, or `None`."""
        return DirectoryLock(self.file(self.LOCK), str).holder()

    def status(self) -> str:
        """`running`, `broken` (`config.yaml` unreadable), `finished` or `interrupted`."""
        return self.RUNNING if self.holder() is not None else self._settled_status()

    def _settled_status(self) -> str:
        try:
            self.config()
        except (UsageError, ValueError, TypeError, OSError):
            return self.BROKEN
        return self.FINISHED if self.finished else self.INTERRUPTED

    def metrics(self) -> dict[str, Any]:
        """`metrics.json`, or `{}` before the run finished."""
        return self.read_json(self.METRICS) if self.file(self.METRICS).is_file() else {}

    def forget_progress(self) -> None:
        """Removes what an interrupted run wrote before its first complete checkpoint."""
        for name in (self.STATE, self.LAST, self.BEST, self.HISTORY):
            self.file(name).unlink(missing_ok=True)

    def read_config(self) -> dict[str, Any]:
        """`config.yaml` as written (sections and fingerprint); `{}` when absent or broken."""
        path = self.file(self.CONFIG)
        if not path.is_file():
            return {}
        try:
            saved = parse_yaml(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise UsageError(f"{path} is not valid YAML ({first_line(error)}).") from None
        return saved if isinstance(saved, dict) else {}

    def config(self) -> RunConfig:
        """The run's configuration, resolved and checked."""
        return resolve_config(self.read_config())

    def class_names(self) -> list[str] | None:
        """The class names in label order, or `None` when the file is absent.

        Raises:
            UsageError: The file is not a JSON list of distinct strings.
        """
        path = self.file(self.CLASS_NAMES)
        if not path.is_file():
            return None
        try:
            names = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UsageError(f"{path} is not valid JSON ({first_line(error)}).") from None
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise UsageError(f"{path} must hold a JSON list of class-name strings.")
        if len(set(names)) != len(names):
            raise UsageError(f"{path} lists a class name twice.")
        return names

    def read_json(self, name: str) -> Any:
        """One of the run's JSON files (`data.json`, `state.json`, `metrics.json`)."""
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    def state(self) -> dict[str, Any]:
        """`state.json`, or `{}` before the first epoch completed."""
        return self.read_json(self.STATE) if self.file(self.STATE).is_file() else {}

    def history(self) -> list[dict[str, Any]]:
        """The rows of `history.csv` (one per completed epoch)."""
        path = self.file(self.HISTORY)
        if not path.is_file():
            return []
        with path.open(encoding="utf-8", newline="") as handle:
            return [_parse_row(row) for row in csv.DictReader(handle)]

    # --- writing -----------------------------------------------------------------------

    def write_config(self, config: RunConfig) -> None:
        """Writes `config.yaml`: the configuration in sections and its fingerprint."""
        document = {**config.to_dict(), "fingerprint": config.fingerprint()}
        atomic_write_text(self.file(self.CONFIG), yaml.safe_dump(document, sort_keys=False))

    def write_class_names(self, names: list[str]) -> None:
        """Writes `class_names.json`."""
        self.write_json(self.CLASS_NAMES, list(names))

    def write_json(self, name: str, data: Any) -> None:
        """Writes one of the run's JSON files atomically."""
        atomic_write_text(self.file(name), json.dumps(data, indent=2, default=str) + "\n")

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

        atomic_write(self.file(self.HISTORY), write)

    def save_model(self, model: Any, name: str) -> None:
        """Saves a Keras model (`.keras`) atomically, as plain Keras should load it.

        The file names Keras' own BatchNormalization and Conv2D, and float32
        layers whatever precision the model trained in (mixed precision keeps
        the weights in float32); the model is as it was after.
        """
        from zoo.fast_layers import float32_layers, keras_layers

        with keras_layers(model), float32_layers(model):
            atomic_write(self.file(name), lambda path: model.save(path))

    def save_checkpoint(self, model: Any, best: bool) -> None:
        """Saves `last.keras`, and copies it to `best.keras` when it is the best so far."""
        self.save_model(model, self.LAST)
        if best:  # the same model: a copy, not a second save
            source = self.file(self.LAST)
            atomic_write(self.file(self.BEST), lambda path: shutil.copyfile(source, path))

    def drop_checkpoints(self, keep: str) -> None:
        """Removes the checkpoints a finished run was not asked to keep.

        Does nothing before the run has its `model.keras`: until then
        `last.keras` is what `--resume` continues from.

        Args:
            keep: The `--keep-checkpoints` value: a key of `KEPT`.
        """
        if not self.finished:
            return
        for name in (self.LAST, self.BEST):
            if name not in self.KEPT[keep]:
                self.file(name).unlink(missing_ok=True)

    def remove(self, expected: str | None = None) -> None:
        """Deletes the run directory, holding its lock meanwhile.

        Links are never followed: the directory itself must not be one, and
        links inside it are removed, not what they point to.

        Args:
            expected: The status the run must have (checked under the lock).

        Raises:
            UsageError: The path is a link or not a run directory, a process
                works on the run, or its status is not `expected`.
        """
        if self.path.is_symlink() or not self.path.is_dir() or not self.is_run:
            raise UsageError(f"{self.path} is not a run directory; it was left alone.")
        self.lock()
        try:
            status = self._settled_status()
            if expected is not None and status != expected:
                raise UsageError(f"{self.path} is {status} now; it was left alone.")
            shutil.rmtree(self.path)
        finally:
            self.unlock()


def _parse_row(row: dict[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, value in row.items():
        try:
            parsed[key] = int(value) if key == "epoch" else float(value)
        except (TypeError, ValueError):
            parsed[key] = value
    return parsed
