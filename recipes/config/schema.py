"""The run schema: every setting of a run, declared once, in sections.

Each setting is a dataclass field whose metadata says what it means (help),
what it may be (choices, range) and where the command line offers it
(`commands`, `flag`); `recipes.config.setting` says how a field is declared
and read back. Validation (`recipes.config.check`), the CLI options
(`cli.options`), presets, YAML files and `config.yaml` all read this module; a
recipe takes the section it needs (the data pipeline takes `DataSettings` and
`AugmentSettings` as they are). Field names are unique across sections, so a
flat `lr: 0.01` in a preset or a search space names one setting.

This module imports nothing heavy: `zoo --help` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recipes.config.setting import (
    DATA_CHECK,
    EVALUATE,
    FINETUNE,
    SEARCH,
    TRAIN,
    TRAINING,
    Setting,
    collect_settings,
    setting,
)

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "plateau", "cosine")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
STRATEGIES = ("auto", "default", "mirrored", "multihost")
JIT_MODES = ("auto", "on", "off")
AUGMENT_PRESETS = ("none", "light", "standard", "strong", "auto")
INTERPOLATIONS = (
    "bilinear",
    "nearest",
    "bicubic",
    "area",
    "lanczos3",
    "lanczos5",
    "gaussian",
    "mitchellcubic",
)
"""Resize methods of `tf.image.resize` the decoder accepts."""
CACHE_MODES = ("memory", "none")
FINETUNE_METHODS = ("lp-ft", "probe", "full")
"""Cache settings besides a file path."""
AUTO_LR = "auto"
"""The `lr` that asks for a learning-rate range test first (`recipes.babysit.find_lr`)."""
KEEP_CHECKPOINTS = ("best", "last", "all", "none")
"""What a finished run keeps of its checkpoints (see `RunLayout.keep_checkpoints`)."""
DEFAULT_MAX_PIXELS = 89_478_485
"""Largest image (width x height) accepted by default: Pillow's decompression-bomb limit."""


@dataclass
class ModelSettings:
    """What is trained: an architecture from scratch, or a base with a new head."""

    arch: str | None = setting(
        None, "Architecture to train from scratch (see `zoo list`).", commands=(TRAIN, SEARCH)
    )
    base: str | None = setting(
        None,
        "Base to fine-tune: an architecture name, a .keras file or a zoo run directory.",
        commands=(FINETUNE, SEARCH),
    )
    weights: str | None = setting(
        None,
        "Base weights: imagenet (default where available), none, or a weights file.",
        commands=(FINETUNE, SEARCH),
    )
    arch_options: dict[str, Any] = setting(
        {},
        "Architecture option, e.g. lrn=true (see `zoo info NAME`); repeat for more.",
        commands=(TRAIN, SEARCH),
        flag="--arch-option",
        metavar="KEY=VALUE",
    )
    classes: int | None = setting(
        None,
        "Number of classes: checked against the data, or the size of the built-in set.",
        low=2,
    )
    image_size: int | None = setting(
        None,
        "Square input side in pixels (default: the architecture's or base's).",
        low=1,
        high=4096,
    )
    dropout: float | None = setting(
        None,
        "Dropout rate of the classifier (architectures with dropout; the new head).",
        low=0,
        high=1,
        high_open=True,
    )


