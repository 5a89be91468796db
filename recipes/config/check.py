"""Checking settings against the schema: types, choices, ranges, and the rules between them.

Every message names the setting and the value received, and says what is
allowed, e.g. `lr must be above 0. Received: lr=-1.0`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from recipes.config.schema import AUTO_LR, CACHE_MODES, SETTINGS
from recipes.config.setting import Setting
from zoo.errors import UsageError, quoted

if TYPE_CHECKING:
    from recipes.config.run import RunConfig


def coerce(item: Setting, value: Any) -> Any:
    """A value of the setting's type, from what a file, flag or search gave.

    Numbers written as text (YAML reads `1e-3` as a string) become numbers;
    whole floats become ints where an int is wanted (`epochs: 10.0`).

    Args:
        item: The setting.
        value: The value given.

    Returns:
        The value, converted where that loses nothing.

    Raises:
        UsageError: The value is not of the setting's type.
    """
    if item.auto and isinstance(value, str) and value.strip().lower() == AUTO_LR:
        return AUTO_LR
    if value is None:
        if item.optional or item.kind is dict:
            return None if item.kind is not dict else {}
        raise UsageError(f"{item.name} must be set. Received: {item.name}=None")
    kind = item.kind
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, str):
            value = _number(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, str):
            value = _number(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an integer of hundreds of digits: as unusable as inf
                number = math.inf
            if math.isfinite(number):
                return number
            raise UsageError(
                f"{item.name} must be a finite number. Received: {item.name}={quoted(value)}"
            )
    elif kind is str:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
    elif kind is dict and isinstance(value, dict):
        return dict(value)
    allowed = _kind_name(kind) + (f" or {AUTO_LR}" if item.auto else "")
    raise UsageError(f"{item.name} must be {allowed}. Received: {item.name}={quoted(value)}")


def check_value(item: Setting, value: Any) -> None:
    """Checks a (coerced) value against the setting's choices and range.

    Raises:
        UsageError: The value is not allowed.
    """
    if value is None or item.kind is dict or (item.auto and value == AUTO_LR):
        return
    if item.choices is not None and value not in item.choices:
        from zoo.errors import did_you_mean

        hint = did_you_mean(str(value), item.choices, n=2, cutoff=0.6)
        raise UsageError(
            f"{item.name} must be one of {', '.join(item.choices)}.{hint} "
            f"Received: {item.name}={quoted(value)}"
        )
    if item.kind in (int, float):
        if item.low is not None and (value <= item.low if item.low_open else value < item.low):
            raise UsageError(
                f"{item.name} must be {_range(item)}. Received: {item.name}={quoted(value)}"
            )
        if item.high is not None and (value >= item.high if item.high_open else value > item.high):
            raise UsageError(
                f"{item.name} must be {_range(item)}. Received: {item.name}={quoted(value)}"
            )


def check_section(section: Any) -> None:
    """Checks every field of one section object (e.g. `DataSettings`).

    Recipes that take a section from a caller check it with this before any work.

    Raises:
        UsageError: A value of the wrong type or out of range.
    """
    for item in dataclasses.fields(section):
        setting = SETTINGS[item.name]
        value = coerce(setting, getattr(section, item.name))
        check_value(setting, value)
        setattr(section, item.name, value)
    if hasattr(section, "cache"):
        check_cache(section.cache)


def check_cache(cache: str) -> None:
    """A cache setting is `memory`, `none` or a path, never an empty string or a near-typo.

    A word close to `memory` or `none` with no path separator is taken for a typo,
    not for a file cache in the current folder.

    Raises:
        UsageError: The setting is empty or looks like a misspelt mode.
    """
    from zoo.errors import did_you_mean

    text = str(cache)
    if not text:
        raise UsageError("cache must be memory, none or a file path. Received: cache=''")
    if text in CACHE_MODES or "/" in text or "." in text:
        return
    hint = did_you_mean(text, CACHE_MODES, n=1, cutoff=0.6)
    if hint:
        raise UsageError(
            f"cache must be memory, none or a file path.{hint} (a file cache needs a path "
            f"such as ./{text}/). Received: cache={quoted(text)}"
        )


def validate(config: RunConfig) -> None:
    """Checks a whole configuration: every value, then the rules between settings.

    Raises:
        UsageError: The first problem found.
    """
    if config.task not in ("train", "finetune"):
        raise UsageError(f"task must be train or finetune. Received: task={quoted(config.task)}")
    for section in config.sections():
        check_section(section)
    model, optim, finetune = config.model, config.optim, config.finetune
    if config.data.data_dir and config.data.dataset:
        raise UsageError("Give either --data DIR or --dataset NAME, not both.")
    if config.task == "train" and not model.arch:
        raise UsageError("zoo train needs --arch NAME (see `zoo list`).")
    if config.task == "train" and optim.epochs < 1:
        raise UsageError(f"zoo train needs at least one epoch. Received: epochs={optim.epochs}")
    if config.task == "finetune" and not model.base:
        raise UsageError("zoo finetune needs --base NAME, a .keras file or a run directory.")
    data = config.data
    if data.shape_classes:
        check_shape_classes(data.shape_classes, model.classes, data.data_dir or data.dataset)
    if config.task == "finetune" and not (
        model.classes or data.data_dir or data.dataset or data.shape_classes
    ):
        # The class count comes from the data; with no data, from --classes (the built-in set).
        raise UsageError(
            "zoo finetune needs --classes N, or --data DIR or --dataset NAME to read the "
            "classes from (with no data it trains on N classes of the built-in set)."
        )
    if finetune.finetune_lr is not None and optim.lr != AUTO_LR and finetune.finetune_lr > optim.lr:
        raise UsageError(
            "finetune_lr must not exceed lr: phase 2 trains the unfrozen base, which a "
            "higher rate than the head's would wreck. "
            f"Received: finetune_lr={finetune.finetune_lr}, lr={optim.lr}"
        )
    parse_unfreeze(finetune.unfreeze)


def check_shape_classes(names: str, classes: int | None, other_data: str | None) -> None:
    """Checks `--shape-classes` against the other data settings.

    Args:
        names: The comma-separated shape classes.
        classes: `--classes`, if given.
        other_data: `--data` or `--dataset`, if given.

    Raises:
        UsageError: Names given with other data, an unknown name, or a count
            that differs from `classes`.
    """
    from recipes.config.shape_classes import chosen_classes

    if other_data:
        raise UsageError(
            "--shape-classes picks classes of the built-in set; drop it, or drop "
            f"--data/--dataset {quoted(other_data)}."
        )
    chosen = chosen_classes(names)
    if classes is not None and classes != len(chosen):
        raise UsageError(
            f"--classes {classes} does not match --shape-classes, which names {len(chosen)}; "
            f"pass --classes {len(chosen)} or leave it out."
        )


def parse_unfreeze(value: str) -> tuple[str, int]:
    """Reads `unfreeze`: `all`, `none`, `N` (blocks) or `Nlayers`.

    Args:
        value: The setting's text.

    Returns:
        `("all", 0)`, `("none", 0)`, `("blocks", N)` or `("layers", N)`.

    Raises:
        UsageError: Anything else.
    """
    text = str(value).strip().lower()
    if text in ("all", "none"):
        return text, 0
    unit = "blocks"
    for suffix in ("layers", "blocks"):
        if text.endswith(suffix):
            text, unit = text[: -len(suffix)], suffix
    if text.isdigit():
        return (unit, int(text)) if int(text) else ("none", 0)
    raise UsageError(
        "unfreeze must be all, none, a number of blocks (2) or of layers (30layers). "
        f"Received: unfreeze={quoted(value)}"
    )


def _number(text: str) -> Any:
    try:
        return float(text) if any(c in text for c in ".eEn") else int(text)
    except ValueError:
        return text


def _kind_name(kind: type) -> str:
    return {
        int: "an integer",
        float: "a number",
        bool: "true or false",
        str: "text",
        dict: "a mapping of KEY: VALUE",
    }[kind]


def _range(item: Setting) -> str:
    low = None if item.low is None else f"{item.low:g}"
    high = None if item.high is None else f"{item.high:g}"
    if low is not None and high is not None:
        left = "(" if item.low_open else "["
        right = ")" if item.high_open else "]"
        return f"in {left}{low}, {high}{right}"
    if low is not None:
        return f"above {low}" if item.low_open else f"at least {low}"
    return f"below {high}" if item.high_open else f"at most {high}"
