"""The project's error types, and the helpers that keep error messages to one line.

Every error a user can cause or meet is a `ZooError`. The CLI turns one into a
single line on stderr and the error's `exit_code`; nothing else is shown unless
`--debug` is given. This module imports nothing heavy: the CLI uses it before
TensorFlow is loaded.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from typing import Any


class ZooError(Exception):
    """Base class: a failure at run time (exit code 1)."""

    exit_code = 1


class UsageError(ZooError, ValueError):
    """Bad usage or bad input: wrong names, values, shapes or files (exit code 2)."""

    exit_code = 2


class UnknownNameError(UsageError, KeyError):
    """A name (architecture, preset, dataset, ...) that is not known."""

    def __str__(self) -> str:  # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class WeightsUnavailableError(ZooError):
    """Pretrained weights that are neither cached nor downloadable."""


def first_line(error: BaseException | Warning | str, limit: int = 200) -> str:
    """An error's message on one short line.

    The first non-empty line, joined with the next one when it ends in a colon
    (Keras writes "A total of 3 objects could not be loaded. ...:" and the
    reason below it); the exception's type name when the message is empty.

    Args:
        error: An exception, a warning or a message.
        limit: Longest result; longer ones end in "...".

    Returns:
        The line.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    text = lines[0]
    if text.endswith(":") and len(lines) > 1:
        text = f"{text} {lines[1]}"
    return shorten(text, limit)


def op_error_message(error: BaseException, limit: int = 300) -> str:
    """The useful part of a TensorFlow op error, on one line.

    Graph errors arrive as "Graph execution error:", a "Detected at node"
    header, a stack trace, the actual message and the failing node; only the
    actual message is kept (e.g. "Unknown image file format. ..."), without
    the function-node markers, the `[Op:...]` suffix and the "assertion
    failed: [...]" wrapping of a failed `tf.debugging.Assert`.

    Args:
        error: A `tf.errors.OpError` (or anything with a message).
        limit: Longest result.

    Returns:
        The message.
    """
    text = getattr(error, "message", None) or str(error)
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if (
            not stripped
            or line[:1].isspace()
            or stripped.startswith(("Graph execution error", "Detected at node", "[[", "<stack"))
        ):
            continue
        stripped = re.sub(r"^assertion failed: \[(.*)\]$", r"\1", stripped)
        kept.append(re.sub(r"\s*\[Op:[^\]]*\].*$", "", stripped))
    return shorten(" ".join(kept), limit) if kept else first_line(error, limit)


def shorten(text: str, limit: int = 200) -> str:
    """`text` with its white space folded, cut to `limit` characters with "..."."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def closest(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """The known names most like `name`, best first (`difflib`'s similarity).

    Args:
        name: What was given.
        known: The valid names.
        n: Most names to return.
        cutoff: Similarity below which a name is left out.

    Returns:
        Up to `n` names.
    """
    return difflib.get_close_matches(str(name), list(known), n=n, cutoff=cutoff)


def did_you_mean(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.5) -> str:
    """A hint naming the known names closest to `name`, or an empty string.

    Args:
        name: What was given.
        known: The valid names.
        n: Most names to suggest.
        cutoff: Similarity below which a name is not suggested.

    Returns:
        `" Did you mean: a, b?"` (with a leading space), or `""`.
    """
    return hint_for(closest(name, known, n, cutoff))


def hint_for(names: Iterable[str]) -> str:
    """`" Did you mean: a, b?"` for the given names, or `""` when there are none."""
    names = list(names)
    return f" Did you mean: {', '.join(names)}?" if names else ""


def quoted(value: Any, limit: int = 80) -> str:
    """A user's value as a message quotes it (its `repr`), cut to `limit` characters with "...".

    Lists, mappings, long strings and huge integers are only walked as far as
    the limit shows, so a value of millions of items makes neither a huge
    message nor a long wait.

    Args:
        value: The value.
        limit: Longest result.

    Returns:
        The quote, on one line.
    """
    parts: list[str] = []
    _quote(value, parts, limit + 1)
    return shorten("".join(parts), limit)


def _quote(value: Any, parts: list[str], budget: int) -> int:
    """Appends the start of `repr(value)` to `parts`; returns the budget left."""
    if budget <= 0:
        return 0
    if isinstance(value, str | bytes):
        text = repr(value[:budget])  # longer than the budget when cut, so it ends in "..."
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        text = f"<an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits>"
    elif isinstance(value, list | tuple | set | frozenset | dict):
        return _quote_items(value, parts, budget)
    else:
        text = repr(value)[:budget]
    parts.append(text)
    return budget - len(text)


def _quote_items(value: Any, parts: list[str], budget: int) -> int:
    """`_quote` for lists, tuples, sets and mappings."""
    if isinstance(value, list):
        brackets = "[]"
    elif isinstance(value, tuple):
        brackets = "()"
    else:
        brackets = "{}"
    parts.append(brackets[0])
    budget -= 1
    items = value.items() if isinstance(value, dict) else value
    for count, item in enumerate(items):
        if budget <= 0:
            return 0
        if count:
            parts.append(", ")
            budget -= 2
        if isinstance(value, dict):
            budget = _quote(item[0], parts, budget)
            parts.append(": ")
            budget = _quote(item[1], parts, budget - 2)
        else:
            budget = _quote(item, parts, budget)
    if isinstance(value, tuple) and len(value) == 1:
        parts.append(",")
    parts.append(brackets[1])
    return budget - 1
