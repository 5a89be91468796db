"""`zoo ensemble`: average the predictions of several trained runs in one model."""

from __future__ import annotations

from typing import Any

import click

from cli.completion import complete_directory, complete_run
from cli.options import SectionedCommand, schema_options
from cli.output import echo_json, info, json_option, stdout_to_stderr

_RUNS_HELP = (
    "Each RUN is a run directory written by `zoo train`/`zoo finetune`; all share their "
    "class names, in the same order."
)


@click.command("ensemble", epilog=_RUNS_HELP, cls=SectionedCommand)
@click.argument("runs", nargs=-1, required=True, metavar="RUN RUN...", shell_complete=complete_run)
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    shell_complete=complete_directory,
    help="The ensemble's run directory (default: runs/ensemble-TIMESTAMP); never overwritten.",
)
@schema_options("evaluate")
@json_option
def ensemble_command(
    runs: tuple[str, ...],
    output: str | None,
    data_dir: str | None,
    dataset: str | None,
    tfds_dir: str | None,
    batch_size: int | None,
    as_json: bool,
) -> None:
    """Average the softmax of RUN RUN... in one model, and measure it against each run.

    The ensemble is a run directory for `zoo evaluate`, `predict`, `export` and
    `serve`. Each run keeps its own input size and preprocessing; the ensemble
    takes the largest size and resizes for the others. All are measured on the
    test split (else the validation split) of --data, or of the first run's data.
    """
    from recipes.config.schema import SETTINGS
    from recipes.ensemble import make_ensemble

    with stdout_to_stderr(as_json):
        result = make_ensemble(
            list(runs),
            output=output,
            data_dir=data_dir,
            dataset=dataset,
            tfds_dir=tfds_dir,
            batch_size=batch_size or SETTINGS["batch_size"].default,
        )
    if as_json:
        echo_json(result)
    else:
        _print_comparison(result, list(runs))
    for warning in result["warnings"]:
        info(f"warning: {warning}")


def _print_comparison(result: dict[str, Any], runs: list[str]) -> None:
    members = result["members"]
    names = [*runs, result["run_dir"]]
    width = max(len(name) for name in names)

    def line(kind: str, name: str, size: list[int], scores: dict[str, Any], note: str) -> None:
        click.echo(
            f"{kind:<8}  {name:<{width}}  {size[0]}x{size[1]:<4}  "
            f"top-1 {scores['accuracy']:>7.2%}  loss {scores['loss']:.4f}{note}"
        )

    for run, member in zip(runs, members, strict=True):
        note = "  best" if member["run"] == result["best_member"] else ""
        line("member", run, member["input_size"], member, note)
    gain = f"  {result['gain'] * 100:+.2f} points over the best member"
    line("ensemble", result["run_dir"], result["input_size"], result, gain)
    click.echo(f"{result['split']} split of {result['data']}: {result['images']} images")
