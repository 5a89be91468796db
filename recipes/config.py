"""Run configuration: defaults, paper presets, YAML files and flags, merged and checked.

Precedence, lowest first: the dataclass defaults, the preset (`--preset`), the
file (`--config FILE`), then the flags given on the command line. The resolved
configuration is saved in every run directory with a hash of the parts that
define the run, so that `--resume` can refuse a changed configuration.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from recipes.images import DEFAULT_MAX_PIXELS
from zoo.errors import UnknownNameError, UsageError

PRESET_DIR = Path(__file__).with_name("presets")

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "plateau", "cosine")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
STRATEGIES = ("auto", "default", "mirrored", "multiworker")
JIT_MODES = ("auto", "on", "off")

# Keys that say where and how a run is carried out, not what it computes.
_NOT_HASHED = frozenset({"output", "resume", "preset_source"})


@dataclass
class RunConfig:
    """Everything that defines a training or fine-tuning run.

    Attributes mirror the `zoo train` / `zoo finetune` flags; see `zoo train --help`.
    """

    task: str = "train"
    arch: str | None = None
    arch_options: dict[str, Any] = field(default_factory=dict)
    base: str | None = None
    weights: str | None = None
    classes: int | None = None
    # data
    data_dir: str | None = None
    dataset: str | None = None
    tfds_data_dir: str | None = None
    image_size: int | None = None
    val_split: float = 0.2
    shapes_per_class: int = 100
    augment: str = "none"
    flip: bool | None = None
    rotation: float | None = None
    translation: float | None = None
    zoom: float | None = None
    contrast: float | None = None
    randaugment: bool | None = None
    mixup: float | None = None
    cutmix: float | None = None
    interpolation: str = "bilinear"
    cache: str = "memory"
    max_pixels: int = DEFAULT_MAX_PIXELS
    drop_empty_classes: bool = False
    seed: int = 0
    # optimisation
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "adamw"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup_epochs: int = 0
    step_epochs: int = 30
    step_factor: float = 0.1
    plateau_patience: int = 3
    label_smoothing: float = 0.0
    dropout: float | None = None
    early_stopping: int = 0
    # fine-tuning
    head_epochs: int = 2
    unfreeze: str = "2"
    finetune_lr: float | None = None
    # devices
    precision: str = "auto"
    jit: str = "auto"
    strategy: str = "auto"
    # bookkeeping
    preset: str | None = None
    preset_source: str | None = None
    output: str | None = None
    resume: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain data (for YAML/JSON)."""
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """A short hash of everything that defines what the run computes."""
        defining = {k: v for k, v in self.to_dict().items() if k not in _NOT_HASHED}
        encoded = json.dumps(defining, sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]


def list_presets() -> dict[str, str]:
    """Names of the shipped presets with the source each one follows."""
    return {
        path.stem: _read_yaml(path).get("source", "") for path in sorted(PRESET_DIR.glob("*.yaml"))
    }


def load_preset(name: str) -> dict[str, Any]:
    """Reads a shipped preset.

    Args:
        name: Preset name, e.g. `resnet`.

    Returns:
        Its settings, with `source` renamed to `preset_source`.

    Raises:
        UnknownNameError: No such preset; the message lists the closest ones.
    """
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(list_presets())
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
        hint = f"Did you mean: {', '.join(close)}? " if close else ""
        raise UnknownNameError(f"Unknown preset {name!r}. {hint}Presets: {', '.join(known)}.")
    settings = _read_yaml(path)
    settings["preset_source"] = settings.pop("source", None)
    settings["preset"] = name
    return settings


def load_config_file(path: str) -> dict[str, Any]:
    """Reads a YAML (or JSON) run configuration written by a user or a run.

    Args:
        path: The file.

    Returns:
        Its settings.

    Raises:
        UsageError: The file is missing or is not a YAML mapping.
    """
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"Config file not found: {path}. Pass the path of a YAML file.")
    return _read_yaml(file)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        first = str(error).splitlines()[0]
        raise UsageError(f"{path} is not valid YAML ({first}); fix the file.") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a mapping of settings (key: value).")
    return data


