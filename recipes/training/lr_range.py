"""The learning-rate range test (L. Smith 2015, "Cyclical Learning Rates"; 2017).

The rate grows exponentially from `start` to `end` over about `steps`
optimizer steps, one batch each; the loss is smoothed with a debiased moving
average and the test stops once it exceeds `DIVERGENCE` times its best. The
model's weights are restored afterwards. Keras has no range test (keras-tuner
searches, it does not sweep a rate within one run), so this is written here on
`Model.train_on_batch`, which returns each batch's own loss (the logs of
`fit` hold the epoch's running mean instead).

The suggestion follows fastai's `lr_find`: `valley` (default there and here),
the rate halfway along the longest run of decreasing losses,
is the one used; `steep` (the steepest descent of the smoothed loss against
log rate) and `minimum` (a tenth of the rate at the lowest loss) are reported
beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DIVERGENCE = 4.0
"""The test stops when the smoothed loss exceeds this multiple of its best."""
SMOOTHING = 0.98
"""Weight of the past in the loss's moving average."""
SKIP_START = 0.1
"""Share of the first steps left out of the suggestion (the loss has not moved yet)."""
SKIP_END = 5
"""Last steps left out of the suggestion (the loss is blowing up)."""


@dataclass
class RangeTest:
    """What the range test saw and suggests.

    Attributes:
        rates: The learning rate of each step.
        losses: Each step's batch loss.
        smoothed: The debiased moving average of the losses.
        start: The first rate of the range.
        end: The last rate of the range.
        stopped_early: Whether the loss diverged before `end`.
        suggestions: `valley`, `steep` and `minimum` rates (those that could be found).
        suggestion: The rate chosen (`valley`, else `steep`, else `minimum`).
        method: The name of the suggestion chosen.
    """

    rates: list[float]
    losses: list[float]
    smoothed: list[float]
    start: float
    end: float
    stopped_early: bool
    suggestions: dict[str, float] = field(default_factory=dict)
    suggestion: float = 0.0
    method: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The test as plain data (`lr_find.json`)."""
        return dict(self.__dict__)

    def explanation(self) -> str:
        """One line saying what was chosen and how."""
        others = ", ".join(
            f"{name} {rate:.2e}" for name, rate in self.suggestions.items() if name != self.method
        )
        how = {
            "valley": "halfway along the longest descent of the loss",
            "steep": "the steepest descent of the loss",
            "minimum": "a tenth of the rate at the lowest loss",
        }[self.method]
        stop = "stopped when the loss diverged" if self.stopped_early else "ran the whole range"
        return (
            f"suggested learning rate {self.suggestion:.2e} ({self.method}: {how}; "
            f"{others}); {len(self.rates)} steps from {self.start:.0e} to {self.end:.0e}, {stop}"
        )


def check_range(start: float, end: float, steps: int) -> None:
    """Checks a range test's settings.

    Raises:
        UsageError: `start` not above 0, `start >= end`, or fewer than 10 steps.
    """
    from zoo.errors import UsageError

    if not start > 0:
        raise UsageError(f"--start-lr must be above 0. Received: {start}")
    if not start < end:
        raise UsageError(
            f"--start-lr must be below --end-lr. Received: --start-lr {start}, --end-lr {end}"
        )
    if steps < 10:
        raise UsageError(f"--steps must be at least 10. Received: {steps}")


def range_test(
    model: Any, batches: Any, start: float = 1e-7, end: float = 10.0, steps: int = 100
) -> RangeTest:
    """Runs the range test on a compiled model and restores its weights.

    Args:
        model: A compiled Keras model whose optimizer has a plain (float)
            learning rate; its optimizer state changes, its weights do not.
        batches: An iterable of `(images, labels)` batches, repeated as needed.
        start: The first learning rate.
        end: The last learning rate.
        steps: Steps from `start` to `end`.

    Returns:
        The rates, losses and suggestion.
    """
    check_range(start, end, steps)
    weights = model.get_weights()
    factor = (end / start) ** (1.0 / (steps - 1))
    rates: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    average, best, stopped = 0.0, math.inf, False
    try:
        iterator = _forever(batches)
        for step in range(steps):
            rate = start * factor**step
            model.optimizer.learning_rate = rate
            # As NumPy arrays: Keras' JAX data parallelism (multihost) does not take tf.Tensors.
            images, labels = (np.asarray(part) for part in next(iterator))
            loss = float(np.asarray(model.train_on_batch(images, labels, return_dict=True)["loss"]))
            if not math.isfinite(loss):
                stopped = True
                break
            average = SMOOTHING * average + (1 - SMOOTHING) * loss
            value = average / (1 - SMOOTHING ** (step + 1))
            rates.append(rate)
            losses.append(loss)
            smoothed.append(value)
            best = min(best, value)
            if step > 0 and value > DIVERGENCE * best:
                stopped = True
                break
    finally:
        model.set_weights(weights)
    test = RangeTest(rates, losses, smoothed, start, end, stopped)
    test.suggestions = suggest(rates, smoothed)
    for method in ("valley", "steep", "minimum"):
        if method in test.suggestions:
            test.method, test.suggestion = method, test.suggestions[method]
            break
    return test


def _forever(batches: Any) -> Any:
    """Batches from `batches`, starting it again whenever it ends."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch[0], batch[1]
        if empty:
            raise ValueError("the training data gave no batches")


def suggest(rates: list[float], smoothed: list[float]) -> dict[str, float]:
    """The three suggestions of fastai, from a range test's smoothed losses.

    The first `SKIP_START` of the steps and the last `SKIP_END` are left out,
    as fastai does: the loss has not moved yet at the start and is blowing up
    at the end.

    Args:
        rates: The rate of each step.
        smoothed: The smoothed loss of each step.

    Returns:
        `valley`, `steep` and `minimum` rates; empty when fewer than 3 steps remain.
    """
    begin = int(len(rates) * SKIP_START)
    stop = len(rates) - SKIP_END
    if stop - begin < 3:
        begin, stop = 0, len(rates)
    if stop - begin < 3:
        return {}
    lrs = np.asarray(rates[begin:stop], dtype="float64")
    loss = np.asarray(smoothed[begin:stop], dtype="float64")
    slopes = np.diff(loss) / np.diff(np.log(lrs))
    return {
        "valley": float(lrs[_valley_index(loss)]),
        "steep": float(lrs[int(np.argmin(slopes))]),
        "minimum": float(lrs[int(np.argmin(loss))] / 10),
    }


def _valley_index(loss: np.ndarray) -> int:
    """The valley of fastai: halfway along the longest decreasing subsequence of the loss."""
    count = len(loss)
    lengths = [1] * count
    start, end = 0, 0
    for i in range(1, count):
        for j in range(i):
            if loss[i] < loss[j] and lengths[i] < lengths[j] + 1:
                lengths[i] = lengths[j] + 1
            if lengths[end] < lengths[i]:
                end = i
                start = end - lengths[end]
    sections = (end - start) / 3
    return min(count - 1, max(0, start + int(sections) + int(sections / 2)))
