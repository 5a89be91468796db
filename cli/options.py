"""Command-line options generated from the run schema, grouped by section in `--help`.

A setting is declared once, in `recipes.config.schema`; `schema_options(command)`
turns every setting offered to a command into a click option with the same
name, type, choices and help, so the CLI cannot drift from the schema (shell
completion: choices by click, names and paths by `cli.completion`). Options
default to `None` (not given), so presets and files keep their say; `--help`
shows the value the command's default preset resolves to.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from cli.commands import ZooCommand
from cli.completion import Completer, setting_completions
from recipes.config.files import DEFAULT_PRESETS, list_presets, load_preset
from recipes.config.run import defaults, flatten
from recipes.config.schema import AUTO_LR, SECTIONS, offered_to
from recipes.config.setting import Setting


class SchemaOption(click.Option):
    """A click option that knows the schema section it belongs to (for `--help`)."""

    def __init__(self, *args: Any, section: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section = section


class SectionedCommand(ZooCommand):
    """A command whose `--help` lists options under their section's title.

    The command's own sections (e.g. `search`) come first, then the schema's
    in schema order, then the options of no section.
    """

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        groups: dict[str | None, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Argument):
                continue  # in the usage line and the epilog, as in every other command's help
            record = param.get_help_record(ctx)
            if record is not None:
                groups.setdefault(getattr(param, "section", None), []).append(record)
        own = [name for name in groups if name is not None and name not in SECTIONS]
        titles = {name: name.capitalize() for name in own}
        titles.update({name: title for name, (title, _) in SECTIONS.items()})
        for section in [*own, *SECTIONS, None]:
            if section in groups:
                with formatter.section(titles.get(section, "Other options")):
                    formatter.write_dl(groups[section])


def count_option(*declarations: str, low: int, default: int, help_text: str) -> Any:
    """An integer option of at least `low`, its default shown in `--help`."""
    return click.option(
        *declarations,
        type=click.IntRange(min=low),
        default=default,
        show_default=True,
        help=help_text,
    )


def schema_options(command: str) -> Callable[[Any], Any]:
    """A decorator adding the options of every setting the schema offers to `command`.

    Args:
        command: `train`, `finetune`, `search`, `evaluate`, ...

    Returns:
        The decorator.
    """
    shown = _shown_defaults(command)
    completions = setting_completions()

    def decorator(function: Any) -> Any:
        for item in reversed(offered_to(command)):
            function = _option(item, shown.get(item.name), completions.get(item.name))(function)
        return function

    return decorator


def given_settings(flags: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave (not `None`, and not an empty `--arch-option` list)."""
    return {key: value for key, value in flags.items() if value is not None and value != {}}


def _option(
    item: Setting, shown_default: Any, completion: Completer | None
) -> Callable[[Any], Any]:
    help_text = item.help
    if item.name == "preset":
        help_text = f"{help_text[: help_text.index('(')]}({', '.join(list_presets())})."
    if shown_default is not None and shown_default != {}:
        shown = str(shown_default).lower() if isinstance(shown_default, bool) else shown_default
        help_text = f"{help_text}  [default: {shown}]"
    settings: dict[str, Any] = {
        "cls": SchemaOption,
        "section": item.section,
        "help": help_text,
        "default": None,
        "metavar": item.metavar,
    }
    if completion is not None:
        settings["shell_complete"] = completion
    names = [item.flag, item.name]
    if item.kind is bool and item.optional:
        names[0] = f"{item.flag}/--no-{item.flag[2:]}"
    elif item.kind is bool:
        settings.update(is_flag=True, default=None)
    elif item.kind is dict:
        settings.update(multiple=True, callback=_key_values, default=())
    elif item.choices is not None:
        settings["type"] = click.Choice(item.choices, case_sensitive=False)
        if item.metavar is None:
            settings.pop("metavar")
    elif item.auto:
        settings["type"] = NumberOrAuto()
    else:
        settings["type"] = {int: click.INT, float: click.FLOAT}.get(item.kind, click.STRING)
    return click.option(*names, **settings)


class FiniteRange(click.FloatRange):
    """`click.FloatRange` that also refuses `nan` (which no comparison with a bound catches)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value} is not a number.", param, ctx)
        return number


class NumberOrAuto(click.ParamType):
    """A number, or the word `auto` (`--lr auto`)."""

    name = "number|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.strip().lower() == AUTO_LR:
            return AUTO_LR
        try:
            return float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number or {AUTO_LR}.", param, ctx)


def _key_values(ctx: click.Context, param: click.Parameter, pairs: tuple[str, ...]) -> Any:
    """`KEY=VALUE` pairs as a mapping, values read as YAML (`true`, `0.5`, `[1, 2]`).

    A value that is not YAML is kept as text; one with anchors and aliases (an
    alias bomb expands a short line to gigabytes) or deep nesting is refused.
    """
    import yaml

    from recipes.config.files import parse_yaml
    from zoo.errors import first_line, quoted

    if not pairs:
        return None
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"takes KEY=VALUE. Received: {quoted(pair)}", ctx, param)
        try:
            options[key] = parse_yaml(value)
        except yaml.composer.ComposerError as error:
            raise click.BadParameter(
                f"{first_line(error, 120)}. Received: {quoted(pair)}", ctx, param
            ) from None
        except yaml.YAMLError:
            options[key] = value
    return options


def _shown_defaults(command: str) -> dict[str, Any]:
    """Each setting's value as the command's default preset resolves it."""
    values = defaults()
    preset = DEFAULT_PRESETS.get(command)
    if preset is not None:
        values.update(flatten(load_preset(preset), f"preset {preset}"))
    return values
