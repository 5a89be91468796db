"""The `zoo` command: a click group whose sub-commands load on first use.

Sub-commands live in their own modules and are imported only when run, so
`zoo --help` (and shell completion) does not import TensorFlow. Every
`ZooError` becomes one line on stderr and the error's exit code (2: bad usage
or input, 1: failure at run time); `--debug`, anywhere on the line, shows the
traceback instead. While a command runs, the warnings image decoders print
for slightly damaged files are kept off the terminal (`--debug` shows them).
Commands import TensorFlow themselves once their arguments are parsed
(`cli.commands`).
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click
from click.shell_completion import CompletionItem

from cli.examples import epilog

# "name": ("module:attribute", "short help shown by `zoo --help`")
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("cli.models_cmd:list_command", "List the architectures in the zoo."),
    "info": ("cli.models_cmd:info_command", "Show one architecture: size, MACs, weights, paper."),
    "weights": ("cli.weights_cmd:weights_group", "Manage the ImageNet weights cache."),
    "train": ("cli.train_cmd:train_command", "Train an architecture from scratch."),
    "finetune": ("cli.train_cmd:finetune_command", "Fine-tune a pretrained base with a new head."),
    "search": ("cli.search_cmd:search_group", "Search hyper-parameters with keras-tuner."),
    "lr-find": ("cli.babysit_cmd:lr_find_command", "Find a learning rate: the range test."),
    "ensemble": (
        "cli.ensemble_cmd:ensemble_command",
        "Average trained runs in one model; compare it with each.",
    ),
    "bench": ("cli.bench_cmd:bench_group", "Measure throughput against the plain-Keras way."),
    "data": ("cli.data_cmd:data_group", "Check an image folder the way training reads it."),
    "runs": ("cli.runs_cmd:runs_group", "List run directories; prune unfinished ones."),
    "evaluate": ("cli.serving_cmd:evaluate_command", "Measure a trained model on labelled data."),
    "predict": ("cli.serving_cmd:predict_command", "Classify image files with a trained model."),
    "export": ("cli.serving_cmd:export_command", "Export a SavedModel for TensorFlow Serving."),
    "serve": ("cli.serving_cmd:serve_command", "Serve an export over TF Serving's REST API."),
    "plot": ("cli.understand_cmd:plot_command", "Draw training curves; overlay runs to compare."),
    "filters": ("cli.understand_cmd:filters_command", "Draw a convolution's learned filters."),
    "activations": (
        "cli.understand_cmd:activations_command",
        "Draw a layer's activation maps for an image.",
    ),
    "explain": (
        "cli.understand_cmd:explain_command",
        "Show where a model looks: Grad-CAM, saliency, occlusion...",
    ),
    "neighbors": (
        "cli.understand_cmd:neighbors_command",
        "Find the training images nearest in feature space.",
    ),
    "embed": ("cli.understand_cmd:embed_command", "Map the feature space to 2-D (PCA, t-SNE)."),
}


def _package_version() -> str:
    try:
        return version("keras-zoo")
    except PackageNotFoundError:
        return "unknown"


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(dict)["debug"] = True


def _debug_option() -> click.Option:
    """`--debug` for a sub-command: the same flag as the group's, later on the line."""
    return click.Option(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        callback=_set_debug,
        help="Show full tracebacks on errors.",
    )


def _add_debug_option(command: click.Command) -> None:
    """Adds `--debug` to a command and, for a group, to its sub-commands."""
    if not any(param.name == "debug" for param in command.params):
        command.params.append(_debug_option())
    if isinstance(command, click.Group):
        for sub_command in command.commands.values():
            _add_debug_option(sub_command)


class LazyGroup(click.Group):
    """A group that imports each sub-command's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[cmd_name][0].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        command.epilog = epilog(cmd_name, command.epilog)
        _add_debug_option(command)
        return command

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Sub-command names with their short help, without importing any command.

        click's own completion loads every matching command for its short
        help; the table above has it, and the shell gets its answer at once.
        """
        names = [
            CompletionItem(name, help=COMMANDS[name][1])
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        return [*names, *click.Command.shell_complete(self, ctx, incomplete)]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            from zoo.errors import did_you_mean

            hint = did_you_mean(name, COMMANDS, n=3, cutoff=0.6)
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Runs the command; click's usage errors become one line, like ours."""
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click.ClickException as error:
            context = getattr(error, "ctx", None)
            hint = f" (see '{context.command_path} --help')" if context else ""
            click.echo(f"error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context) -> Any:
        from recipes.data.noise import DECODER_WARNINGS, live_filtered_stderr

        # Shared with the sub-commands' contexts; `--debug` may be parsed after the filter starts.
        state = ctx.ensure_object(dict)
        try:
            # TensorFlow's decoders let libjpeg print "Corrupt JPEG data: N extraneous
            # bytes" for files that decode well, once per file and epoch, with no switch.
            with live_filtered_stderr(DECODER_WARNINGS, unless=lambda: state.get("debug", False)):
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:  # noqa: BLE001  (one line instead of a traceback)
            if ctx.obj and ctx.obj.get("debug"):
                raise
            from zoo.errors import ZooError  # TensorFlow-free, but needed only on failure

            if isinstance(error, ZooError):
                click.echo(f"error: {error}", err=True)
                ctx.exit(error.exit_code)
            lines = str(error).strip().splitlines() or [""]
            click.echo(
                f"error: {type(error).__name__}: {lines[0]} (run with --debug for the traceback)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_package_version(), "--version", prog_name="zoo")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """keras-zoo: build, train, fine-tune and export image classifiers."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    """Entry point for `python -m cli.main`."""
    cli(prog_name="zoo")


if __name__ == "__main__":
    sys.exit(main())
