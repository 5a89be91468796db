"""`zoo list` and `zoo info`: what the zoo holds."""

from __future__ import annotations

from typing import Any

import click

from cli.commands import ZooCommand
from cli.completion import complete_architecture
from cli.output import echo_json, json_option


@click.command("list", cls=ZooCommand, tensorflow_first=False)  # never needs it
@click.argument("pattern", required=False, shell_complete=complete_architecture)
@json_option
def list_command(pattern: str | None, as_json: bool) -> None:
    """List the architectures, optionally those matching PATTERN (e.g. 'resnet*')."""
    from zoo.names import CATALOG, matching

    rows = [CATALOG[name] for name in matching(pattern)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"No architecture matches {pattern!r}; run `zoo list` to see them all.")
        return
    click.echo(f"{'name':<22} {'family':<16} {'params':>13} {'classes':>7} {'input':>6}  weights")
    for row in rows:
        weights = ",".join(row["weights"]) or "-"
        click.echo(
            f"{row['name']:<22} {row['family']:<16} {row['params']:>13,} "
            f"{row['classes']:>7} {row['input_size']:>6}  {weights}"
        )


@click.command("info", cls=ZooCommand, tensorflow_first=False)  # the catalog, or a build
@click.argument("name", shell_complete=complete_architecture)
@click.option(
    "--classes",
    type=click.IntRange(min=1),
    default=None,
    help="Classes of the top (default: the architecture's paper's, e.g. 10 for lenet5).",
)
@click.option(
    "--image-size",
    type=click.IntRange(min=1),
    default=None,
    help="Square input side in pixels (default: the architecture's).",
)
@json_option
def info_command(name: str, classes: int | None, image_size: int | None, as_json: bool) -> None:
    """Show one architecture: parameters, multiply-adds, input, preprocessing, paper."""
    from zoo.names import CATALOG, canonical_name

    name = canonical_name(name)  # a mistyped name is refused before TensorFlow loads
    entry = dict(CATALOG[name])
    if classes is not None or image_size is not None:  # another build: count it
        entry.update(_counted(name, classes, image_size))
    document = {
        key: entry[key]
        for key in (
            "name", "family", "aliases", "description", "params", "trainable_params", "macs",
            "input_shape", "min_input_size", "classes", "preprocessing", "weights", "paper",
            "options",
        )
    }  # fmt: skip
    if as_json:
        echo_json(document)
        return
    for key, value in document.items():
        if isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        elif isinstance(value, list | dict):
            value = (
                ", ".join(f"{k}={v}" for k, v in value.items())
                if isinstance(value, dict)
                else ", ".join(str(v) for v in value)
            )
        click.echo(f"{key.replace('_', ' '):>17}: {value or '-'}")


def _counted(name: str, classes: int | None, image_size: int | None) -> dict[str, Any]:
    """Parameters, MACs and input of a build other than the default one (loads TensorFlow)."""
    from recipes.data.noise import import_tensorflow_quietly

    import_tensorflow_quietly()
    from zoo.names import CATALOG, counted_build

    counts = counted_build(name, classes, image_size)
    return {**counts, "classes": CATALOG[name]["classes"] if classes is None else classes}
