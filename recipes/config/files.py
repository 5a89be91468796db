"""Settings from files: the shipped presets and the user's YAML run configurations.

YAML is read with PyYAML's safe loader, without anchors and aliases: a
configuration has no use for them, and an alias bomb (a kilobyte of nested
aliases that expands to gigabytes) is refused before it is expanded; so is
nesting deeper than `MAX_DEPTH`. Values quoted in messages go through
`quoted` (from `zoo.errors`, and importable from here), which never writes
(or builds) more than a short line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from zoo.errors import (
    UnknownNameError,
    UsageError,
    did_you_mean,
    first_line,
    quoted,
    shorten,
)

PRESET_DIR = Path(__file__).with_name("presets")
DEFAULT_PRESETS = {"train": "modern", "finetune": "finetune"}
"""The preset each command starts from when none is named."""

MAX_FILE_BYTES = 1 << 20
"""Largest configuration file read (a run configuration is a few hundred bytes)."""

MAX_DEPTH = 32
"""Deepest nesting of lists and mappings read (a settings file needs four levels)."""


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors, aliases and nesting deeper than `MAX_DEPTH`."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (*name) are not allowed", event.start_mark
            )
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nested more than {MAX_DEPTH} levels deep",
                self.peek_event().start_mark,
            )
        # PyYAML composes recursively: a deep file would end in a RecursionError.
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_yaml(text: str) -> Any:
    """Parses YAML text safely: no Python objects, anchors, aliases or deep nesting.

    For every YAML a user writes: files and `KEY=VALUE` options alike.

    Args:
        text: The YAML.

    Returns:
        What it holds (`None` when empty).

    Raises:
        yaml.YAMLError: Not valid YAML, anchors or aliases, nesting deeper
            than `MAX_DEPTH`, or a value Python cannot hold (an integer of
            thousands of digits, a date that does not exist).
    """
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506  (a safe loader)
    except (ValueError, OverflowError, RecursionError) as error:
        reason = first_line(error, 120)
        if "integer string conversion" in reason:  # Python's own hint does not help here
            reason = "an integer of thousands of digits"
        raise yaml.YAMLError(f"bad value: {reason}") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a YAML (or JSON) file that must hold a mapping.

    Args:
        path: The file.

    Returns:
        Its mapping (empty for an empty file).

    Raises:
        UsageError: The file is missing, too large, not valid YAML, uses
            aliases, or does not hold a mapping.
    """
    file = Path(path)
    if not file.is_file():
        raise UsageError(
            f"File not found: {shorten(str(path), 200)}; pass the path of a YAML file."
        )
    shown = shorten(str(file), 200)
    if file.stat().st_size > MAX_FILE_BYTES:
        raise UsageError(
            f"{shown} is {file.stat().st_size:,} bytes, more than a settings file needs "
            f"(at most {MAX_FILE_BYTES:,}); pass the right file."
        )
    try:
        data = parse_yaml(file.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise UsageError(
            f"{shown} is not valid YAML ({first_line(error, 160)}); fix the file."
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            f"{shown} must hold a mapping of settings (key: value). Received: {quoted(data)}"
        )
    return data


def list_presets() -> dict[str, str]:
    """Names of the shipped presets with the source each one follows."""
    return {
        path.stem: str(read_yaml(path).get("source", ""))
        for path in sorted(PRESET_DIR.glob("*.yaml"))
    }


def load_preset(name: str) -> dict[str, Any]:
    """Reads a shipped preset.

    Args:
        name: Preset name, e.g. `resnet`.

    Returns:
        Its settings, with `source` as `preset_source` and `preset` set to `name`.

    Raises:
        UnknownNameError: No such preset; the message lists the closest ones.
    """
    known = sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))
    if name not in known:  # a name from the list, never a path of its own
        hint = did_you_mean(name, known, n=3, cutoff=0.4)
        raise UnknownNameError(f"Unknown preset {quoted(name)}.{hint} Presets: {', '.join(known)}.")
    path = PRESET_DIR / f"{name}.yaml"
    settings = read_yaml(path)
    settings["preset_source"] = settings.pop("source", None)
    settings["preset"] = name
    return settings


def load_config_file(path: str) -> dict[str, Any]:
    """Reads a YAML run configuration written by a user, a run or a search.

    Args:
        path: The file.

    Returns:
        Its settings, flat or in sections.

    Raises:
        UsageError: See `read_yaml`.
    """
    return read_yaml(path)
