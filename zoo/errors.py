"""The project's error types.

Every error a user can cause or meet is a `ZooError`. The CLI turns one into a
single line on stderr and the error's `exit_code`; nothing else is shown unless
`--debug` is given.
"""

from __future__ import annotations


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
