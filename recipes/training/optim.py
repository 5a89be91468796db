"""Optimizers and learning-rate schedules from a run's optimisation settings.

Keras' own optimizers and `CosineDecay` (with its linear warm-up) wherever they
do what the recipes need; `SGDWithL2` and `WarmupStep` where they do not (the
papers' coupled L2 weight decay; a step schedule with warm-up).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import keras

from recipes.config import RunConfig
from recipes.config.schema import OptimSettings

# Normalisation scales and biases are not decayed (Loshchilov & Hutter; Goyal et al. 2017).
_NO_DECAY = ("bias", "gamma", "beta")
_SGD_FAMILY = ("sgd", "momentum", "nesterov")


@keras.saving.register_keras_serializable(package="keras_zoo")
class SGDWithL2(keras.optimizers.SGD):
    """SGD whose weight decay is the papers' L2 term, added to the gradient.

    AlexNet, VGG, GoogLeNet and ResNet train with `g + wd * w` fed through the
    momentum buffer (`v = m * v - lr * (g + wd * w)`), which is what their
    weight-decay values mean. Keras' `SGD(weight_decay=...)` decays
    decoupled (`w -= lr * wd * w`), about 10x more weakly at momentum 0.9.
    The exclusions are part of the config, so a reloaded checkpoint keeps them.

    Args:
        l2: The weight decay `wd`.
        no_decay: Variable-name patterns left undecayed (biases, norm scales).
        **kwargs: `keras.optimizers.SGD` arguments.
    """

    def __init__(self, l2: float = 0.0, no_decay: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.l2 = float(l2)
        self.no_decay = list(no_decay)
        self._no_decay_pattern = re.compile("|".join(self.no_decay)) if self.no_decay else None

    def _decays(self, variable: Any) -> bool:
        pattern = self._no_decay_pattern
        return bool(self.l2) and not (pattern and pattern.search(variable.name))

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if self._decays(variable):
            gradient = gradient + keras.ops.cast(self.l2, variable.dtype) * variable
        super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "l2": self.l2, "no_decay": self.no_decay}


@keras.saving.register_keras_serializable(package="keras_zoo")
class WarmupStep(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up, then the rate multiplied by `factor` every `step_size` steps.

    Args:
        peak: The learning rate after warm-up.
        step_size: Steps between two drops.
        factor: Multiplier at each drop (0.1: divide by 10).
        warmup_steps: Steps of the linear warm-up.
    """

    def __init__(self, peak: float, step_size: int, factor: float, warmup_steps: int = 0) -> None:
        self.peak = float(peak)
        self.step_size = max(int(step_size), 1)
        self.factor = float(factor)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step: Any) -> Any:
        step = keras.ops.cast(step, "float32")
        warmup = self.peak * (step + 1.0) / max(self.warmup_steps, 1)
        drops = keras.ops.floor(keras.ops.maximum(step - self.warmup_steps, 0.0) / self.step_size)
        stepped = self.peak * keras.ops.power(self.factor, drops)
        return keras.ops.where(step < self.warmup_steps, warmup, stepped)

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "step_size": self.step_size,
            "factor": self.factor,
            "warmup_steps": self.warmup_steps,
        }


def learning_rate(
    optim: OptimSettings, lr: float, steps_per_epoch: int, epochs: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate (or schedule) of a phase.

    `cosine` is Keras' `CosineDecay`, from 0 up to `lr` over the warm-up and
    then down to 0 at the phase's end. `plateau` gives a plain float: its drops
    come from a `ReduceLROnPlateau` callback and its warm-up from
    `recipes.training.callbacks.LinearWarmup`, since that callback needs a
    plain rate.

    Args:
        optim: The optimisation settings (schedule, warm-up, step settings).
        lr: Peak learning rate of this phase.
        steps_per_epoch: Optimizer steps in one epoch.
        epochs: Epochs of this phase.

    Returns:
        A float or a `LearningRateSchedule`.
    """
    warmup = warmup_steps(optim, steps_per_epoch, epochs)
    if optim.schedule == "cosine":
        decay_steps = max(epochs * steps_per_epoch - warmup, 1)
        if warmup:
            return keras.optimizers.schedules.CosineDecay(
                0.0, decay_steps, warmup_target=lr, warmup_steps=warmup
            )
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps)
    if optim.schedule == "step":
        return WarmupStep(lr, optim.step_epochs * steps_per_epoch, optim.step_factor, warmup)
    if optim.schedule == "constant" and warmup:
        return WarmupStep(lr, step_size=1, factor=1.0, warmup_steps=warmup)
    return lr


def warmup_steps(optim: OptimSettings, steps_per_epoch: int, epochs: int) -> int:
    """Optimizer steps of a phase's linear warm-up.

    Warm-up never takes a whole (short) phase: the last epoch always runs at
    the schedule's rate.
    """
    return min(optim.warmup_epochs, max(epochs - 1, 0)) * steps_per_epoch


def make_optimizer(
    optim: OptimSettings, lr: float | keras.optimizers.schedules.LearningRateSchedule
) -> keras.optimizers.Optimizer:
    """Builds the configured optimizer with its weight decay.

    The SGD family decays as the papers whose recipes use it: L2 through the
    gradient (`SGDWithL2`). RMSprop, Adam and AdamW decay decoupled (Loshchilov
    & Hutter). Biases and normalisation parameters are never decayed.

    Args:
        optim: The optimisation settings (optimizer, momentum, weight decay).
        lr: A learning rate or schedule.

    Returns:
        A fresh optimizer.
    """
    decay = optim.weight_decay or None
    name = optim.optimizer
    if name in _SGD_FAMILY:
        return SGDWithL2(
            learning_rate=lr,
            momentum=0.0 if name == "sgd" else optim.momentum,
            nesterov=name == "nesterov",
            l2=optim.weight_decay,
            no_decay=_NO_DECAY,
        )
    if name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(
            learning_rate=lr, momentum=optim.momentum, weight_decay=decay
        )
    elif name == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=lr, weight_decay=decay)
    else:
        optimizer = keras.optimizers.AdamW(learning_rate=lr, weight_decay=optim.weight_decay)
    if optim.weight_decay:
        optimizer.exclude_from_weight_decay(var_names=list(_NO_DECAY))
    return optimizer


def phase_two_rate(config: RunConfig) -> float:
    """The learning rate of fine-tuning's phase 2: `--finetune-lr`, else a share of `lr`.

    With `lp-ft` the head is fitted already and the whole base fine-tunes at
    lr / 10 (Adam 1e-4 with the preset's 1e-3: on digits 5-9 from a base of
    0-4, 94.7% test accuracy with 15 images a class, against 89.3% at 1e-5
    and the probe's 88.2%); with `full` at the Keras guide's lr / 100 (1e-5).
    """
    if config.finetune.finetune_lr:
        return config.finetune.finetune_lr
    return float(config.optim.lr) / (100 if config.finetune.method == "full" else 10)
