"""Writing an evaluation: the report as JSON, the confusion matrix as CSV and PNG.

Files are named after the split (and TTA): `evaluation-test.json`,
`confusion-test.csv` (rows: true class, columns: predicted),
`confusion-test.png` (with the class names) and `top-losses-test.png` (the
worst-classified images), in the run directory or next to a bare model file;
checkpoints and bare files get their name as a prefix.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path
from typing import Any

from recipes.run.canvas import new_figure, write_png
from recipes.run.trained import TrainedModel
from recipes.serving.mistakes import TopLosses
from zoo.atomic import atomic_write_text


def write_report(
    report: dict[str, Any],
    trained: TrainedModel,
    split: str,
    tta: str,
    output_dir: str | Path | None,
    mistakes: TopLosses | None = None,
) -> dict[str, str]:
    """Writes the evaluation as JSON, the confusion matrix as CSV and as a PNG.

    Args:
        report: What `recipes.serving.evaluate.evaluate` measured.
        trained: The evaluated model (its run directory is the default folder).
        split: The split measured.
        tta: The test-time augmentation used.
        output_dir: Another folder for the files.
        mistakes: The worst-classified images, drawn as `top-losses-SPLIT.png`.

    Returns:
        The paths written, by kind (`json`, `csv`, `png`, `top_losses`).
    """
    directory = Path(output_dir) if output_dir is not None else trained.output_dir
    directory.mkdir(parents=True, exist_ok=True)
    source = trained.source
    # A run's own model needs no prefix; checkpoints and bare files get theirs.
    prefix = "" if source is None or source.is_dir() else f"{source.stem}-"
    tag = split if tta == "none" else f"{split}-{tta}"
    files = {
        "json": directory / f"{prefix}evaluation-{tag}.json",
        "csv": directory / f"{prefix}confusion-{tag}.csv",
        "png": directory / f"{prefix}confusion-{tag}.png",
    }
    names = report["class_names"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["true \\ predicted", *names])
    for name, row in zip(names, report["confusion_matrix"], strict=True):
        writer.writerow([name, *row])
    atomic_write_text(files["csv"], buffer.getvalue())
    write_png(_confusion_figure(report, trained, split, tta), files["png"])
    if mistakes is not None:
        title = f"Highest loss: {model_label(trained)}, {split} split of {_data_label(report)}"
        drawn = mistakes.draw(directory / f"{prefix}top-losses-{tag}.png", names, title)
        if drawn is not None:
            files["top_losses"] = Path(drawn)
    written = {key: str(value) for key, value in files.items()}
    document = {**report, "files": written}
    if mistakes is not None:
        document["top_losses"] = mistakes.listed(names)
    atomic_write_text(files["json"], json.dumps(document, indent=2) + "\n")
    return written


NUMBERED_CLASSES = 30
"""Most classes whose cells show their counts: drawing text is slow, and each cell small."""


def model_label(trained: TrainedModel) -> str:
    """How a picture names the model: the run directory, and the checkpoint file if not its own."""
    source = trained.source
    if source is None:
        return trained.name
    if source.is_dir():
        return source.resolve().name
    if trained.run_dir is not None:
        return f"{trained.run_dir.resolve().name}/{source.name}"
    return source.name


def confusion_figure(
    matrix: Any, class_names: list[str], title: str, percentages: bool | None = None
) -> Any:
    """A confusion matrix drawn with its counts: true classes down, predicted across.

    Up to `NUMBERED_CLASSES` classes, each cell shows its count in a colour
    that stands out from the cell's (white on dark cells), in a font sized to
    the cells and the widest count; zeros are grey. Up to 12 classes, each
    count has its share of the true class under it. The colour bar counts
    images, in whole numbers.

    Args:
        matrix: Counts, `[true class, predicted class]`.
        class_names: The class names in label order.
        title: The figure's title (one or two lines).
        percentages: Whether to show each cell's share of its row (default:
            up to 12 classes).

    Returns:
        The figure.
    """
    import numpy as np
    from matplotlib.colors import Normalize
    from matplotlib.ticker import MaxNLocator

    matrix = np.asarray(matrix, dtype=np.int64)
    count = len(class_names)
    side = min(4.0 + 0.45 * count, 40.0)
    figure = new_figure(side + 1.5, side + 0.4)
    axes = figure.add_subplot()
    top = max(int(matrix.max()) if matrix.size else 0, 1)
    norm = Normalize(vmin=0, vmax=top)
    cmap = _colour_map()
    image = axes.imshow(matrix, cmap=cmap, norm=norm, interpolation="nearest")
    bar = figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    bar.set_label("images")
    axes.set_xticks(
        range(count), labels=class_names, rotation=45, ha="right", rotation_mode="anchor"
    )
    axes.set_yticks(range(count), labels=class_names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title, fontsize=11)
    if percentages is None:
        percentages = count <= 12
    size = _cell_font_size(side, count, len(str(top)), lines=2 if percentages else 1)
    if size is None or count > NUMBERED_CLASSES:
        axes.set_xlabel("predicted class (the counts are in the CSV file)")
        return figure
    rows = matrix.sum(axis=1)
    shares = percentages and size >= 6  # a second, smaller line must stay readable
    if shares:
        axes.set_xlabel("predicted class (under each count: its share of the true class)")
    for (row, column), value in np.ndenumerate(matrix):
        red, green, blue, _ = cmap(norm(value))
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
        colour = "white" if dark else ("#9a9a9a" if value == 0 else "black")
        share = shares and value and rows[row]
        style = dict(ha="center", va="center", color=colour, textcoords="offset points")
        axes.annotate(
            str(value), (column, row), xytext=(0, 0.55 * size if share else 0),
            fontsize=size, fontweight="bold" if row == column else "normal", **style,
        )  # fmt: skip
        if share:
            axes.annotate(
                f"{value / rows[row]:.0%}", (column, row), xytext=(0, -0.6 * size),
                fontsize=0.8 * size, **style,
            )  # fmt: skip
    return figure


def _colour_map() -> Any:
    import matplotlib

    return matplotlib.colormaps["Blues"]


def _cell_font_size(side: float, count: int, digits: int, lines: int = 1) -> float | None:
    """A font size in points whose numbers fit a cell, or `None` when none is readable.

    Args:
        side: The figure's height in inches.
        count: Cells per row.
        digits: Characters of the widest number.
        lines: Lines of text per cell.
    """
    cell_points = 72 * 0.75 * side / max(count, 1)  # the matrix takes about 3/4 of the figure
    high = cell_points * 0.75 / (1.2 * lines)
    wide = cell_points * 0.8 / (0.62 * max(digits, 4 if lines > 1 else 2))
    size = min(13.0, high, wide)
    return size if size >= 5 else None


def _confusion_figure(report: dict[str, Any], trained: TrainedModel, split: str, tta: str) -> Any:
    """The evaluation's confusion matrix, titled with the model, the data and the split."""
    details = f"accuracy {report['accuracy']:.1%} of {report['images']} images"
    if tta != "none":
        details += f", TTA {tta}"
    lines = [
        f"Confusion matrix: {model_label(trained)}",
        f"{split} split of {_data_label(report)}; {details}",
    ]
    title = "\n".join(textwrap.fill(line, _TITLE_WIDTH) for line in lines)
    return confusion_figure(report["confusion_matrix"], report["class_names"], title)


_TITLE_WIDTH = 80  # characters a title line holds at the figures' width


def _data_label(report: dict[str, Any]) -> str:
    """The evaluated data for a title: a long folder path keeps its last two parts."""
    label = str(report["data"])
    kind, _, path = label.partition(" ")
    if path.startswith("/") and len(path) > 32:
        label = f"{kind} .../{'/'.join(Path(path).parts[-2:])}"
    return label
