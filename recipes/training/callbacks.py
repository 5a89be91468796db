"""Keras callbacks that keep a run directory up to date, resume, warm up and report."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from recipes.run.layout import RunLayout


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer uses now (evaluating a schedule if any)."""
    rate = optimizer.learning_rate
    return float(np.asarray(keras.ops.convert_to_numpy(rate)))


class EpochRateTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, logging the rate each epoch trained at, as `history.csv` does.

    Keras logs the optimizer's rate at the end of an epoch, which under a
    schedule is the next epoch's first rate: the two records of one run
    disagreed by an epoch. `_collect_learning_rate` is the hook Keras' own
    callback fills the logged rate in.
    """

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_begin(epoch, logs)
        self._epoch_rate = current_learning_rate(self.model.optimizer)

    def _collect_learning_rate(self, logs: dict[str, Any] | None) -> dict[str, Any]:
        logs = dict(logs or {})
        logs["learning_rate"] = self._epoch_rate
        return logs


class _Resumable:
    """A callback whose counters `state.json` carries across a resume.

    Keras resets these counters in `on_train_begin`; the saved values are put
    back right after.

    Args:
        state: Values saved by `state()` in the interrupted run, if any.
        **kwargs: The Keras callback's arguments.
    """

    STATE: tuple[str, ...] = ()

    def __init__(self, *, state: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._saved = {key: value for key, value in (state or {}).items() if value is not None}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        for key, value in self._saved.items():
            setattr(self, key, value)

    def state(self) -> dict[str, float | None]:
        """The counters as plain JSON numbers (`None` for an infinite or unset one)."""
        values = {key: getattr(self, key, None) for key in self.STATE}
        return {
            key: float(value) if value is not None and math.isfinite(float(value)) else None
            for key, value in values.items()
        }


class ResumablePlateau(_Resumable, keras.callbacks.ReduceLROnPlateau):
    """`ReduceLROnPlateau` whose best score, patience and cool-down survive a resume."""

    STATE = ("best", "wait", "cooldown_counter")


class ResumableEarlyStopping(_Resumable, keras.callbacks.EarlyStopping):
    """`EarlyStopping` whose best score and patience survive a resume."""

    STATE = ("best", "wait", "best_epoch")


class LinearWarmup(keras.callbacks.Callback):
    """Raises a plain learning rate linearly to `peak` over the first `steps` steps.

    The plateau schedule's warm-up (`ReduceLROnPlateau` needs a plain rate, not
    a schedule). It counts the optimizer's own steps, so a resumed run goes on
    where it stopped, and leaves the rate alone afterwards.

    Args:
        peak: The rate at the end of the warm-up.
        steps: Optimizer steps of the warm-up.
    """

    def __init__(self, peak: float, steps: int) -> None:
        super().__init__()
        self.peak = float(peak)
        self.steps = int(steps)
        self._done = steps <= 0

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._done:
            return
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if step >= self.steps:
            self._done = True
            return
        self.model.optimizer.learning_rate = self.peak * (step + 1) / self.steps


class EpochLine(keras.callbacks.Callback):
    """One line per epoch on stdout: the progress report when stdout is not a terminal.

    Args:
        epochs: The epoch count the run goes to.
        phase: Name of the training phase.
    """

    def __init__(self, epochs: int, phase: str) -> None:
        super().__init__()
        self.epochs = epochs
        self.phase = phase
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        seconds = time.perf_counter() - self._started
        scores = " - ".join(
            f"{key}: {float(value):.4f}"
            for key, value in (logs or {}).items()
            if key != "learning_rate"
        )
        print(
            f"epoch {epoch + 1}/{self.epochs} ({self.phase}) {seconds:.0f}s - {scores}",
            file=sys.stdout,
            flush=True,
        )


class PhaseProgbar(keras.callbacks.ProgbarLogger):
    """Keras' progress bar on a terminal, its epoch line naming the phase: `Epoch 3/5 (finetune)`.

    Args:
        phase: Name of the training phase.
        total: The run's epoch count (default: the end of this `fit`).
    """

    def __init__(self, phase: str, total: int | None = None) -> None:
        super().__init__()
        self.phase = phase
        self.total = total

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.verbose:
            total = self.total or self.epochs
            print(f"Epoch {epoch + 1}/{total} ({self.phase})", file=sys.stdout, flush=True)
        epochs, self.epochs = self.epochs, 1  # Keras' own line, without the phase, is left out
        try:
            super().on_epoch_begin(epoch, logs)
        finally:
            self.epochs = epochs


class RunRecorder(keras.callbacks.Callback):
    """Saves `last.keras`, `best.keras`, `history.csv` and `state.json` after each epoch.

    It runs after the other callbacks of an epoch, so the checkpoint holds the
    learning rate they set and `state.json` their counters. `state.json` is
    written last, so it only ever names an epoch whose checkpoint is
    complete; an epoch whose loss is not finite is not recorded.

    Args:
        run: The run directory.
        phase: Name of the training phase (`train`, `head`, `finetune`).
        monitor: The score `best.keras` follows (`val_accuracy`, or
            `accuracy` without a validation split).
        best: Best validation accuracy of earlier epochs (when resuming).
        history: Rows of earlier epochs (when resuming).
        resumable: Callbacks whose counters `state.json` keeps, by name.
        checkpoints: Whether `last.keras` (and `best.keras`) are written.
        best_checkpoint: Whether `best.keras` is written (the run keeps it).
    """

    def __init__(
        self,
        run: RunLayout,
        phase: str,
        monitor: str = "val_accuracy",
        best: float | None = None,
        history: list[dict[str, Any]] | None = None,
        resumable: Mapping[str, _Resumable] | None = None,
        checkpoints: bool = True,
        best_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        self.checkpoints = checkpoints
        self.best_checkpoint = best_checkpoint
        self.run = run
        self.phase = phase
        self.monitor = monitor
        self.best = best
        self.rows = list(history or [])
        self.resumable = dict(resumable or {})
        self._started = 0.0
        self._lr = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()
        self._lr = current_learning_rate(self.model.optimizer)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        if not math.isfinite(float(logs.get("loss", 0.0))):
            return
        row = {
            "epoch": epoch + 1,
            "phase": self.phase,
            "lr": self._lr,
            "seconds": round(time.perf_counter() - self._started, 3),
            "finished": round(time.time(), 3),  # wall clock (Unix time) at the epoch's end
        }
        row.update({key: float(value) for key, value in logs.items() if key != "learning_rate"})
        score = row.get(self.monitor)
        improved = score is not None and (self.best is None or score > self.best)
        if improved:
            self.best = score
        if self.checkpoints:
            self.run.save_checkpoint(self.model, best=improved and self.best_checkpoint)
        self.rows.append(row)
        self.run.write_history(self.rows)
        self.run.write_json(
            RunLayout.STATE,
            {
                "epochs_done": epoch + 1,
                "phase": self.phase,
                "best": self.best,
                "callbacks": {name: c.state() for name, c in self.resumable.items()},
            },
        )


class StopOnNaN(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where.

    The recipe turns `diverged_at` into an error that names the last good
    checkpoint.
    """

    def __init__(self) -> None:
        super().__init__()
        self.diverged_at: tuple[int, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_at = (self._epoch + 1, batch + 1)
            self.model.stop_training = True


class PaddedLossCorrection(keras.callbacks.Callback):
    """Takes the zero-weight padding of a multi-host run's validation split out of `val_loss`.

    The validation split's last batch is padded to split evenly between the
    processes (`recipes.data.pipeline.Share`). The padding's weight is 0, so
    accuracy and cross-entropy are exact, but Keras averages the loss over
    every image of a batch, padding included: `val_loss` comes out
    `images / (images + padding)` of the true mean. First in the callback
    list, so that the others see the corrected value.

    Args:
        factor: `(images + padding) / images` of the validation split.
    """

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None and "val_loss" in logs:
            logs["val_loss"] = float(logs["val_loss"]) * self.factor


def padding_factor(images: int, padding: int) -> float:
    """`(images + padding) / images`: what corrects a padded split's mean loss."""
    return (images + padding) / images if images else 1.0
