"""The run directories under a folder: what each is, and removing the ones not wanted.

`list_runs(root)` describes every run directory directly under `root` (a
folder with a `config.yaml`; study, lr-find and other folders are skipped),
reading each through `RunLayout`, and never fails on a half-written run: what
cannot be read is reported (`broken`, `problem`). `prune_candidates` picks the
runs a prune would remove; `remove_runs` removes them, each under its lock,
never a running run, a link or anything that is not a run directory of
`root`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from recipes.config import RunConfig, parse_unfreeze
from recipes.run.folders import folder_size, last_written
from recipes.run.layout import RunLayout
from recipes.training.naming import data_name
from zoo.errors import UsageError, ZooError, first_line

DAY = 24 * 3600
UNFINISHED = (RunLayout.INTERRUPTED, RunLayout.BROKEN)
"""The statuses `--interrupted` selects: runs that did not finish."""


@dataclass
class RunInfo:
    """One run directory as `zoo runs` shows it.

    Attributes:
        name: The directory's name.
        path: The directory.
        status: `finished`, `interrupted`, `running` or `broken`.
        task: `train`, `finetune` or `ensemble` (`None` when `config.yaml`
            cannot be read).
        model: The architecture trained, the base fine-tuned, or an
            ensemble of N (best member).
        data: The data's short name (see `recipes.training.naming.data_name`).
        epochs_done: Epochs completed (`None` for a run with no epochs, an ensemble).
        epochs_planned: Epochs the configuration asks for.
        best_val_accuracy: The best validation accuracy of an epoch, when known.
        test_accuracy: The final model's test accuracy, when measured.
        size_bytes: Bytes on disk (for a link: of the run it points to).
        updated: When the run last wrote a file (Unix time).
        pid: The process that works on a running run.
        link: Whether the entry is a symbolic link to a run (listed, never pruned).
        problem: Why part of the run could not be read.
    """

    name: str
    path: Path
    status: str
    task: str | None = None
    model: str | None = None
    data: str | None = None
    epochs_done: int | None = None
    epochs_planned: int | None = None
    best_val_accuracy: float | None = None
    test_accuracy: float | None = None
    size_bytes: int = 0
    updated: float = 0.0
    pid: str | None = None
    link: bool = False
    problem: str | None = None

    @property
    def date(self) -> str:
        """`updated` as local ISO 8601 time, to the second."""
        return datetime.fromtimestamp(self.updated).astimezone().isoformat(timespec="seconds")

    def to_dict(self) -> dict[str, Any]:
        """The run as plain JSON-able data."""
        return {
            "name": self.name,
            "path": str(self.path),
            "status": self.status,
            "task": self.task,
            "model": self.model,
            "data": self.data,
            "epochs_done": self.epochs_done,
            "epochs_planned": self.epochs_planned,
            "best_val_accuracy": self.best_val_accuracy,
            "test_accuracy": self.test_accuracy,
            "size_bytes": self.size_bytes,
            "date": self.date,
            "pid": self.pid,
            "link": self.link,
            "problem": self.problem,
        }


def list_runs(root: str | Path) -> list[RunInfo]:
    """The run directories directly under `root`, oldest first.

    Args:
        root: The folder that holds run directories (`runs`).

    Returns:
        One `RunInfo` per run directory, sorted by last write.

    Raises:
        UsageError: `root` is missing, not a folder, or a run directory itself.
    """
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder; pass the folder that holds run directories.")
    if RunLayout(root).is_run:
        raise UsageError(
            f"{root} is a run directory; pass the folder that holds it ({root.resolve().parent})."
        )
    runs = [
        describe(entry) for entry in root.iterdir() if entry.is_dir() and RunLayout(entry).is_run
    ]
    return sorted(runs, key=lambda run: (run.updated, run.name))


def describe(path: Path) -> RunInfo:
    """One run directory, read through `RunLayout`; what cannot be read goes in `problem`."""
    run = RunLayout(path)
    info = RunInfo(path.name, path, run.status(), link=path.is_symlink())
    info.pid = run.holder() if info.status == RunLayout.RUNNING else None
    try:
        info.size_bytes, info.updated = folder_size(run.path), last_written(run.path)
    except OSError as error:  # removed while we looked
        info.problem = first_line(error)
        return info
    try:
        config = run.config()
    except (ZooError, ValueError, TypeError, OSError) as error:
        info.problem = f"{RunLayout.CONFIG}: {first_line(error)}"
        return info
    info.task = config.task
    info.model = config.model.arch if config.task == "train" else config.model.base
    info.data = data_name(config.data)
    info.epochs_planned = planned_epochs(config)
    history = _read(info, RunLayout.HISTORY, run.history, [])
    state = _read(info, RunLayout.STATE, run.state, {})
    metrics = _read(info, RunLayout.METRICS, run.metrics, {})
    members = metrics.get("members") if isinstance(metrics, dict) else None
    if isinstance(members, list) and members:  # `zoo ensemble` writes its members' scores
        info.task, info.epochs_planned = "ensemble", None
        best = Path(str(metrics.get("best_member"))).name
        info.model = f"ensemble of {len(members)} (best {best})"
    if state or history or not run.finished:  # an ensemble has no epochs
        info.epochs_done = _count(state.get("epochs_done"), len(history))
    scores = [_number(row.get("val_accuracy")) for row in history]
    scores = [score for score in scores if score is not None]
    info.best_val_accuracy = max(scores) if scores else _number(metrics.get("val_accuracy"))
    info.test_accuracy = _number(metrics.get("test_accuracy"))
    return info


def planned_epochs(config: RunConfig) -> int:
    """The global epoch count a run's configuration asks for (every fine-tuning phase).

    A fine-tuning probe is fitted, not trained for epochs: `lp-ft` trains phase
    2 alone, `probe` (or `--epochs 0`) nothing, `full` the head's epochs first.
    """
    if config.task != "finetune":
        return config.optim.epochs
    method = "probe" if config.optim.epochs == 0 else config.finetune.method
    phase_two = parse_unfreeze(config.finetune.unfreeze)[0] != "none" and method != "probe"
    head = config.finetune.head_epochs if method == "full" else 0
    return head + (config.optim.epochs if phase_two else 0)


def _read(info: RunInfo, name: str, reader: Callable[[], Any], empty: Any) -> Any:
    """What `reader` reads, or `empty` with the problem noted (a file changed by hand)."""
    try:
        found = reader()
    except (ZooError, ValueError, TypeError, OSError) as error:
        info.problem = f"{name}: {first_line(error)}"
        return empty
    if not isinstance(found, type(empty)):
        info.problem = f"{name}: not a JSON {type(empty).__name__}"
        return empty
    return found


def _count(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


def _number(value: Any) -> float | None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if number and math.isfinite(value) else None


def prune_candidates(
    runs: Iterable[RunInfo],
    *,
    interrupted: bool = False,
    finished: bool = False,
    older_than: float | None = None,
    now: float | None = None,
) -> list[RunInfo]:
    """The runs a prune removes: by status, then by age; never a running run or a link.

    Args:
        runs: The runs of a folder (`list_runs`).
        interrupted: Select runs that did not finish (interrupted or broken).
        finished: Select finished runs.
        older_than: Only runs last written more than this many days ago.
        now: The time ages are measured at (Unix time; default: now).

    Returns:
        The selected runs. With neither `interrupted` nor `finished`, the
        unfinished ones are selected.

    Raises:
        UsageError: A negative or non-finite `older_than`.
    """
    if older_than is not None and not (math.isfinite(older_than) and older_than >= 0):
        raise UsageError(f"--older-than takes a number of days, 0 or more. Received: {older_than}")
    statuses = (*(UNFINISHED if interrupted else ()), *((RunLayout.FINISHED,) if finished else ()))
    statuses = statuses or UNFINISHED
    limit = (time.time() if now is None else now) - (older_than or 0) * DAY
    return [
        run
        for run in runs
        if run.status in statuses and not run.link and (older_than is None or run.updated < limit)
    ]


@dataclass
class PruneResult:
    """What `remove_runs` did.

    Attributes:
        removed: The runs removed.
        kept: `(run, reason)` for each selected run left in place.
    """

    removed: list[RunInfo]
    kept: list[tuple[RunInfo, str]]

    @property
    def freed_bytes(self) -> int:
        """Bytes the removed runs took."""
        return sum(run.size_bytes for run in self.removed)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-able data."""
        return {
            "removed": [run.to_dict() for run in self.removed],
            "kept": [{**run.to_dict(), "reason": reason} for run, reason in self.kept],
            "freed_bytes": self.freed_bytes,
        }