def resolve_config(*layers: dict[str, Any]) -> RunConfig:
    """Merges settings, later layers winning, and checks the result.

    Args:
        *layers: Mappings of settings, lowest precedence first. A saved run's
            `config.yaml` may hold a `fingerprint` key; it is ignored here.

    Returns:
        The checked configuration.

    Raises:
        UsageError: Unknown keys or values out of range.
    """
    known = {f.name for f in dataclasses.fields(RunConfig)}
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            key = key.replace("-", "_")
            if key == "fingerprint":
                continue
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise UsageError(f"Unknown setting {key!r}.{hint}")
            merged[key] = value
    config = RunConfig(**merged)
    validate(config)
    return config


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{name} must be one of {', '.join(choices)}. Received: {name}={value!r}")


def _check_positive(name: str, value: Any, allow_zero: bool = False, integer: bool = False) -> None:
    number = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, number):
        kind = "an integer" if integer else "a number"
        raise UsageError(f"{name} must be {kind}. Received: {name}={value!r}")
    if not (value >= 0 if allow_zero else value > 0):
        kind = "non-negative" if allow_zero else "positive"
        raise UsageError(f"{name} must be {kind}. Received: {name}={value!r}")


def validate(config: RunConfig) -> None:
    """Checks a configuration; raises `UsageError` on the first problem."""
    _check_choice("task", config.task, ("train", "finetune"))
    _check_choice("optimizer", config.optimizer, OPTIMIZERS)
    _check_choice("schedule", config.schedule, SCHEDULES)
    _check_choice("precision", config.precision, PRECISIONS)
    _check_choice("jit", config.jit, JIT_MODES)
    _check_choice("strategy", config.strategy, STRATEGIES)
    for name in (
        "epochs",
        "batch_size",
        "step_epochs",
        "plateau_patience",
        "shapes_per_class",
        "max_pixels",
    ):
        _check_positive(name, getattr(config, name), integer=True)
    for name in ("warmup_epochs", "early_stopping", "head_epochs", "seed"):
        _check_positive(name, getattr(config, name), allow_zero=True, integer=True)
    for name in ("classes", "image_size"):
        if getattr(config, name) is not None:
            _check_positive(name, getattr(config, name), integer=True)
    _check_positive("lr", config.lr)
    _check_positive("weight_decay", config.weight_decay, allow_zero=True)
    _check_positive("momentum", config.momentum, allow_zero=True)
    if config.momentum >= 1.0:
        raise UsageError(f"momentum must be below 1. Received: momentum={config.momentum}")
    if config.finetune_lr is not None:
        _check_positive("finetune_lr", config.finetune_lr)
        if config.finetune_lr > config.lr:
            raise UsageError(
                "finetune_lr must not exceed lr: phase 2 trains the unfrozen base, which a "
                "higher rate than the head's would wreck. "
                f"Received: finetune_lr={config.finetune_lr}, lr={config.lr}"
            )
    if not 0.0 <= config.label_smoothing < 1.0:
        raise UsageError(
            f"label_smoothing must be in [0, 1). Received: label_smoothing={config.label_smoothing}"
        )
    if config.dropout is not None and not 0.0 <= config.dropout < 1.0:
        raise UsageError(f"dropout must be in [0, 1). Received: dropout={config.dropout}")
    if not 0.0 < config.val_split < 1.0:
        raise UsageError(f"val_split must be in (0, 1). Received: val_split={config.val_split}")
    if config.data_dir and config.dataset:
        raise UsageError("Give either --data DIR or --dataset NAME, not both.")
    if config.task == "train" and not config.arch:
        raise UsageError("zoo train needs --arch NAME (see `zoo list`).")
    if config.task == "finetune" and not config.base:
        raise UsageError("zoo finetune needs --base NAME, a .keras file or a run directory.")
    if config.task == "finetune" and not config.classes:
        raise UsageError("zoo finetune needs --classes N (the number of classes of your data).")
    parse_unfreeze(config.unfreeze)


def parse_unfreeze(value: str) -> tuple[str, int]:
    """Reads `--unfreeze`: `all`, `none`, `N` (blocks) or `Nlayers`.

    Args:
        value: The flag's text.

    Returns:
        `("all", 0)`, `("none", 0)`, `("blocks", N)` or `("layers", N)`.

    Raises:
        UsageError: Anything else.
    """
    text = str(value).strip().lower()
    if text in ("all", "none"):
        return text, 0
    unit = "blocks"
    for suffix, name in (("layers", "layers"), ("blocks", "blocks")):
        if text.endswith(suffix):
            text, unit = text[: -len(suffix)], name
    if text.isdigit():
        return (unit, int(text)) if int(text) else ("none", 0)
    raise UsageError(
        "unfreeze must be all, none, a number of blocks (2) or of layers (30layers). "
        f"Received: unfreeze={value!r}"
    )
