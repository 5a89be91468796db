"""`zoo runs`: the run directories under a folder, and pruning the unfinished ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

from cli.commands import ZooGroup
from cli.completion import complete_directory
from cli.output import echo_json, info, json_option

DEFAULT_FOLDER = "runs"


class RunsGroup(ZooGroup):
    """`zoo runs [DIR]` lists (the `list` sub-command); `zoo runs prune` prunes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        completing = ctx.resilient_parsing and not args  # `zoo runs <TAB>`: see shell_complete
        if not completing and (
            not args or (args[0] not in self.commands and args[0] not in ("-h", "--help"))
        ):
            args = ["list", *args]
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """`list`, `prune`, or the shell's directory names (DIR of `list`)."""
        return [
            *complete_directory(ctx, self, incomplete),
            *super().shell_complete(ctx, incomplete),
        ]

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[DIR] [--json]")
        formatter.write_usage(ctx.command_path, "prune [DIR] [OPTIONS]")


_FOLDER_ARGUMENT = click.argument(
    "folder",
    required=False,
    metavar="[DIR]",
    type=click.Path(path_type=Path),
    shell_complete=complete_directory,
)


@click.group("runs", cls=RunsGroup)
def runs_group() -> None:
    """List the run directories under DIR (default: runs), or prune them.

    Each run shows its architecture (or fine-tuning base), data, status
    (finished, interrupted, running, or broken when its config.yaml cannot be
    read), best validation and test accuracy, epochs done of those planned,
    size on disk and when it last wrote a file.
    """


@runs_group.command("list", tensorflow_first=False)  # never needs it
@_FOLDER_ARGUMENT
@json_option
def list_command(folder: Path | None, as_json: bool) -> None:
    """List the run directories under DIR (default: runs)."""
    runs = _runs_in(folder)
    if as_json:
        echo_json([run.to_dict() for run in runs])
        return
    where = folder or Path(DEFAULT_FOLDER)
    if not runs:
        click.echo(f"No run directories in {where}.")
        return
    click.echo(_table(runs))
    total = sum(run.size_bytes for run in runs if not run.link)  # a link's run is elsewhere
    click.echo(f"{_count(len(runs), 'run')} in {where}, {_size(total)} in all.")


@runs_group.command("prune", tensorflow_first=False)
@_FOLDER_ARGUMENT
@click.option(
    "--interrupted",
    is_flag=True,
    help="Remove the runs that did not finish: interrupted, or broken (unreadable "
    "config.yaml). The default when neither --interrupted nor --finished is given.",
)
@click.option(
    "--finished", is_flag=True, help="Remove finished runs (with --older-than: old ones)."
)
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    metavar="DAYS",
    help="Only the runs that last wrote a file more than DAYS days ago.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("--yes", "-y", is_flag=True, help="Remove without asking first.")
@json_option
def prune_command(
    folder: Path | None,
    interrupted: bool,
    finished: bool,
    older_than: float | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Remove run directories under DIR (default: runs): by default the unfinished ones.

    A running run (one a process holds the lock of), a symbolic link, and
    anything that is not a run directory are never removed. It lists what
    goes and asks first, unless --yes; --dry-run only lists.
    """
    from recipes.runs import prune_candidates, remove_runs

    runs = _runs_in(folder)
    where = folder or Path(DEFAULT_FOLDER)
    chosen = prune_candidates(
        runs, interrupted=interrupted, finished=finished, older_than=older_than
    )
    size = sum(run.size_bytes for run in chosen)
    running = [run for run in runs if run.status == "running"]
    if running and not as_json:
        info(f"left alone: {_count(len(running), 'running run')}")
    if dry_run:
        if as_json:
            echo_json(
                {"dry_run": True, "would_remove": [r.to_dict() for r in chosen], "bytes": size}
            )
        elif chosen:
            click.echo(_table(chosen))
            click.echo(f"Would remove {_count(len(chosen), 'run')}, {_size(size)}.")
        else:
            click.echo(f"Nothing to prune in {where}.")
        return
    if chosen and not yes:
        click.echo(_table(chosen), err=as_json)
        question = f"Remove {_count(len(chosen), 'run')} ({_size(size)})?"
        if not click.confirm(question, default=False, err=True):
            info("Nothing removed.")
            chosen = []
            if not as_json:
                return
    elif not chosen and not as_json:
        click.echo(f"Nothing to prune in {where}.")
        return
    result = remove_runs(where, chosen)
    if as_json:
        echo_json({"dry_run": False, **result.to_dict()})
    else:
        for run, reason in result.kept:
            info(f"kept {run.path}: {reason}")
        click.echo(f"Removed {_count(len(result.removed), 'run')}, {_size(result.freed_bytes)}.")
    if result.kept:
        click.get_current_context().exit(1)


def _runs_in(folder: Path | None) -> list[Any]:
    """The runs of `folder`; none when the default folder does not exist yet."""
    from recipes.runs import list_runs

    if folder is None and not Path(DEFAULT_FOLDER).exists():
        return []
    return list_runs(folder or DEFAULT_FOLDER)


_COLUMNS = ("RUN", "STATUS", "MODEL", "DATA", "EPOCHS", "BEST VAL", "TEST", "SIZE", "DATE")
_RIGHT = {"EPOCHS", "BEST VAL", "TEST", "SIZE"}


def _table(runs: list[Any]) -> str:
    """The runs as an aligned text table, one line each."""
    rows = [_COLUMNS, *(_row(run) for run in runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if name in _RIGHT else cell.ljust(width)
            for name, cell, width in zip(_COLUMNS, row, widths, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _row(run: Any) -> tuple[str, ...]:
    done = "-" if run.epochs_done is None else str(run.epochs_done)
    planned = "-" if run.epochs_planned is None else str(run.epochs_planned)
    status = run.status + (f" (pid {run.pid})" if run.pid else "")
    return (
        run.name + (" ->" if run.link else ""),
        status,
        Path(run.model).name if run.model else "-",
        run.data or "-",
        f"{done}/{planned}",
        _score(run.best_val_accuracy),
        _score(run.test_accuracy),
        _size(run.size_bytes),
        run.date[:16].replace("T", " ") if run.updated else "-",
    )


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    scaled = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        scaled /= 1000
        if scaled < 1000 or unit == "TB":
            break
    return f"{scaled:.1f} {unit}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
