"""The examples at the end of each main command's `--help`: shown, and real."""

import shlex
import warnings

import click
import pytest
from click.testing import CliRunner

from cli.examples import EXAMPLES, epilog
from cli.main import COMMANDS, cli

MAIN_COMMANDS = ["train", "finetune", "evaluate", "predict", "export", "serve", "search",
                 "lr-find", "runs"]  # fmt: skip


def parse(line):
    """Parses an example with the real commands, as `zoo` would, without running it.

    Returns:
        The names of the commands it reaches, e.g. `["zoo", "runs", "prune"]`.
    """
    command_line = line.partition("  # ")[0]
    args = shlex.split(command_line)
    assert args[0] == "zoo", line
    context = cli.make_context("zoo", args[1:])
    reached = ["zoo"]
    while isinstance(context.command, click.Group) and remaining(context):
        name, command, rest = context.command.resolve_command(context, remaining(context))
        reached.append(name)
        context = command.make_context(name, rest, parent=context)
    return reached


def remaining(context):
    """A group's arguments left for its sub-command."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # click 8.2 renamed protected_args
        return [*context.protected_args, *context.args]


def test_every_main_command_has_examples():
    assert set(MAIN_COMMANDS) <= set(EXAMPLES) <= set(COMMANDS)


@pytest.mark.parametrize("command", MAIN_COMMANDS)
def test_help_ends_with_the_examples(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    help_text = result.stdout
    tail = help_text[help_text.index("Examples:") :]
    for line in EXAMPLES[command]:
        assert line.partition("  # ")[0] in tail
    last_line = help_text.rstrip().splitlines()[-1].strip()
    assert last_line.startswith(EXAMPLES[command][-1].partition("  # ")[0])


def test_train_help_shows_real_commands():
    help_text = CliRunner().invoke(cli, ["train", "--help"]).stdout
    assert "Examples:" in help_text
    assert "zoo train --arch lenet5 --epochs 2" in help_text
    # Not re-wrapped by click: one example per line.
    lines = [line.strip() for line in help_text.splitlines()]
    assert "zoo train --arch resnet18 --data ./photos --preset resnet --epochs 30" in lines


@pytest.mark.parametrize(
    "line", [line for command in EXAMPLES for line in EXAMPLES[command]], ids=str
)
def test_every_example_parses(line):
    reached = parse(line)
    assert reached[1] in COMMANDS


def test_epilog_keeps_a_command_s_own_text_and_examples():
    assert epilog("train", "RUN is a run.").startswith("RUN is a run.\n\nExamples:")
    assert epilog("train", "Examples:\n\n  zoo train") == "Examples:\n\n  zoo train"
    assert epilog("list", "Its own.") == "Its own."