def remove_runs(root: str | Path, runs: Iterable[RunInfo]) -> PruneResult:
    """Removes run directories of `root`, each only if it still is one and nobody works on it.

    Each is checked again just before it goes: a directory of `root` itself
    (not a link, not elsewhere), a run directory, and its lock free; under
    its lock, its status must still be the one it was chosen with (a run
    resumed and finished since then stays).

    Args:
        root: The folder the runs were listed from.
        runs: The runs to remove (`prune_candidates`).

    Returns:
        What was removed, and what was kept and why.
    """
    root = Path(root).resolve()
    removed: list[RunInfo] = []
    kept: list[tuple[RunInfo, str]] = []
    for info in runs:
        path = Path(info.path)
        reason = _unsafe(root, path)
        if reason is None:
            run = RunLayout(path)
            try:
                run.remove(expected=info.status)
            except UsageError as error:
                reason = "it is running" if run.holder() is not None else str(error)
            except OSError as error:
                reason = f"could not remove it ({first_line(error)})"
        if reason is None:
            removed.append(info)
        else:
            kept.append((info, reason))
    return PruneResult(removed, kept)


def _unsafe(root: Path, path: Path) -> str | None:
    """Why `path` must not be removed as a run of `root`, or `None`."""
    if path.is_symlink():
        return "it is a symbolic link"
    if not path.is_dir():
        return "it is gone or not a folder"
    if path.resolve().parent != root:
        return f"it is not a folder of {root}"
    if not RunLayout(path).is_run:
        return f"it is not a run directory (no {RunLayout.CONFIG})"
    foreign = sorted(entry.name for entry in path.iterdir() if not _written_by_zoo(entry))
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        return f"it holds {shown}, which no zoo command writes there"
    return None


