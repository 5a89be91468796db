"""The search space: which run settings a study varies, and over which values.

A space maps names to parameters. A name is a setting of the run schema
(`lr`, `optimizer`, `batch_size`, ...), or one of the study's own:
`finetune_lr_ratio` (phase 2's rate as a fraction of the head's; fine-tuning).
A parameter is a range (`{min, max}`, with `log: true` for a log-uniform one
and `step` for a grid), a list of values (`{values: [...]}`), or a fixed value
(`label_smoothing: 0.1`). Every parameter is checked against the schema before
anything runs: its name, the type of its values, and that they lie in the
setting's range and choices.

```yaml
lr: {min: 1.0e-4, max: 1.0e-1, log: true}
optimizer: {values: [adamw, momentum]}
batch_size: {values: [32, 64]}
label_smoothing: 0.1
```
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from recipes.config.check import check_value, coerce
from recipes.config.files import read_yaml
from recipes.config.schema import AUGMENT_PRESETS, SETTINGS
from recipes.config.setting import Setting
from zoo.errors import UsageError, closest, hint_for, quoted

RATIO = "finetune_lr_ratio"
"""Phase 2's learning rate over phase 1's (`finetune_lr = lr * ratio`)."""

MODES = ("train", "finetune")


@dataclass(frozen=True)
class Param:
    """One parameter of a search space.

    Attributes:
        name: A schema setting, or `finetune_lr_ratio`.
        kind: `float`, `int`, `choice` or `fixed`.
        low: Lower bound of a range.
        high: Upper bound of a range.
        log: Whether a range is searched on a log scale.
        step: Grid step of a range (`None`: continuous for floats, 1 for ints).
        values: The values of a choice, or the one value of a fixed parameter.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    values: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The parameter as a space file writes it."""
        if self.kind == "fixed":
            return {"value": self.values[0]}
        if self.kind == "choice":
            return {"values": list(self.values)}
        document: dict[str, Any] = {"min": self.low, "max": self.high}
        if self.log:
            document["log"] = True
        if self.step is not None:
            document["step"] = self.step
        if self.kind == "int":
            document["type"] = "int"
        return document


Space = dict[str, Param]


def default_space(mode: str, archs: list[str]) -> Space:
    """The space a study searches when no `--space` file says otherwise.

    Args:
        mode: `train` (from scratch) or `finetune`.
        archs: The architectures to choose among (from scratch; one or more).

    Returns:
        The space: learning rate (log), optimizer, weight decay (log), dropout,
        label smoothing, batch size and augmentation preset; for fine-tuning
        also head epochs, unfreeze depth and the fine-tune rate's ratio; the
        architecture when several are given.
    """
    space: Space = {
        "lr": Param("lr", "float", 1e-4, 1e-1, log=True),
        "optimizer": Param("optimizer", "choice", values=("adamw", "adam", "momentum")),
        "weight_decay": Param("weight_decay", "float", 1e-6, 1e-2, log=True),
        "label_smoothing": Param("label_smoothing", "float", 0.0, 0.2),
        "batch_size": Param("batch_size", "choice", values=(32, 64)),
        "augment": Param("augment", "choice", values=AUGMENT_PRESETS[:3]),
    }
    if mode == "finetune":
        space.update(
            {
                "lr": Param("lr", "float", 1e-4, 1e-2, log=True),
                "head_epochs": Param("head_epochs", "int", 1, 3),
                "unfreeze": Param("unfreeze", "choice", values=("1", "2", "4")),
                RATIO: Param(RATIO, "float", 1e-3, 1e-1, log=True),
                "dropout": Param("dropout", "float", 0.0, 0.5),
            }
        )
    elif len(archs) > 1:
        space["arch"] = Param("arch", "choice", values=tuple(archs))
    return space


def study_space(
    mode: str, archs: list[str], given: Iterable[str] = (), path: str | None = None
) -> Space:
    """The space a study searches: the mode's default, what the user fixed, the space file.

    A setting given on the command line (or in `--config`) is fixed at that
    value: it leaves the default space. A space file's parameters come last
    and win; one given as `null` removes that parameter (its setting then comes
    from the preset and flags).

    Args:
        mode: `train` or `finetune`.
        archs: The architectures given on the command line.
        given: The settings the user gave.
        path: A YAML file mapping names to parameters, if any.

    Returns:
        The checked space.

    Raises:
        UsageError: The file, a name or a parameter is not valid (one line).
    """
    space = {
        name: param for name, param in default_space(mode, archs).items() if name not in set(given)
    }
    if path is None:
        return space
    for name, value in read_yaml(path).items():
        name = str(name).replace("-", "_")
        if value is None:
            space.pop(name, None)
            continue
        space[name] = parse_param(name, value, mode)
    return space


def parse_param(name: str, value: Any, mode: str = "train") -> Param:
    """One parameter from its YAML form, checked against the schema.

    Raises:
        UsageError: Unknown name (with the closest), an empty or inverted range,
            a log range that touches 0, or a value of the wrong type or range.
    """
    setting = _setting(name, mode)
    if not isinstance(value, dict):
        return Param(name, "fixed", values=(_checked(setting, value, name),))
    keys = set(value)
    if "value" in keys and keys <= {"value"}:
        return Param(name, "fixed", values=(_checked(setting, value["value"], name),))
    if "values" in keys:
        if not keys <= {"values"} or not isinstance(value["values"], list) or not value["values"]:
            raise UsageError(
                f"Space parameter {name}: values must be a non-empty list, alone. "
                f"Received: {name}={quoted(value)}"
            )
        values = tuple(_checked(setting, item, name) for item in value["values"])
        if len(set(map(_identity, values))) != len(values):
            raise UsageError(
                f"Space parameter {name} lists a value twice. Received: {quoted(list(values))}"
            )
        return Param(name, "choice", values=values)
    return _range(name, setting, value)


def _range(name: str, setting: Setting, value: dict[str, Any]) -> Param:
    allowed = {"min", "max", "log", "step", "type"}
    unknown = sorted(set(value) - allowed)
    if unknown or not {"min", "max"} <= set(value):
        raise UsageError(
            f"Space parameter {name} is a range {{min, max}} (with log, step), a list "
            f"{{values: [...]}} or one value. Received: {name}={quoted(value)}"
        )
    kind = "int" if setting.kind is int or value.get("type") == "int" else "float"
    if setting.kind not in (int, float):
        raise UsageError(
            f"Space parameter {name} is not a number; give it as {{values: [...]}}. "
            f"Received: {name}={quoted(value)}"
        )
    low = _checked(setting, value["min"], name)
    high = _checked(setting, value["max"], name)
    if low > high:
        raise UsageError(
            f"Space parameter {name}: min > max. Received: min={quoted(low)}, max={quoted(high)}"
        )
    if low == high:
        raise UsageError(
            f"Space parameter {name}: the range is empty (min = max); give the value "
            f"alone to fix it. Received: min={quoted(low)}, max={quoted(high)}"
        )
    log = bool(value.get("log", False))
    if log and low <= 0:
        raise UsageError(
            f"Space parameter {name}: a log range must stay above 0. Received: min={quoted(low)}"
        )
    step = value.get("step")
    if step is not None:
        _check_step(name, step, low, high, log)
    return Param(name, kind, float(low) if kind == "float" else int(low),
                 float(high) if kind == "float" else int(high), log=log, step=step)  # fmt: skip


MAX_GRID_POINTS = 10_000
"""The most values a stepped range may hold (a grid search tries each)."""


def _check_step(name: str, step: Any, low: float, high: float, log: bool) -> None:
    """A grid step: a finite positive number (above 1 for a log range) of a bounded grid.

    Raises:
        UsageError: Not a number, not finite, too small, or a grid of more than
            `MAX_GRID_POINTS` values.
    """
    number = isinstance(step, int | float) and not isinstance(step, bool)
    if not number or not math.isfinite(step) or step <= 0 or (log and step <= 1):
        need = "a number above 1 (the factor between values)" if log else "a positive number"
        raise UsageError(f"Space parameter {name}: step must be {need}. Received: {quoted(step)}")
    points = math.log(high / low) / math.log(step) if log else (high - low) / step
    if points > MAX_GRID_POINTS:
        raise UsageError(
            f"Space parameter {name}: step {step:g} makes {points:.3g} values from {low:g} to "
            f"{high:g}; a grid holds at most {MAX_GRID_POINTS:,}: take a larger step."
        )


def _setting(name: str, mode: str) -> Setting:
    if name == RATIO:
        if mode != "finetune":
            raise UsageError(f"{RATIO} applies to fine-tuning (--base); leave it out.")
        return Setting(
            RATIO, "finetune", float, False, 0.01, "Phase 2 rate over phase 1's.", None,
            0.0, 1.0, True, False, (), "", None,
        )  # fmt: skip
    if name not in SETTINGS or name in ("output", "resume", "preset_source"):
        hint = hint_for(closest(name, [*searchable(), RATIO], n=3, cutoff=0.6))
        raise UsageError(f"Unknown space parameter {quoted(name)}.{hint}")
    return SETTINGS[name]


def varied(space: dict[str, Any]) -> list[str]:
    """The parameters of a space (as `study.json` holds it) that take more than one value."""
    return [
        name
        for name, document in space.items()
        if isinstance(document, dict) and ("min" in document or len(document.get("values", [])) > 1)
    ]


def searchable() -> list[str]:
    """The settings a space may name."""
    return [name for name in SETTINGS if name not in ("output", "resume", "preset_source")]


def _identity(value: Any) -> Any:
    """What makes two values of a list the same (`1` and `True` are not)."""
    try:
        return repr(value)
    except ValueError:  # an integer too long to write out
        return (type(value), value)


def _checked(setting: Setting, value: Any, name: str) -> Any:
    """A value coerced to the setting's type and checked against its range and choices."""
    try:
        coerced = coerce(setting, value)
        check_value(setting, coerced)
    except UsageError as error:
        raise UsageError(f"Space parameter {name}: {error}") from None
    if isinstance(coerced, float) and not math.isfinite(coerced):
        raise UsageError(f"Space parameter {name} must be finite. Received: {quoted(value)}")
    return coerced
