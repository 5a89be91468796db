"""`RunConfig`: one run's settings, section by section, and how layers of them merge.

Precedence, lowest first: the schema's defaults, the preset (`--preset`), the
file (`--config FILE`), then the flags given on the command line. A layer may
be flat (`lr: 0.01`) or in sections (`optim: {lr: 0.01}`), as `config.yaml`
is written. The resolved configuration is saved in every run directory with a
fingerprint of the settings that define what the run computes, so that
`--resume` can refuse a changed configuration.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import recipes.config.schema as schema
from recipes.config.check import coerce, validate
from recipes.config.schema import SECTIONS, SETTINGS
from zoo.errors import UsageError, closest, hint_for, shorten

# Settings that say where and how a run is carried out, not what it computes.
_NOT_FINGERPRINTED = frozenset(
    {"output", "resume", "preset_source", "keep_checkpoints", "cluster_timeout"}
)
# Settings newer than some runs, with the value those runs had: left out of the fingerprint
# at that value, so that the runs still resume.
_ADDED_LATER = {"deterministic": False}
# Names an older config.yaml may use for a setting.
_RENAMED = {"tfds_data_dir": "tfds_dir"}


@dataclass
class RunConfig:
    """Everything that defines a training or fine-tuning run.

    Attributes:
        task: `train` or `finetune`.
        model: What is trained.
        data: Where the images come from.
        augmentation: Augmentation of the training split.
        optim: How the weights are updated.
        finetune: The phases of fine-tuning.
        devices: What the run executes on.
        run: Output, resume, seed and preset.
    """

    task: str = "train"
    model: schema.ModelSettings = field(default_factory=schema.ModelSettings)
    data: schema.DataSettings = field(default_factory=schema.DataSettings)
    augmentation: schema.AugmentSettings = field(default_factory=schema.AugmentSettings)
    optim: schema.OptimSettings = field(default_factory=schema.OptimSettings)
    finetune: schema.FinetuneSettings = field(default_factory=schema.FinetuneSettings)
    devices: schema.DeviceSettings = field(default_factory=schema.DeviceSettings)
    run: schema.RunSettings = field(default_factory=schema.RunSettings)

    def sections(self) -> Iterator[Any]:
        """The section objects, in schema order."""
        return (getattr(self, name) for name in SECTIONS)

    def get(self, name: str) -> Any:
        """The value of one setting, by its (unique) name."""
        return getattr(getattr(self, SETTINGS[name].section), name)

    def flat(self) -> dict[str, Any]:
        """Every setting by name, plus `task`."""
        values = {"task": self.task}
        for section in self.sections():
            values.update(dataclasses.asdict(section))
        return values

    def to_dict(self) -> dict[str, Any]:
        """The configuration in sections, as `config.yaml` holds it."""
        return {
            "task": self.task,
            **{name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS},
        }

    def fingerprint(self) -> str:
        """A short hash of everything that defines what the run computes."""
        defining = {
            key: value
            for key, value in self.flat().items()
            if key not in _NOT_FINGERPRINTED
            and not (key in _ADDED_LATER and value == _ADDED_LATER[key])
        }
        encoded = json.dumps(defining, sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]

    def replace(self, **changes: Any) -> RunConfig:
        """A checked copy with some settings changed (by name)."""
        return resolve_config(self.flat(), changes)


def flatten(layer: Mapping[str, Any], origin: str = "") -> dict[str, Any]:
    """A layer of settings by name, whether it was written flat or in sections.

    Args:
        layer: `{"lr": 0.01}` or `{"optim": {"lr": 0.01}}` (or both mixed).
        origin: Where the layer comes from (a file), for messages.

    Returns:
        The settings by name (dashes read as underscores; `fingerprint` dropped).

    Raises:
        UsageError: An unknown setting (with the closest names), or a section
            that is not a mapping.
    """
    flat: dict[str, Any] = {}
    for key, value in layer.items():
        key = _RENAMED.get(str(key).replace("-", "_"), str(key).replace("-", "_"))
        if key == "fingerprint":
            continue
        if key in SECTIONS:
            if not isinstance(value, Mapping):
                where = f" in {origin}" if origin else ""
                raise UsageError(
                    f"Section {key}{where} must hold settings (key: value). "
                    f"Received: {key}={shorten(repr(value), 80)}"
                )
            flat.update(flatten(value, origin))
            continue
        if key != "task" and key not in SETTINGS:
            hint = hint_for(closest(key, [*SETTINGS, "task"], n=3, cutoff=0.6))
            where = f" in {origin}" if origin else ""
            raise UsageError(f"Unknown setting {shorten(repr(key), 80)}{where}.{hint}")
        flat[key] = value
    return flat


def resolve_config(*layers: Mapping[str, Any]) -> RunConfig:
    """Merges layers of settings, later layers winning, and checks the result.

    Args:
        *layers: Mappings of settings, lowest precedence first (see `flatten`).

    Returns:
        The checked configuration.

    Raises:
        UsageError: Unknown settings, or values of the wrong type or out of range.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(flatten(layer))
    task = merged.pop("task", "train")
    by_section: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for name, value in merged.items():
        item = SETTINGS[name]
        by_section[item.section][name] = coerce(item, value)
    config = RunConfig(
        task=task,
        **{name: SECTIONS[name][1](**values) for name, values in by_section.items()},
    )
    validate(config)
    return config


def defaults() -> dict[str, Any]:
    """Every setting's schema default, by name."""
    return {name: item.default for name, item in SETTINGS.items()}


__all__ = [
    "RunConfig",
    "defaults",
    "flatten",
    "resolve_config",
]