@dataclass
class DataSettings:
    """Where the images come from, and how they are read."""

    data_dir: str | None = setting(
        None,
        "Image folder: class sub-folders, or train/ val/ test/ splits of them.",
        commands=(*TRAINING, EVALUATE),
        flag="--data",
        metavar="DIR",
    )
    dataset: str | None = setting(
        None,
        "A tensorflow-datasets name, e.g. cifar10 or tf_flowers.",
        commands=(*TRAINING, EVALUATE),
        metavar="NAME",
    )
    tfds_dir: str | None = setting(
        None,
        "tensorflow-datasets data folder (default: its own).",
        commands=(*TRAINING, EVALUATE),
        metavar="DIR",
    )
    val_split: float = setting(
        0.2,
        "Share of each class held out for validation when the data has no val/ split "
        "(0: no validation).",
        low=0,
        high=1,
        high_open=True,
    )
    shapes_per_class: int = setting(
        100, "Images per class of the built-in set (train + validation).", low=2, high=100_000
    )
    shape_classes: str | None = setting(
        None,
        "Which classes of the built-in set, comma-separated, e.g. ellipse,frame,pentagon "
        "(default: the first --classes of them).",
        metavar="NAMES",
    )
    interpolation: str = setting(
        "bilinear",
        f"Resize method of tf.image.resize: {', '.join(INTERPOLATIONS)}.",
        choices=INTERPOLATIONS,
        metavar="METHOD",
    )
    cache: str = setting(
        "memory",
        "Decoded-image cache: memory, none, or a path for a file cache.",
        metavar="memory|none|PATH",
    )
    max_pixels: int = setting(
        DEFAULT_MAX_PIXELS,
        "Skip images with more pixels (width x height) than this.",
        low=1,
        commands=(*TRAINING, DATA_CHECK),
    )
    drop_empty_classes: bool = setting(
        False, "Leave out class folders with no usable image instead of refusing them."
    )


@dataclass
class AugmentSettings:
    """Augmentation of the training split: a preset, each switch overridable."""

    augment: str = setting(
        "none",
        "Augmentation preset (auto: light for inputs of 64 px or less, standard above).",
        choices=AUGMENT_PRESETS,
    )
    flip: bool | None = setting(None, "Random horizontal flips (overrides the preset).")
    rotation: float | None = setting(
        None, "Largest rotation, a fraction of a full turn.", low=0, high=0.5
    )
    translation: float | None = setting(
        None, "Largest shift, a fraction of the image size.", low=0, high=0.5
    )
    zoom: float | None = setting(None, "Largest zoom in or out, a fraction.", low=0, high=0.9)
    contrast: float | None = setting(None, "RandomContrast factor.", low=0, high=1)
    randaugment: bool | None = setting(None, "RandAugment, 2 operations per image.")
    mixup: float | None = setting(None, "MixUp alpha (0: off).", low=0, high=10)
    cutmix: float | None = setting(None, "CutMix factor (0: off).", low=0, high=1)


@dataclass
class OptimSettings:
    """How the weights are updated."""

    epochs: int = setting(
        10,
        "Epochs (for finetune: of phase 2; 0 there: the linear probe alone).",
        low=0,
        commands=(TRAIN, FINETUNE),
    )
    batch_size: int = setting(32, "Global batch size.", low=1, commands=(*TRAINING, EVALUATE))
    optimizer: str = setting("adamw", "Optimizer.", choices=OPTIMIZERS)
    lr: float = setting(
        1e-3,
        "Peak learning rate, or auto: a learning-rate range test picks it (see zoo lr-find).",
        low=0,
        low_open=True,
        auto=True,
        metavar="FLOAT|auto",
    )
    momentum: float = setting(
        0.9, "Momentum of momentum, nesterov and rmsprop.", low=0, high=1, high_open=True
    )
    weight_decay: float = setting(
        0.0,
        "Weight decay: L2 for sgd/momentum/nesterov (as the papers), decoupled for the others.",
        low=0,
    )
    schedule: str = setting("constant", "Learning-rate schedule.", choices=SCHEDULES)
    warmup_epochs: int = setting(
        0, "Epochs of linear learning-rate warm-up before the schedule.", low=0
    )
    step_epochs: int = setting(30, "Epochs between two drops of the step schedule.", low=1)
    step_factor: float = setting(
        0.1, "Factor of each drop of the step schedule.", low=0, high=1, low_open=True
    )
    plateau_patience: int = setting(
        3, "Epochs without improvement before the plateau schedule divides the rate by 10.", low=1
    )
    label_smoothing: float = setting(
        0.0, "Label smoothing of the cross-entropy loss.", low=0, high=1, high_open=True
    )
    early_stopping: int = setting(
        0, "Stop after this many epochs without improvement (0: never).", low=0
    )


