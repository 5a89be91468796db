"""`zoo lr-find`: the learning-rate range test for a run's model and data."""

from __future__ import annotations

from typing import Any

import click

from cli.completion import complete_directory
from cli.options import SchemaOption, SectionedCommand, schema_options
from cli.output import echo_json, json_option, stdout_to_stderr
from cli.train_cmd import CONFIG_OPTION, resolve_run_config


def _range_option(*names: str, **settings: Any) -> Any:
    return click.option(*names, cls=SchemaOption, section="range test", **settings)


@click.command(
    "lr-find",
    cls=SectionedCommand,
)
@_range_option("--start-lr", type=float, default=1e-7, show_default=True, help="First rate.")
@_range_option("--end-lr", type=float, default=10.0, show_default=True, help="Last rate.")
@_range_option(
    "--steps", type=int, default=100, show_default=True, help="Steps (batches) from start to end."
)
@_range_option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False),
    shell_complete=complete_directory,
    help="Folder for lr_find.png and lr_find.json (default: runs/lr-find-NAME-TIME).",
)
@schema_options("search")
@CONFIG_OPTION
@json_option
def lr_find_command(
    start_lr: float,
    end_lr: float,
    steps: int,
    output_dir: str | None,
    as_json: bool,
    config_file: str | None,
    **flags: Any,
) -> None:
    """Find a learning rate: the range test of L. Smith, as fastai's lr_find.

    The rate grows exponentially from --start-lr to --end-lr, one batch a
    step, until the smoothed loss passes 4x its best; the model's weights are
    restored. With --arch the test trains the model from scratch; with --base,
    the new head on the frozen base (phase 1's rate).
    """
    from recipes.babysit.find_lr import lr_find
    from recipes.training.auto_lr import RangeSettings

    settings = RangeSettings(start_lr, end_lr, steps)
    settings.check()
    task = "finetune" if flags.get("base") else "train"
    if flags.get("base") and flags.get("arch"):
        raise click.UsageError("pass --arch (from scratch) or --base (fine-tuning), not both")
    config = resolve_run_config(task, flags, config_file)
    with stdout_to_stderr(as_json):
        result = lr_find(config, settings, output_dir)
    if as_json:
        echo_json(result)
        return
    click.echo(result["explanation"])
    click.echo(result["files"]["png"])
