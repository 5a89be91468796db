"""`zoo search` and `zoo search report`: hyper-parameter search on keras-tuner."""

from __future__ import annotations

import os
from typing import Any

import click

from cli.commands import ZooGroup
from cli.completion import complete_directory
from cli.options import SchemaOption, SectionedCommand, given_settings, schema_options
from cli.output import echo_json, info, json_option, stdout_to_stderr

TUNERS = ("random", "grid", "bayesian", "hyperband")
OBJECTIVES = ("val_accuracy", "val_loss")


class SearchGroup(ZooGroup, SectionedCommand):
    """`zoo search [OPTIONS]` runs a study; `zoo search report STUDY` reads one."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        SectionedCommand.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)


def _search_option(*names: str, **settings: Any) -> Any:
    return click.option(*names, cls=SchemaOption, section="search", **settings)


@click.group(
    "search",
    cls=SearchGroup,
    invoke_without_command=True,
)
@_search_option(
    "--tuner",
    type=click.Choice(TUNERS, case_sensitive=False),
    default="random",
    show_default=True,
    help="keras-tuner's search: RandomSearch, GridSearch, BayesianOptimization or Hyperband.",
)
@_search_option("--max-trials", type=int, default=10, show_default=True, help="Trials to run.")
@_search_option(
    "--epochs",
    "trial_epochs",
    type=int,
    default=5,
    show_default=True,
    help="Epochs per trial (for --base: of phase 2; the most, for hyperband).",
)
@_search_option(
    "--objective",
    type=click.Choice(OBJECTIVES, case_sensitive=False),
    default="val_accuracy",
    show_default=True,
    help="What the trials are compared on (their best epoch).",
)
@_search_option(
    "--executions-per-trial",
    type=int,
    default=1,
    show_default=True,
    help="Runs per trial; their objectives are averaged.",
)
@_search_option(
    "--space",
    "space_file",
    type=click.Path(dir_okay=False),
    help="YAML file that defines, narrows or fixes search parameters.",
)
@_search_option(
    "--output",
    "study_dir",
    shell_complete=complete_directory,
    help="Study directory (default: runs/search-NAME-TIME).",
)
@_search_option("--resume", is_flag=True, help="Continue the study in --output.")
@_search_option("--overwrite", is_flag=True, help="Start the study in --output again.")
@_search_option(
    "--retrain-best",
    "retrain_epochs",
    type=int,
    default=0,
    help="Then train the best configuration into a run for this many epochs.",
)
@_search_option(
    "--tuner-id",
    help="keras-tuner's chief/worker mode: 'chief', or a worker's name (sets KERASTUNER_TUNER_ID).",
)
@_search_option(
    "--oracle",
    "oracle_address",
    metavar="HOST:PORT",
    help="Where the chief serves the oracle (sets KERASTUNER_ORACLE_IP and _PORT).",
)
@schema_options("search")
@click.option("--config", "config_file", cls=SchemaOption, section="run",
              type=click.Path(dir_okay=False),
              help="YAML run configuration the trials start from.")  # fmt: skip
@json_option
@click.pass_context
def search_group(ctx: click.Context, **options: Any) -> None:
    """Search hyper-parameters with keras-tuner: each trial is a real zoo train or finetune run.

    --arch A (or A,B,C to choose among architectures) searches training from
    scratch; --base B searches the two phases of fine-tuning as one unit.
    """
    if ctx.invoked_subcommand is not None:
        return
    _run_search(options)


def _run_search(options: dict[str, Any]) -> None:
    from recipes.config import flatten, load_config_file
    from recipes.search.tuning import SearchRequest, search

    as_json = options.pop("as_json")
    config_file = options.pop("config_file")
    tuner_id, oracle = options.pop("tuner_id"), options.pop("oracle_address")
    if tuner_id:
        os.environ["KERASTUNER_TUNER_ID"] = tuner_id
    if oracle:
        host, _, port = oracle.rpartition(":")
        os.environ["KERASTUNER_ORACLE_IP"], os.environ["KERASTUNER_ORACLE_PORT"] = host, port
    request = SearchRequest(
        settings={},
        tuner=options.pop("tuner").lower(),
        max_trials=options.pop("max_trials"),
        epochs=options.pop("trial_epochs"),
        objective=options.pop("objective").lower(),
        executions=options.pop("executions_per_trial"),
        space_file=options.pop("space_file"),
        output=options.pop("study_dir"),
        resume=options.pop("resume"),
        overwrite=options.pop("overwrite"),
        retrain_epochs=options.pop("retrain_epochs"),
    )
    file_settings = flatten(load_config_file(config_file), config_file) if config_file else {}
    request.settings = {**file_settings, **given_settings(options)}
    with stdout_to_stderr(as_json):
        result = search(request)
    if as_json:
        echo_json(result)
        return
    if "worker" in result:
        click.echo(f"worker {result['worker']} done: {result['study']}")
        return
    click.echo(format_report(result))


@search_group.command("report")
@click.argument("study", metavar="STUDY", type=click.Path(), shell_complete=complete_directory)
@json_option
def report_command(study: str, as_json: bool) -> None:
    """Show a study: the trials, the best one, which parameters mattered, what to search next."""
    from recipes.search.results import report
    from recipes.search.study import StudyLayout

    result = report(StudyLayout(study))
    if as_json:
        echo_json(result)
    else:
        click.echo(format_report(result))


def format_report(result: dict[str, Any]) -> str:
    """A study's report as text for a person.

    Args:
        result: What `recipes.search.results.report` returns.

    Returns:
        The table, the best trial, the importance ranking and the warnings.
    """
    rows = result["trials"]
    names: list[str] = []
    for row in rows:
        names.extend(name for name in row["values"] if name not in names)
    objective = result["objective"]
    lines = [f"study {result['study']} ({result['tuner']}, {result['mode']}): {len(rows)} trials"]
    header = ["trial", "status", *names, objective, "epoch", "seconds"]
    table = [header]
    for row in rows:
        value = "" if row["objective"] is None else f"{row['objective']:.4f}"
        table.append(
            [str(row["trial"]), row["status"], *(_cell(row["values"].get(n)) for n in names),
             value, str(row["best_epoch"] or ""), f"{row['seconds']:.0f}"]
        )  # fmt: skip
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines.extend(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in table
    )
    best = result["best"]
    if best:
        lines.append(f"best: trial {best['trial']}, {objective} {best['objective']:.4f}")
        if result.get("best_config"):
            lines.append(f"  train it: zoo {result['mode']} --config {result['best_config']}")
    for row in rows:
        if row["failure"]:
            info(f"trial {row['trial']} failed: {row['failure']}")
    scores = result["importance"]["scores"]
    if scores:
        ranked = ", ".join(f"{name} {share:.0%}" for name, share in scores.items())
        lines.append(f"importance ({result['importance']['method']}): {ranked}")
    lines.extend(f"warning: {warning}" for warning in result["warnings"])
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)
