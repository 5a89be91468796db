"""How a setting is declared, and how the schema's declarations are read back.

`recipes.config.schema` declares every setting as a dataclass field made by
`setting(...)`; `collect_settings` turns those fields into `Setting` records,
which the checks (`recipes.config.check`), the CLI options (`cli.options`) and
a search's space read.

This module imports nothing heavy: `zoo --help` reads it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TRAIN, FINETUNE, SEARCH, EVALUATE = "train", "finetune", "search", "evaluate"
DATA_CHECK = "data-check"
TRAINING = (TRAIN, FINETUNE, SEARCH)
"""The commands that train (and so take every setting of a run)."""


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


def kind_of(annotation: Any) -> tuple[type, bool]:
    """`(type, optional)` of an annotation such as `int | None` or `dict[str, Any]`."""
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        optional = type(None) in members
        annotation = next(member for member in members if member is not type(None))
    return typing.get_origin(annotation) or annotation, optional


def collect_settings(sections: Mapping[str, tuple[str, type]]) -> dict[str, Setting]:
    """Every setting the sections declare, by name, in section order.

    Args:
        sections: Section attribute of `RunConfig` -> (title, settings dataclass).

    Returns:
        The settings by name.

    Raises:
        ValueError: A name is declared twice, or names a section.
    """
    found: dict[str, Setting] = {}
    for section, (_, cls) in sections.items():
        hints = typing.get_type_hints(cls)
        for item in dataclasses.fields(cls):
            kind, optional = kind_of(hints[item.name])
            meta = item.metadata
            default = (
                item.default_factory() if item.default is dataclasses.MISSING else item.default
            )
            if item.name in found or item.name in sections:
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
