"""`zoo bench`: throughput side by side with the plain-Keras way, in one run."""

from __future__ import annotations

from typing import Any

import click

from cli.commands import ZooGroup
from cli.completion import complete_architecture, complete_directory
from cli.examples import EXAMPLES, examples_block
from cli.options import count_option
from cli.output import echo_json, info, json_option, stdout_to_stderr
from recipes.config.schema import JIT_MODES, PRECISIONS


@click.group("bench", cls=ZooGroup)
def bench_group() -> None:
    """Measure throughput against the plain-Keras way (ratios, not absolute times)."""


@bench_group.command("train")
@click.option(
    "--arch",
    default="resnet50",
    show_default=True,
    shell_complete=complete_architecture,
    help="Architecture to train (see `zoo list`).",
)
@count_option("--image-size", low=16, default=224, help_text="Square input side in pixels.")
@click.option(
    "--classes",
    type=click.IntRange(2, 20),
    default=5,
    show_default=True,
    help="Classes of the generated folder.",
)
@count_option(
    "--images-per-class", low=4, default=40, help_text="Images per class of the generated folder."
)
@count_option("--batch-size", low=1, default=32, help_text="Batch size.")
@count_option(
    "--epochs",
    low=2,
    default=3,
    help_text="Epochs of each side; the first is left out of the steady-state rate.",
)
@click.option(
    "--data",
    "folder",
    type=click.Path(exists=True, file_okay=False),
    shell_complete=complete_directory,
    help="Image folder with class sub-folders (default: a generated one).",
)
@json_option
def bench_train_command(as_json: bool, **settings: object) -> None:
    """Training images/s: zoo defaults vs image_dataset_from_directory + fp32 fit."""
    from recipes.bench.train import measure_training

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


@bench_group.command("data")
@click.argument(
    "data_dir",
    metavar="[DIR]",
    required=False,
    type=click.Path(),
    shell_complete=complete_directory,
)
@count_option("--epochs", low=1, default=3, help_text="Passes over the data per round.")
@count_option("--image-size", low=8, default=160, help_text="Square side both pipelines resize to.")
@count_option("--batch-size", low=1, default=32, help_text="Batch size.")
@count_option(
    "--rounds", low=1, default=3, help_text="Timed runs of each pipeline; the median is reported."
)
@count_option(
    "--images",
    "images_per_class",
    low=2,
    default=300,
    help_text="Without DIR: images per class of the generated folder (10 classes).",
)
@count_option(
    "--source-size", low=8, default=256, help_text="Without DIR: side of the generated JPEG files."
)
@json_option
def bench_data_command(
    data_dir: str | None,
    epochs: int,
    image_size: int,
    batch_size: int,
    rounds: int,
    images_per_class: int,
    source_size: int,
    as_json: bool,
) -> None:
    """Images/s of the zoo's data pipeline vs keras.utils.image_dataset_from_directory.

    Both read DIR (default: a generated folder of shapes JPEG files) for
    --epochs epochs in the same process, timed from building the pipeline to
    the end of the last epoch.
    """
    from recipes.bench.data import measure_throughput

    with stdout_to_stderr(as_json):
        report = measure_throughput(
            data_dir,
            epochs=epochs,
            image_size=image_size,
            batch_size=batch_size,
            rounds=rounds,
            images_per_class=images_per_class,
            source_size=source_size,
            progress=info,
        )
    if as_json:
        echo_json(report)
    else:
        click.echo(markdown_table(report))


def markdown_table(report: dict[str, Any]) -> str:
    """The data benchmark as a markdown table.

    Args:
        report: What `recipes.bench.data.measure_throughput` returns.

    Returns:
        The table and a line with the ratio.
    """
    height, width = report["image_size"]
    zoo_images, keras_images = (
        "-" if report[key] is None else report[key] for key in ("images", "keras_images")
    )
    lines = [
        f"{zoo_images} images (zoo), {keras_images} images (keras) from "
        f"{report['read_dir'] or report['data_dir']}; {report['epochs']} epochs at "
        f"{height}x{width}, batch {report['batch_size']}, median of {report['rounds']} rounds",
        "",
        "| pipeline | images/s | seconds | setup s | epoch s |",
        "|---|---:|---:|---:|---|",
    ]
    for side in ("zoo", "keras"):
        row = report[side]
        if "error" in row:
            lines.append(f"| {side}: {row['pipeline']} | failed: {row['error']} | | | |")
            continue
        epochs = " / ".join(f"{seconds:.2f}" for seconds in row["epoch_seconds"])
        lines.append(
            f"| {side}: {row['pipeline']} | {row['images_per_second']:.0f} | "
            f"{row['seconds']:.2f} | {row['setup_seconds']:.2f} | {epochs} |"
        )
    lines.append("")
    if report["ratio"] is not None:
        lines.append(
            f"speed-up (zoo / keras, images/s over {report['epochs']} epochs): {report['ratio']}x"
        )
    return "\n".join(lines)


