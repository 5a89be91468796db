"""`zoo train --overfit N`: can the model learn N training images by heart?

The lectures' first babysitting step: before a real run, train on a handful
of images with every regulariser off (no augmentation, dropout, weight decay,
label smoothing, MixUp or CutMix; a constant rate) and check that the loss
goes to about zero. A sound model on sound data always can; if it cannot,
something is broken (the labels do not match the images, the model cannot
see the inputs, the learning rate is far off) and a long run would hide it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import keras

from recipes.config import RunConfig
from zoo.errors import UsageError

PASS_LOSS = 0.1
"""The training loss that counts as "about zero"."""
MAX_STEPS = 300
"""Optimizer steps before the check gives up."""

_UNREGULARISED = dict(
    augment="none", flip=None, rotation=None, translation=None, zoom=None, contrast=None,
    randaugment=None, mixup=None, cutmix=None, weight_decay=0.0, label_smoothing=0.0,
    schedule="constant", warmup_epochs=0, early_stopping=0,
)  # fmt: skip


@dataclass
class OverfitResult:
    """What the overfitting check saw.

    Attributes:
        images: Training images used.
        steps: Optimizer steps taken.
        epochs: Passes over the images.
        initial_loss: The loss of the first epoch (training mode).
        final_loss: The loss of the last epoch (training mode).
        train_accuracy: The accuracy of the last epoch (training mode, as `final_loss`).
        eval_loss: The loss on the images at the end, in inference mode.
        accuracy: The accuracy on the images at the end, in inference mode (as `eval_loss`).
        passed: Whether the loss reached `PASS_LOSS`.
        seconds: Wall time of the training.
        settings: The settings changed to switch regularisation off.
    """

    images: int
    steps: int
    epochs: int
    initial_loss: float
    final_loss: float
    train_accuracy: float
    eval_loss: float
    accuracy: float
    passed: bool
    seconds: float
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data."""
        return dict(self.__dict__)

    def verdict(self) -> str:
        """The pass/fail line."""
        numbers = (
            f"{self.images} images, {self.steps} steps ({self.epochs} epochs): while training, "
            f"loss {self.initial_loss:.3f} -> {self.final_loss:.4f} and accuracy "
            f"{self.train_accuracy:.1%}; in inference mode afterwards, loss {self.eval_loss:.4f} "
            f"and accuracy {self.accuracy:.1%}"
        )
        if self.passed:
            return f"PASS: {numbers}; the model can learn this data."
        return (
            f"FAIL: {numbers}; the loss did not reach {PASS_LOSS}. Check that the labels match "
            "the images, that the model sees the inputs (preprocessing), and try a learning "
            "rate 10x higher or lower (`zoo lr-find`)."
        )


def unregularised(config: RunConfig) -> RunConfig:
    """The configuration with every regulariser off and no run directory kept."""
    changes = dict(_UNREGULARISED)
    if config.model.dropout is not None or _has_dropout(config.model.arch):
        changes["dropout"] = 0.0
    return config.replace(**changes)


def _has_dropout(arch: str | None) -> bool:
    import zoo
    from zoo.builder import architecture_options

    return arch is not None and "dropout" in architecture_options(zoo.get_spec(arch))


def overfit_check(config: RunConfig, images: int) -> OverfitResult:
    """Trains a fresh model on `images` training images, regularisation off.

    Args:
        config: A resolved `zoo train` configuration.
        images: How many training images (from the shuffled training split).

    Returns:
        The losses, accuracy and verdict.

    Raises:
        UsageError: `images` below 1 or above the training split's size.
    """
    from recipes.training.train import prepare_train

    if images < 1:
        raise UsageError(f"--overfit takes a number of images of at least 1. Received: {images}")
    changed = unregularised(config)
    prepared = prepare_train(changed)
    available = prepared.data.images("train")
    if images > available:
        raise UsageError(
            f"--overfit {images} asks for more images than the training split holds "
            f"({available}); pass at most {available}."
        )
    batch = min(images, config.optim.batch_size)
    # The same images every epoch: taken once from the shuffled split, held as arrays.
    pixels, labels = next(iter(prepared.data.train.unbatch().batch(images)))
    steps_per_pass = math.ceil(images / batch)
    epochs = math.ceil(MAX_STEPS / steps_per_pass)
    stopper = _StopAtLoss(PASS_LOSS)
    started = time.perf_counter()
    history = prepared.model.fit(
        pixels, labels, batch_size=batch, epochs=epochs, callbacks=[stopper], verbose=0
    )
    seconds = time.perf_counter() - started
    losses = history.history["loss"]
    scores = prepared.model.evaluate(pixels, labels, batch_size=batch, verbose=0, return_dict=True)
    before = config.flat()
    settings = {key: value for key, value in changed.flat().items() if before[key] != value}
    return OverfitResult(
        images=images,
        steps=len(losses) * steps_per_pass,
        epochs=len(losses),
        initial_loss=round(float(losses[0]), 4),
        final_loss=round(float(losses[-1]), 5),
        train_accuracy=round(float(history.history["accuracy"][-1]), 4),
        eval_loss=round(float(scores["loss"]), 5),
        accuracy=round(float(scores["accuracy"]), 4),
        passed=bool(losses[-1] <= PASS_LOSS),
        seconds=round(seconds, 2),
        settings=settings,
    )


class _StopAtLoss(keras.callbacks.Callback):
    """Stops training once an epoch's loss is at most `target`."""

    def __init__(self, target: float) -> None:
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs and logs.get("loss", math.inf) <= self.target:
            self.model.stop_training = True