@dataclass
class FinetuneSettings:
    """The two phases of fine-tuning: the new head, then the top of the base."""

    method: str = setting(
        "lp-ft",
        "lp-ft: a linear probe fitted on the frozen base's features, then the top of the "
        "base fine-tuned; probe: the probe alone; full: the head trained by the optimizer "
        "for --head-epochs, then the top of the base.",
        choices=FINETUNE_METHODS,
        commands=(FINETUNE,),
    )
    head_epochs: int = setting(
        2,
        "Phase 1 of --method full: epochs of the new head on the frozen base.",
        low=0,
        commands=(FINETUNE,),
    )
    unfreeze: str = setting(
        "2",
        "Phase 2: top blocks of the base to unfreeze (N), Nlayers, all or none.",
        commands=(FINETUNE,),
    )
    finetune_lr: float | None = setting(
        None,
        "Phase 2 learning rate (default: lr / 10 with lp-ft, lr / 100 with full).",
        low=0,
        low_open=True,
        commands=(FINETUNE,),
    )


@dataclass
class DeviceSettings:
    """What the run executes on."""

    precision: str = setting(
        "auto", "auto: bf16 where the CPU or GPU supports it, else fp32.", choices=PRECISIONS
    )
    jit: str = setting(
        "auto", "XLA compilation of the train step (auto: on GPUs).", choices=JIT_MODES
    )
    strategy: str = setting(
        "auto",
        "auto: every visible GPU of this machine; multihost: several processes or machines "
        "(KERAS_BACKEND=jax; cluster from KERAS_DISTRIBUTION_* or Slurm).",
        choices=STRATEGIES,
    )
    cluster_timeout: int = setting(
        300,
        "Seconds a multihost process waits for the others (or the coordinator) to answer.",
        low=1,
        commands=(TRAIN, FINETUNE),
    )


@dataclass
class RunSettings:
    """Where the run is written, and what makes it reproducible."""

    output: str | None = setting(
        None, "Run directory (default: runs/NAME-TIMESTAMP).", commands=(TRAIN, FINETUNE)
    )
    resume: bool = setting(
        False, "Continue the interrupted run in --output.", commands=(TRAIN, FINETUNE)
    )
    keep_checkpoints: str = setting(
        "best",
        "Checkpoints kept once the run finishes, besides model.keras: best (best.keras), "
        "last (last.keras, with optimizer state), all, or none; last.keras is always "
        "written while training, for --resume.",
        choices=KEEP_CHECKPOINTS,
        commands=(TRAIN, FINETUNE),
    )
    seed: int = setting(
        0,
        "Seed of the split, shuffle, augmentation and initial weights (reruns can still "
        "differ: see --deterministic).",
        low=0,
    )
    deterministic: bool = setting(
        False,
        "Bit-identical reruns on the same machine: deterministic TensorFlow ops and "
        "augmentation drawn in batch order (slower).",
    )
    preset: str | None = setting(
        None,
        "A recipe from the presets (alexnet, resnet, modern, ...).",
        commands=TRAINING,
    )
    preset_source: str | None = setting(None, "The source the preset follows.", commands=())


SECTIONS: dict[str, tuple[str, type]] = {
    "model": ("Model", ModelSettings),
    "data": ("Data", DataSettings),
    "augmentation": ("Augmentation", AugmentSettings),
    "optim": ("Optimisation", OptimSettings),
    "finetune": ("Fine-tuning", FinetuneSettings),
    "devices": ("Devices", DeviceSettings),
    "run": ("Run", RunSettings),
}
"""Section attribute of `RunConfig` -> (title in `--help`, settings class)."""

TASKS = (TRAIN, FINETUNE)


SETTINGS: dict[str, Setting] = collect_settings(SECTIONS)
"""Every setting by name."""


def offered_to(command: str) -> list[Setting]:
    """The settings a command's command line offers, in schema order."""
    return [item for item in SETTINGS.values() if command in item.commands]