RUN_FILES = frozenset(
    {
        RunLayout.CONFIG, RunLayout.CLASS_NAMES, RunLayout.DATA, RunLayout.HISTORY,
        RunLayout.STATE, RunLayout.LAST, RunLayout.BEST, RunLayout.MODEL, RunLayout.METRICS,
        RunLayout.CURVES, RunLayout.SANITY, RunLayout.LR_FIND, RunLayout.LR_FIND_PLOT,
        RunLayout.LOCK, "projector_config.pbtxt",
    }
)  # fmt: skip
"""The files of a run directory (`RunLayout`'s, and `zoo embed`'s pointer to its projector)."""
RUN_FOLDERS = frozenset({RunLayout.LOGS, "explain", "embed", "filters", "activations", "neighbors"})
"""The folders training and the picture commands write inside a run by default."""
_REPORTS = re.compile(
    r"^([\w.-]+-)?(evaluation-[\w-]+\.json|(confusion|top-losses)-[\w-]+\.(csv|png))$"
)
"""`zoo evaluate`'s reports, with a checkpoint's prefix (`best-evaluation-test.json`)."""


def _written_by_zoo(entry: Path) -> bool:
    """Whether a run's entry is one a zoo command writes (or is writing: `.NAME.PID.partial`)."""
    if entry.is_symlink():
        return False
    if entry.is_dir():
        return entry.name in RUN_FOLDERS
    name = entry.name
    return name in RUN_FILES or bool(_REPORTS.match(name)) or ".partial" in name
