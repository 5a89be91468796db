"""`zoo data check` and `zoo bench data`: what is in an image folder, and how fast it loads.

TensorFlow is imported inside the commands, so importing this module is cheap.
"""

from __future__ import annotations

from typing import Any

import click

from cli.output import echo_json, info, json_option, stdout_to_stderr

_DEFAULT_MAX_PIXELS = 89_478_485  # recipes.images.DEFAULT_MAX_PIXELS, without importing it


@click.group("data")
def data_group() -> None:
    """Check image folders before training on them."""


@data_group.command("check")
@click.argument("data_dir", metavar="DIR", type=click.Path())
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=_DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Report images with more pixels (width x height) as bad.",
)
@json_option
def check_command(data_dir: str, max_pixels: int, as_json: bool) -> None:
    """Decode every image in DIR with the training decoder and report what it finds.

    DIR holds one sub-folder per class, or train/, val/ (or validation/) and
    test/ folders of class sub-folders. Bad files are listed with the reason
    and are skipped by training; they do not make the check fail. The exit
    code is 2 when DIR is missing or holds no usable image.
    """
    from recipes.data import scan
    from zoo.errors import UsageError

    with stdout_to_stderr(as_json):
        report = scan(data_dir, max_pixels=max_pixels)
    if as_json:
        echo_json(report)
    else:
        click.echo(format_check(report))
    if report["images"]["usable"] == 0:
        raise UsageError(
            f"{data_dir} holds no usable image; put JPEG, PNG, GIF or BMP files in one "
            "sub-folder per class."
        )


def format_check(report: dict[str, Any]) -> str:
    """The `zoo data check` report as text for a person.

    Args:
        report: What `recipes.data.scan` returns.

    Returns:
        Several lines of text.
    """
    images = report["images"]
    lines = [
        f"{report['data_dir']}: {len(report['classes'])} classes, {images['usable']} usable "
        f"images of {images['files']} files ({images['bad']} bad, {images['converted']} "
        f"converted, {len(report['ignored'])} ignored)"
    ]
    counts = report["counts"]
    if report["layout"] == "splits":
        header = list(counts)
        table = {
            name: [counts[split].get(name, 0) for split in header] for name in report["classes"]
        }
    else:
        header = ["images"]
        table = {name: [counts.get(name, 0)] for name in report["classes"]}
    width = max([len("class")] + [len(name) for name in table])
    lines.append(f"  {'class':<{width}}  " + "  ".join(f"{h:>7}" for h in header))
    for name, row in table.items():
        lines.append(f"  {name:<{width}}  " + "  ".join(f"{value:>7}" for value in row))
    if images["usable"]:
        w, h = images["width"], images["height"]
        formats = ", ".join(f"{key} {value}" for key, value in images["formats"].items())
        lines.append(
            f"image sizes: width {w['min']}-{w['max']} (mean {w['mean']}), "
            f"height {h['min']}-{h['max']} (mean {h['mean']}); {formats}"
        )
    for title, key in (("bad files (skipped)", "bad"), ("converted with Pillow", "converted")):
        if report[key]:
            lines.append(f"{title}:")
            lines.extend(f"  {entry['path']}: {entry['reason']}" for entry in report[key])
    if report["unused_folders"]:
        folders = ", ".join(f"{name}/" for name in report["unused_folders"])
        lines.append(
            f"folders not used (only train/, val/ or validation/ and test/ folders of class "
            f"sub-folders are read): {folders}"
        )
    if report["ignored"]:
        lines.append(f"ignored: {len(report['ignored'])} files or folders (--json lists them)")
    if report["problems"]:
        lines.append("training would refuse this data:")
        lines.extend(f"  {problem}" for problem in report["problems"])
    return "\n".join(lines)


@click.command("data")
@click.argument("data_dir", metavar="[DIR]", required=False, type=click.Path())
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--image-size",
    type=click.IntRange(min=8),
    default=160,
    show_default=True,
    help="Square side both pipelines resize to.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Timed runs of each pipeline; the median is reported.",
)
@click.option(
    "--images",
    "images_per_class",
    type=click.IntRange(min=2),
    default=300,
    show_default=True,
    help="Without DIR: images per class of the generated folder (10 classes).",
)
@click.option(
    "--source-size",
    type=click.IntRange(min=8),
    default=256,
    show_default=True,
    help="Without DIR: side of the generated JPEG files.",
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
    from recipes.data import measure_throughput

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
        report: What `recipes.data.measure_throughput` returns.

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
