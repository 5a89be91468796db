"""`zoo weights`: the ImageNet weights in Keras' cache (list, fetch, import)."""

from __future__ import annotations

from typing import Any

import click

from cli.commands import ZooGroup
from cli.completion import complete_architecture
from cli.output import echo_json, json_option, stdout_to_stderr

_TOP_OPTION = click.option(
    "--top/--no-top",
    "include_top",
    default=None,
    help="Only the file with (--top) or without (--no-top) the ImageNet classifier "
    "[default: both, or for import: decided by the file's hash].",
)


@click.group("weights", cls=ZooGroup)
def weights_group() -> None:
    """Manage the ImageNet weights cache (list, fetch, import).

    The files are Keras' own, in Keras' cache ($KERAS_HOME/models or ~/.keras/models),
    so the zoo and keras.applications share them. On a machine without network,
    download a file elsewhere and `zoo weights import NAME FILE` it.
    """


@weights_group.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """List the ImageNet weights files and whether each is cached."""
    from zoo import weights

    rows = weights.list_weights()
    if as_json:
        echo_json(rows)
        return
    cached = sum(row["cached"] for row in rows)
    click.echo(f"Keras cache: {weights.cache_dir()} ({cached} of {len(rows)} files cached)")
    click.echo(f"{'name':<22} {'variant':<7} {'cached':<6}  file")
    for row in rows:
        mark = "yes" if row["cached"] else "-"
        click.echo(f"{row['name']:<22} {row['variant']:<7} {mark:<6}  {row['file']}")


@weights_group.command("fetch")
@click.argument("name", shell_complete=complete_architecture)
@_TOP_OPTION
@json_option
def fetch_command(name: str, include_top: bool | None, as_json: bool) -> None:
    """Download NAME's ImageNet weights into Keras' cache."""
    from zoo import weights

    # Keras' download progress goes to stdout; keep stdout for the result.
    with stdout_to_stderr():
        rows = weights.fetch(name, include_top=include_top)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        state = "downloaded" if row["downloaded"] else "already cached"
        click.echo(f"{row['name']} ({row['variant']}): {state}: {row['path']}")


@weights_group.command("import")
@click.argument("name", shell_complete=complete_architecture)
@click.argument("file", type=click.Path(dir_okay=False))
@_TOP_OPTION
@json_option
def import_command(name: str, file: str, include_top: bool | None, as_json: bool) -> None:
    """Copy FILE into Keras' cache as NAME's weights, after checking its hash."""
    from zoo import weights

    with stdout_to_stderr():
        path = weights.import_weights(name, file, include_top=include_top)
    row: dict[str, Any] = next(
        (r for r in weights.list_weights() if r["path"] == path),
        {"path": path},
    )
    if as_json:
        echo_json({**row, "source": file})
        return
    label = f"{row['name']} ({row['variant']})" if "variant" in row else name
    click.echo(f"Imported {file} as {label}: {path}")
