"""`zoo bench`: throughput side by side with the plain-Keras way, in one run."""

from __future__ import annotations

import click

from cli.data_cmd import bench_data_command
from cli.output import echo_json, json_option, stdout_to_stderr


@click.group("bench")
def bench_group() -> None:
    """Measure throughput against the plain-Keras way (ratios, not absolute times)."""


@bench_group.command("train")
@click.option("--arch", default="resnet50", show_default=True)
@click.option("--image-size", type=click.IntRange(min=16), default=224, show_default=True)
@click.option("--classes", type=click.IntRange(2, 20), default=5, show_default=True)
@click.option("--images-per-class", type=click.IntRange(min=4), default=40, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--epochs", type=click.IntRange(min=2), default=3, show_default=True)
@click.option(
    "--data",
    "folder",
    type=click.Path(exists=True, file_okay=False),
    help="Image folder with class sub-folders (default: a generated one).",
)
@json_option
def bench_train_command(as_json: bool, **settings: object) -> None:
    """Training images/s: zoo defaults vs image_dataset_from_directory + fp32 fit."""
    from recipes.bench_train import measure_training

    with stdout_to_stderr(as_json):
        report = measure_training(**settings)
    if as_json:
        echo_json(report)
        return
    click.echo(
        f"| {report['arch']} @ {report['image_size']} px | precision | images/s (steady) "
        "| images/s (all epochs) |"
    )
    click.echo("|---|---|---|---|")
    for side in ("keras", "zoo"):
        row = report[side]
        click.echo(
            f"| {side} ({row['pipeline']}) | {row['precision']} | {row['images_per_second']} "
            f"| {row['images_per_second_all_epochs']} |"
        )
    click.echo(f"\nspeed-up (zoo / keras, steady state): {report['speedup']}x")


bench_group.add_command(bench_data_command, "data")