@bench_group.command(
    "model",
    epilog=examples_block(
        [line for line in EXAMPLES["bench"] if line.startswith("zoo bench model")]
    ),
)
@click.option(
    "--arch",
    required=True,
    shell_complete=complete_architecture,
    help="Architecture to measure (see `zoo list`).",
)
@click.option(
    "--mode",
    type=click.Choice(["train", "infer", "both"]),
    default="both",
    show_default=True,
    help="Measure training, inference (throughput and latency) or both.",
)
@count_option("--batch-size", low=1, default=32, help_text="Images per step.")
@click.option(
    "--image-size",
    type=click.IntRange(min=1),
    help="Square input side in pixels (default: the architecture's).",
)
@count_option("--classes", low=2, default=1000, help_text="Classes of the classifier.")
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="auto",
    show_default=True,
    help="The zoo side's precision (auto: as zoo train); the Keras side is fp32.",
)
@click.option(
    "--jit",
    type=click.Choice(JIT_MODES),
    default="auto",
    show_default=True,
    help="The zoo side's XLA compilation (auto: on GPUs, as zoo train).",
)
@click.option(
    "--strategy",
    type=click.Choice(["default", "mirrored"]),
    default="default",
    show_default=True,
    help="The zoo side's tf.distribute strategy (mirrored: over this machine's GPUs).",
)
@count_option("--steps", low=1, default=10, help_text="Steps of each timed round.")
@count_option(
    "--rounds",
    low=1,
    default=2,
    help_text="Timed rounds of each side, alternating; the best is reported.",
)
@json_option
def bench_model_command(as_json: bool, **settings: Any) -> None:
    """Params, MACs, images/s, latency, memory and MFU: the zoo's way vs plain Keras.

    Both sides run the architecture on one synthetic batch in this process:
    the zoo's model as `zoo train` compiles it, and the keras.applications
    model (weights=None) or, for the zoo's own architectures, the same network
    with Keras' BatchNormalization, in fp32 with fit and predict. MFU divides
    the achieved FLOP/s by a matmul peak measured in the same run and precision.
    """
    from recipes.bench.model import measure_model

    with stdout_to_stderr(as_json):
        report = measure_model(**settings)
    if as_json:
        echo_json(report)
    else:
        click.echo(model_table(report))


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.2f}%"


def model_table(report: dict[str, Any]) -> str:
    """The model benchmark as a markdown table, its ratios and the peak footnote.

    Args:
        report: What `recipes.bench.model.measure_model` returns.

    Returns:
        The text to print.
    """
    size = report["image_size"]
    lines = [
        f"{report['arch']} @ {size}x{size}, batch {report['batch_size']}, "
        f"{report['classes']} classes: {report['params'] / 1e6:.2f} M params, "
        f"{_scaled(report['macs'], 'MACs')} ({_scaled(report['forward_flops'], 'FLOPs')} "
        f"forward per image); {report['device']}",
        f"{report['timing']}; synthetic data",
        "",
        "| side | precision | jit | train img/s | train MFU [1] | infer img/s | infer MFU [1] "
        "| latency p50 / p95 ms |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in ("zoo", "keras"):
        side = report[name]
        train, infer, latency = (side.get(key, {}) for key in ("train", "infer", "latency"))
        mfu = [_percent(part.get("mfu")) for part in (train, infer)]
        lines.append(
            f"| {name}: {side['model']} | {side['precision']} | {'on' if side['jit'] else 'off'} "
            f"| {_number(train.get('images_per_second'))} | {mfu[0]} "
            f"| {_number(infer.get('images_per_second'))} | {mfu[1]} "
            f"| {_number(latency.get('p50_ms'), 2)} / {_number(latency.get('p95_ms'), 2)} |"
        )
    ratios = report["ratios"]
    shown = [
        f"{label} {ratios[key]}x"
        for key, label in (
            ("train_images_per_second", "training images/s"),
            ("infer_images_per_second", "inference images/s"),
            ("latency_p50", "latency p50 (lower is faster)"),
        )
        if ratios.get(key) is not None
    ]
    memory = report["memory"]
    gpu = memory["gpu_peak_bytes"]
    lines += [
        "",
        f"zoo / keras: {', '.join(shown) or '-'}",
        f"peak memory: {memory['peak_rss_bytes'] / 2**20:,.0f} MiB RSS (whole process)"
        + ("" if gpu is None else f", {gpu / 2**20:,.0f} MiB on GPU:0"),
        "",
        "[1] achieved FLOP/s (training 3x, inference 1x the forward FLOPs per image) over "
        "the matmul peak of the same run and precision:",
    ]
    for precision, peak in report["peak"].items():
        lines.append(
            f"    {precision}: {peak['flops_per_second'] / 1e9:,.1f} GFLOP/s, {peak['method']}"
        )
    return "\n".join(lines)


def _scaled(count: float, unit: str) -> str:
    """`count` with the largest SI prefix that keeps it at 1 or more: 328.1 kMACs, 1.82 GMACs."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= factor:
            return f"{count / factor:.3g} {prefix}{unit}"
    return f"{count:.0f} {unit}"
