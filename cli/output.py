"""How commands talk to the user: JSON on stdout, everything else on stderr."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import click


def echo_json(document: Any) -> None:
    """Writes exactly one JSON document to stdout."""
    click.echo(json.dumps(document, indent=2, default=str))


def info(message: str) -> None:
    """A progress or log line for a person; always on stderr."""
    click.echo(message, err=True)


@contextlib.contextmanager
def stdout_to_stderr(active: bool = True) -> Iterator[None]:
    """Sends anything printed to stdout (Keras progress bars, logs) to stderr.

    Used around a recipe call in `--json` mode, so stdout holds only the JSON.
    Both Python's `sys.stdout` and the process's file descriptor 1 are
    redirected: child processes (a search's trials) and C libraries write to
    the descriptor, not to `sys.stdout`.

    Args:
        active: Whether to redirect; `False` makes this a no-op.
    """
    if not active:
        yield
        return
    sys.stdout.flush()
    try:
        target = sys.stderr.fileno()
        saved: int | None = os.dup(1)
    except (OSError, ValueError):  # no real descriptors (a test runner): Python's stdout alone
        saved = None
    if saved is not None:
        os.dup2(target, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def json_option(function: Any) -> Any:
    """The shared `--json` flag."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document on stdout."
    )(function)
