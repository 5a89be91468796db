"""Keras callbacks that keep a run directory up to date and stop on divergence."""

from __future__ import annotations

import math
import time
from typing import Any

import keras
import numpy as np

from recipes.runs import STATE_FILE, RunDirectory

MONITOR = "val_accuracy"


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer uses now (evaluating a schedule if any)."""
    rate = optimizer.learning_rate
    return float(np.asarray(keras.ops.convert_to_numpy(rate)))


class RunRecorder(keras.callbacks.Callback):
    """Saves `last.keras`, `best.keras`, `history.csv` and `state.json` after each epoch.

    `state.json` is written last, so it only ever names an epoch whose
    checkpoint is complete; an epoch whose loss is not finite is not recorded.

    Args:
        run: The run directory.
        phase: Name of the training phase (`train`, `head`, `finetune`).
        best: Best validation accuracy of earlier epochs (when resuming).
        history: Rows of earlier epochs (when resuming).
    """

    def __init__(
        self,
        run: RunDirectory,
        phase: str,
        best: float | None = None,
        history: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.run = run
        self.phase = phase
        self.best = best
        self.rows = list(history or [])
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        if not math.isfinite(float(logs.get("loss", 0.0))):
            return
        row = {
            "epoch": epoch + 1,
            "phase": self.phase,
            "lr": current_learning_rate(self.model.optimizer),
            "seconds": round(time.perf_counter() - self._started, 3),
        }
        row.update({key: float(value) for key, value in logs.items() if key != "learning_rate"})
        self.run.save_model(self.model, "last.keras")
        score = row.get(MONITOR, row.get("accuracy"))
        if score is not None and (self.best is None or score > self.best):
            self.best = score
            self.run.save_model(self.model, "best.keras")
        self.rows.append(row)
        self.run.write_history(self.rows)
        self.run.write_json(
            STATE_FILE,
            {"epochs_done": epoch + 1, "phase": self.phase, "best": self.best},
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
