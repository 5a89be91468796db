"""The zoo's click command classes: TensorFlow is imported quietly once the arguments are parsed.

Click parses a command's arguments before it invokes the command, so a
mistyped command or option is answered at once (TensorFlow takes seconds to
import), and TensorFlow's start-up chatter never reaches the terminal. A
command that checks its settings before it needs TensorFlow (names, paths,
run directories) is made with `tensorflow_first=False` and calls
`import_tensorflow_quietly` after its checks; one that never needs it too.
"""

from __future__ import annotations

from typing import Any

import click


class ZooCommand(click.Command):
    """A command that imports TensorFlow quietly before it runs, unless told not to.

    Args:
        *args: `click.Command`'s.
        tensorflow_first: Import TensorFlow before invoking the callback.
        **kwargs: `click.Command`'s.
    """

    def __init__(self, *args: Any, tensorflow_first: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tensorflow_first = tensorflow_first

    def invoke(self, ctx: click.Context) -> Any:
        if self.tensorflow_first:
            from recipes.data.noise import import_tensorflow_quietly

            import_tensorflow_quietly()
        return super().invoke(ctx)


class ZooGroup(click.Group):
    """A group whose sub-commands are `ZooCommand`s; the group itself imports nothing."""

    command_class = ZooCommand
