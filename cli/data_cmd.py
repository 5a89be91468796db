"""`zoo data check`: what is in an image folder, judged the way training reads it.

TensorFlow is imported inside the command, so importing this module is cheap.
"""

from __future__ import annotations

from typing import Any

import click

from cli.commands import ZooGroup
from cli.options import SectionedCommand, schema_options
from cli.output import echo_json, json_option, stdout_to_stderr


@click.group("data", cls=ZooGroup)
def data_group() -> None:
    """Check image folders before training on them."""


@data_group.command("check", cls=SectionedCommand)
@click.argument("data_dir", metavar="DIR", type=click.Path())
@schema_options("data-check")
@json_option
def check_command(data_dir: str, max_pixels: int | None, as_json: bool) -> None:
    """Decode every image in DIR with the training decoder and report what it finds.

    DIR holds one sub-folder per class, or train/, val/ (or validation/) and
    test/ folders of class sub-folders. Bad files are listed with the reason
    and are skipped by training; they do not make the check fail. Like a
    linter, the check exits with 2 (after the report) when training would
    refuse the data with its default settings: no usable image, fewer than two
    classes, a class with no usable image or missing from a split, or a class
    too small for the validation split; and with 2 when DIR is missing.
    """
    from recipes.config.schema import DEFAULT_MAX_PIXELS
    from recipes.data import scan
    from zoo.errors import UsageError

    with stdout_to_stderr(as_json):
        report = scan(data_dir, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
    if as_json:
        echo_json(report)
    else:
        click.echo(format_check(report))
    if report["images"]["usable"] == 0:
        raise UsageError(
            f"{data_dir} holds no usable image; put JPEG, PNG, GIF or BMP files in one "
            "sub-folder per class."
        )
    problems = report["problems"]
    if problems:
        extra = len(problems) - 1
        more = f" (and {extra} more in the report)" if extra else ""
        raise UsageError(f"Training would refuse {data_dir}: {problems[0]}{more}.")


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
