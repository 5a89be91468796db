"""The initial-loss check: an untrained classifier's loss should be about ln(C).

An untrained model whose weights are initialised as usual gives each of the C
classes about the same probability, so its cross-entropy is about ln(C) (also
with label smoothing: the smoothed targets still sum to one, so a uniform
prediction costs exactly ln(C); smoothing only raises the floor the loss can
reach). A loss far above ln(C) means confident outputs before any training: a
wrong pixel range, a head with the wrong output or activation, a bad
initialisation. A loss far below it means the untrained model already knows
the labels: they leak into the inputs, or the head is not new. Sampled labels
that all name one class mean broken labels or data that is not shuffled.

A head fitted before training (fine-tuning's linear probe) starts below ln(C)
by design; for it only a loss that is not finite or above ln(C) is reported,
and as the fit's failure, not the user's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SAMPLE_BATCHES = 2
"""Training batches the check looks at."""
HIGH_RATIO = 2.0
"""A loss above this multiple of ln(C) (plus `MARGIN`) is reported."""
LOW_RATIO = 0.5
"""A loss below this multiple of ln(C) is reported."""
MARGIN = 0.25
"""Slack above `HIGH_RATIO * ln(C)`, for two or three classes, where ln(C) is small."""


def initial_loss_check(
    model: Any,
    batches: Any,
    class_names: list[str],
    label_smoothing: float = 0.0,
    fitted_head: bool = False,
) -> dict[str, Any]:
    """Compares the untrained model's loss on a few training batches with ln(C).

    The loss is computed as the first training step sees it (`training=True`:
    batch statistics in BatchNorm); the model's weights, moving statistics
    included, are restored afterwards.

    Args:
        model: The model before training, softmax probabilities out.
        batches: The training pipeline: `(images, one-hot labels)` batches.
        class_names: The classes, in label order.
        label_smoothing: The loss's label smoothing.
        fitted_head: Whether the head was fitted already (see the module's docstring).

    Returns:
        `initial_loss`, `expected_initial_loss` (ln C), `ratio`, `batches`,
        `images`, `label_counts` (per class name, among the sampled images),
        `problems` (one line each; empty when all is well).
    """
    import keras

    loss_function = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    weights = model.get_weights()
    total, images, used = 0.0, 0, 0
    counts = np.zeros(len(class_names))
    try:
        for batch_images, labels in batches.take(SAMPLE_BATCHES):
            probabilities = model(batch_images, training=True)
            size = int(labels.shape[0])
            total += float(loss_function(labels, probabilities)) * size
            counts += np.asarray(labels, dtype="float64").sum(axis=0)
            images += size
            used += 1
    finally:
        model.set_weights(weights)
    expected = math.log(len(class_names))
    loss = total / max(images, 1)
    result = {
        "initial_loss": round(loss, 4),
        "expected_initial_loss": round(expected, 4),
        "ratio": round(loss / expected, 3),
        "batches": used,
        "images": images,
        "label_counts": {
            name: round(float(count), 2) for name, count in zip(class_names, counts, strict=True)
        },
    }
    if fitted_head:
        result["fitted_head"] = True
        result["problems"] = _fitted_problems(loss, expected, len(class_names))
    else:
        result["problems"] = _problems(loss, expected, counts, class_names, images)
    return result


def _fitted_problems(loss: float, expected: float, classes: int) -> list[str]:
    """What a fitted head's starting loss suggests: only a fit that failed."""
    if math.isfinite(loss) and loss <= expected + MARGIN:
        return []
    return [
        f"the head fitted on the base's features starts at a loss of {loss:.3f}, no better "
        f"than a uniform guess (ln({classes}) = {expected:.3f}): the base's features do not "
        "separate these classes, so fine-tuning starts from scratch in effect; a base "
        "trained on images more like these would help"
    ]


def _problems(
    loss: float, expected: float, counts: np.ndarray, class_names: list[str], images: int
) -> list[str]:
    """What the numbers suggest, one line each."""
    problems = []
    if not math.isfinite(loss):
        problems.append(
            "the untrained model's loss is not finite: check the pixel range the model "
            "expects and the initialisation"
        )
    elif loss > HIGH_RATIO * expected + MARGIN:
        problems.append(
            f"the untrained model's loss {loss:.3f} is {loss / expected:.1f}x "
            f"ln({len(class_names)}) = {expected:.3f}, the loss of a uniform guess: its "
            "outputs are confident before training; check the preprocessing (pixel range), "
            "the head (its activation and class count) and the initialisation"
        )
    elif loss < LOW_RATIO * expected:
        problems.append(
            f"the untrained model's loss {loss:.3f} is far below ln({len(class_names)}) = "
            f"{expected:.3f}: it predicts the labels before training; check that the labels "
            "do not leak into the images and that the head is new"
        )
    present = [name for name, count in zip(class_names, counts, strict=True) if count > 0.5]
    if len(class_names) > 1 and len(present) == 1 and images > 1:
        problems.append(
            f"all {images} sampled training labels are '{present[0]}': the labels are broken "
            "(one class for every image) or the data is not shuffled"
        )
    return problems
