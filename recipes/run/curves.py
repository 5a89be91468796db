"""Training curves: loss and accuracy per epoch, train and validation, one run or several.

Every run writes `curves.png` when it finishes; `zoo plot` redraws it, or
overlays several runs (one colour per run) to compare them. Training is a
solid line and validation a dashed one; a dotted vertical line marks where a
new phase starts (the fine-tune after the head), and the learning rate each
epoch started with is drawn on the loss panel's second axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recipes.run.canvas import integer_ticks, new_figure, write_png
from recipes.run.layout import RunLayout
from zoo.errors import UsageError

COMPARE = "curves-compare.png"
PANELS = (("loss", "loss"), ("accuracy", "accuracy"))


def write_curves(run: RunLayout) -> str | None:
    """Draws a run's `curves.png` from its `history.csv`; `None` when no epoch was recorded."""
    rows = run.history()
    if not rows:
        return None
    return draw_curves([(run.path.name, rows)], run.file(RunLayout.CURVES))


def plot_runs(paths: list[str], output: str | None = None) -> dict[str, Any]:
    """Redraws one run's curves, or overlays several runs' in one picture.

    Args:
        paths: Run directories.
        output: The PNG to write (default: `RUN/curves.png` for one run,
            `curves-compare.png` in the first run for several).

    Returns:
        `png` (the path written) and `runs` (per run: its path and epochs).

    Raises:
        UsageError: A path is not a run directory, or has no recorded epoch.
    """
    histories = []
    for path in paths:
        run = RunLayout(path)
        if not run.file(RunLayout.CONFIG).is_file():
            raise UsageError(
                f"{path} is not a zoo run directory (no {RunLayout.CONFIG}); pass run "
                "directories written by `zoo train`/`zoo finetune`."
            )
        rows = run.history()
        if not rows:
            raise UsageError(f"{path} has no completed epoch yet ({RunLayout.HISTORY} is empty).")
        histories.append((Path(path).resolve().name, rows))
    labels = _distinct([label for label, _ in histories], paths)
    named = [(label, rows) for label, (_, rows) in zip(labels, histories, strict=True)]
    default = Path(paths[0]) / (RunLayout.CURVES if len(paths) == 1 else COMPARE)
    png = draw_curves(named, Path(output) if output else default)
    return {
        "png": png,
        "runs": [
            {"run": path, "epochs": len(rows)} for path, (_, rows) in zip(paths, named, strict=True)
        ],
    }


def _distinct(labels: list[str], paths: list[str]) -> list[str]:
    """Run names for the legend; full paths where two runs share a name."""
    return [
        label if labels.count(label) == 1 else path
        for label, path in zip(labels, paths, strict=True)
    ]


def draw_curves(runs: list[tuple[str, list[dict[str, Any]]]], output: Path) -> str:
    """Draws loss and accuracy per epoch of runs, and the learning rate.

    Args:
        runs: `(label, history rows)` per run.
        output: The PNG to write.

    Returns:
        The path written.
    """
    from matplotlib import colormaps

    figure = new_figure(11, 4.2)
    colours = colormaps["tab10"].colors
    panels = [figure.add_subplot(1, 2, index + 1) for index in range(len(PANELS))]
    rate_axes = panels[0].twinx()
    for position, (label, rows) in enumerate(runs):
        colour = colours[position % len(colours)]
        single = len(runs) == 1
        # One run: train and validation in two colours; several: one colour per run.
        pair = (colours[0], colours[1]) if single else (colour, colour)
        for axes, (metric, _) in zip(panels, PANELS, strict=True):
            _plot_metric(axes, rows, metric, pair, "" if single else label)
        _plot_rate(rate_axes, rows, "grey" if single else colour)
        _mark_phases(panels, rows, "grey" if single else colour)
    rates = [rate for _, rows in runs for rate in _series(rows, "lr")[1]]
    if rates and min(rates) > 0:  # a warm-up from 0 needs a linear axis
        rate_axes.set_yscale("log")
    for axes, (_, title) in zip(panels, PANELS, strict=True):
        axes.set_xlabel("epoch")
        axes.set_ylabel(title)
        axes.grid(alpha=0.3)
        integer_ticks(axes)
        axes.legend(fontsize=7, loc="best")
    rate_axes.set_ylabel("learning rate (dotted)", color="grey")
    rate_axes.tick_params(axis="y", colors="grey", labelsize=7)
    name = runs[0][0] if len(runs) == 1 else f"{len(runs)} runs"
    figure.suptitle(f"training curves: {name} (solid: train, dashed: validation)", fontsize=10)
    return write_png(figure, output)


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    points = [(row["epoch"], row[key]) for row in rows if isinstance(row.get(key), int | float)]
    return [epoch for epoch, _ in points], [value for _, value in points]


def _plot_metric(
    axes: Any, rows: list[dict[str, Any]], metric: str, pair: tuple[Any, Any], label: str
) -> None:
    prefix = f"{label} " if label else ""
    for key, style, colour in ((metric, "-", pair[0]), (f"val_{metric}", "--", pair[1])):
        epochs, values = _series(rows, key)
        if epochs:
            kind = "val" if key.startswith("val_") else "train"
            axes.plot(
                epochs,
                values,
                style,
                color=colour,
                marker="o",
                markersize=3,
                label=f"{prefix}{kind}",
            )


def _plot_rate(axes: Any, rows: list[dict[str, Any]], colour: Any) -> None:
    epochs, rates = _series(rows, "lr")
    if not epochs:
        return
    axes.plot(epochs, rates, ":", color=colour, linewidth=1.2, alpha=0.8)


def _mark_phases(panels: list[Any], rows: list[dict[str, Any]], colour: Any) -> None:
    for before, after in zip(rows, rows[1:], strict=False):
        if before.get("phase") != after.get("phase"):
            boundary = (before["epoch"] + after["epoch"]) / 2
            for axes in panels:
                axes.axvline(boundary, color=colour, linestyle=":", linewidth=1)
                axes.annotate(
                    str(after.get("phase")),
                    (boundary, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(3, -12),
                    textcoords="offset points",
                    fontsize=7,
                    color=colour,
                )
