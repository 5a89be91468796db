"""The run schema: every setting of a run, declared once, in sections.

Each setting is a dataclass field whose metadata says what it means (help),
what it may be (choices, range) and where the command line offers it
(`commands`, `flag`). Validation (`recipes.config.check`), the CLI options
(`cli.options`), presets, YAML files and `config.yaml` all read this module; a
recipe takes the section it needs (the data pipeline takes `DataSettings` and
`AugmentSettings` as they are). Field names are unique across sections, so a
flat `lr: 0.01` in a preset or a search space names one setting.

This module imports nothing heavy: `zoo --help` reads it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

TRAIN, FINETUNE, SEARCH, EVALUATE = "train", "finetune", "search", "evaluate"
DATA_CHECK = "data-check"
TRAINING = (TRAIN, FINETUNE, SEARCH)
"""The commands that train (and so take every setting of a run)."""

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "plateau", "cosine")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
STRATEGIES = ("auto", "default", "mirrored", "multiworker")
JIT_MODES = ("auto", "on", "off")
AUGMENT_PRESETS = ("none", "light", "standard", "strong")
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
"""Cache settings besides a file path."""
AUTO_LR = "auto"
"""The `lr` that asks for a learning-rate range test first (`recipes.babysit.find_lr`)."""
DEFAULT_MAX_PIXELS = 89_478_485
"""Largest image (width x height) accepted by default: Pillow's decompression-bomb limit."""


def setting(
    default: Any,
    help: str,  # noqa: A002  (the CLI's word)
    *,
    choices: tuple[str, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    commands: tuple[str, ...] = TRAINING,
    flag: str | None = None,
    metavar: str | None = None,
    auto: bool = False,
) -> Any:
    """A field of the schema.

    Args:
        default: The value when nothing sets it (a dict default is copied per run).
        help: One line for `--help` and error messages.
        choices: The allowed values of a text setting.
        low: Smallest allowed value (`low_open`: the value must be above it).
        high: Largest allowed value (`high_open`: the value must be below it).
        low_open: Whether `low` itself is refused.
        high_open: Whether `high` itself is refused.
        commands: The commands whose command line offers it; `()` for settings
            that only files and recipes set.
        flag: The option's name when it is not `--` plus the field name with dashes.
        metavar: The value's name in `--help`.
        auto: Whether the text `auto` is allowed besides numbers.

    Returns:
        A dataclass field carrying the metadata.
    """
    metadata = dict(
        help=help, choices=choices, low=low, high=high, low_open=low_open,
        high_open=high_open, commands=commands, flag=flag, metavar=metavar, auto=auto,
    )  # fmt: skip
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


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
        None, "Square input side in pixels (default: the architecture's or base's).", low=1
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
        100, "Images per class of the built-in set (train + validation).", low=2
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

    augment: str = setting("none", "Augmentation preset.", choices=AUGMENT_PRESETS)
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
        10, "Epochs (for finetune: of phase 2).", low=1, commands=(TRAIN, FINETUNE)
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

    head_epochs: int = setting(
        2, "Phase 1: epochs of the new head on the frozen base.", low=0, commands=(FINETUNE,)
    )
    unfreeze: str = setting(
        "2",
        "Phase 2: top blocks of the base to unfreeze (2), Nlayers, all or none.",
        commands=(FINETUNE,),
    )
    finetune_lr: float | None = setting(
        None,
        "Phase 2 learning rate (default: lr / 100).",
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
        "auto", "tf.distribute strategy (auto: every visible GPU).", choices=STRATEGIES
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
    seed: int = setting(0, "Seed of the split, shuffle, augmentation and initial weights.", low=0)
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


@dataclass(frozen=True)
class Setting:
    """One field of the schema, as the checks and the CLI see it.

    Attributes:
        name: The field's name, unique across sections.
        section: The `RunConfig` attribute of its section.
        kind: The value's type: `int`, `float`, `bool`, `str` or `dict`.
        optional: Whether `None` is allowed (meaning: not set).
        default: The schema's default.
        help: One line of help.
        choices: Allowed values of a text setting.
        low: Smallest value, when bounded below.
        high: Largest value, when bounded above.
        low_open: Whether `low` itself is refused.
        high_open: Whether `high` itself is refused.
        commands: The commands whose command line offers it.
        flag: The CLI option's name.
        metavar: The value's name in `--help`.
        auto: Whether the text `auto` is allowed besides numbers.
    """

    name: str
    section: str
    kind: type
    optional: bool
    default: Any
    help: str
    choices: tuple[str, ...] | None
    low: float | None
    high: float | None
    low_open: bool
    high_open: bool
    commands: tuple[str, ...]
    flag: str
    metavar: str | None
    auto: bool = False


def _kind(annotation: Any) -> tuple[type, bool]:
    """`(type, optional)` of an annotation such as `int | None` or `dict[str, Any]`."""
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        optional = type(None) in members
        annotation = next(member for member in members if member is not type(None))
    return typing.get_origin(annotation) or annotation, optional


def _settings() -> dict[str, Setting]:
    found: dict[str, Setting] = {}
    for section, (_, cls) in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for item in dataclasses.fields(cls):
            kind, optional = _kind(hints[item.name])
            meta = item.metadata
            default = (
                item.default_factory() if item.default is dataclasses.MISSING else item.default
            )
            if item.name in found or item.name in SECTIONS:
                raise ValueError(f"setting {item.name} is declared twice, or names a section")
            found[item.name] = Setting(
                name=item.name,
                section=section,
                kind=kind,
                optional=optional,
                default=default,
                help=meta["help"],
                choices=meta["choices"],
                low=meta["low"],
                high=meta["high"],
                low_open=meta["low_open"],
                high_open=meta["high_open"],
                commands=meta["commands"],
                flag=meta["flag"] or "--" + item.name.replace("_", "-"),
                metavar=meta["metavar"],
                auto=meta["auto"],
            )
    return found


SETTINGS: dict[str, Setting] = _settings()
"""Every setting by name."""


def offered_to(command: str) -> list[Setting]:
    """The settings a command's command line offers, in schema order."""
    return [item for item in SETTINGS.values() if command in item.commands]
