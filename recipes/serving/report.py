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
from pathlib import Path
from typing import Any

from recipes.canvas import new_figure, write_png
from recipes.serving.mistakes import TopLosses
from recipes.serving.trained import TrainedModel
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
    write_png(_confusion_figure(report, split, tta), files["png"])
    if mistakes is not None:
        title = f"Highest loss: {trained.name}, {split} split of {report['data']}"
        drawn = mistakes.draw(directory / f"{prefix}top-losses-{tag}.png", names, title)
        if drawn is not None:
            files["top_losses"] = Path(drawn)
    written = {key: str(value) for key, value in files.items()}
    document = {**report, "files": written}
    atomic_write_text(files["json"], json.dumps(document, indent=2) + "\n")
    return written


def _confusion_figure(report: dict[str, Any], split: str, tta: str) -> Any:
    import numpy as np

    names = report["class_names"]
    matrix = np.asarray(report["confusion_matrix"])
    count = len(names)
    side = min(4.0 + 0.45 * count, 40.0)
    figure = new_figure(side + 1.5, side)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_xticks(range(count), labels=names, rotation=45, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(count), labels=names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    title = f"{split} split, accuracy {report['accuracy']:.1%} ({report['images']} images)"
    axes.set_title(title + ("" if tta == "none" else f", TTA {tta}"))
    if count <= 30:
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, column), value in np.ndenumerate(matrix):
            colour = "white" if value > threshold else "black"
            axes.text(column, row, str(value), ha="center", va="center", color=colour, fontsize=8)
    return figure
