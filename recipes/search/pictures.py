"""A study's pictures: the objective per trial, the learning curves, each parameter, all at once.

Drawn headless (`recipes.run.canvas`), written atomically into the study directory:

- `objective.png`: each trial's objective and the best so far;
- `curves.png`: every trial's learning curve (the objective per epoch);
- `parameters.png`: the objective against each searched parameter (log axes
  for log ranges, categories for choices);
- `parallel.png`: parallel coordinates, one line per trial, coloured by objective.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from recipes.run.canvas import integer_ticks, new_figure, write_png
from recipes.search.space import varied

if TYPE_CHECKING:
    from recipes.search.results import TrialRow
    from recipes.search.study import StudyLayout

PICTURES = ("objective.png", "curves.png", "parameters.png", "parallel.png")


def draw_pictures(
    study: StudyLayout, rows: list[TrialRow], space: dict[str, Any], objective: str
) -> list[str]:
    """Draws the study's four pictures.

    Args:
        study: The study directory.
        rows: Its trials.
        space: The searched parameters (as `study.json` holds them).
        objective: The objective's name.

    Returns:
        The paths written.
    """
    done = [row for row in rows if row.objective is not None]
    lower_is_better = objective == "val_loss"
    searched = varied(space)
    drawings = {
        "objective.png": _objective(rows, objective, lower_is_better),
        "curves.png": _curves(rows, objective),
        "parameters.png": _parameters(done, searched, space, objective),
        "parallel.png": _parallel(done, searched, space, objective),
    }
    return [write_png(figure, study.file(name)) for name, figure in drawings.items()]


def _objective(rows: list[TrialRow], objective: str, lower_is_better: bool) -> Any:
    figure = new_figure(7, 4)
    axes = figure.add_subplot()
    done = [row for row in rows if row.objective is not None]
    xs, ys = [row.number for row in done], [row.objective for row in done]
    axes.scatter(xs, ys, color="tab:blue", label="trial", zorder=3)
    failed = [row.number for row in rows if row.objective is None]
    if failed:
        bottom = min(ys) if ys else 0.0
        axes.scatter(failed, [bottom] * len(failed), marker="x", color="tab:red", label="failed")
    best, running = None, []
    for value in ys:
        better = best is None or (value < best if lower_is_better else value > best)
        best = value if better else best
        running.append(best)
    if xs:
        axes.step(xs, running, where="post", color="tab:orange", label="best so far")
    integer_ticks(axes)
    axes.set_xlabel("trial (as keras-tuner numbers them: Trial #1, #2, ...)")
    axes.set_ylabel(objective)
    axes.set_title(f"{objective} per trial ({len(rows)} trials)")
    axes.grid(alpha=0.3)
    axes.legend()
    return figure


def _curves(rows: list[TrialRow], objective: str) -> Any:
    figure = new_figure(7, 4)
    axes = figure.add_subplot()
    for row in rows:
        points = [(r["epoch"], r[objective]) for r in row.history if objective in r]
        if points:
            epochs, values = zip(*points, strict=True)
            axes.plot(epochs, values, marker="o", markersize=3, alpha=0.7, label=str(row.number))
    integer_ticks(axes)
    axes.set_xlabel("epoch")
    axes.set_ylabel(objective)
    axes.set_title(f"learning curves: {objective} per epoch of every trial")
    axes.grid(alpha=0.3)
    if 0 < len(rows) <= 12:
        axes.legend(title="trial", fontsize=7)
    return figure


def _parameters(
    rows: list[TrialRow], names: list[str], space: dict[str, Any], objective: str
) -> Any:
    count = max(1, len(names))
    columns = min(3, count)
    lines = math.ceil(count / columns)
    figure = new_figure(4 * columns, 3 * lines)
    for position, name in enumerate(names, start=1):
        axes = figure.add_subplot(lines, columns, position)
        param = space[name]
        pairs = [(row.values[name], row.objective) for row in rows if name in row.values]
        if "values" in param:
            labels = [str(value) for value in param["values"]]
            xs = [labels.index(str(value)) for value, _ in pairs if str(value) in labels]
            ys = [y for value, y in pairs if str(value) in labels]
            axes.scatter(xs, ys, alpha=0.8)
            axes.set_xticks(range(len(labels)), labels=labels, rotation=30, ha="right")
        else:
            axes.scatter([float(v) for v, _ in pairs], [y for _, y in pairs], alpha=0.8)
            if param.get("log"):
                axes.set_xscale("log")
            axes.set_xlim(param["min"], param["max"])  # where in its range each trial lies
        axes.set_xlabel(name)
        axes.set_ylabel(objective)
        axes.grid(alpha=0.3)
    if not names:
        figure.add_subplot().text(0.5, 0.5, "no parameter was searched", ha="center")
    return figure


def _parallel(rows: list[TrialRow], names: list[str], space: dict[str, Any], objective: str) -> Any:
    import numpy as np
    from matplotlib import colormaps

    figure = new_figure(max(6, 1.6 * (len(names) + 1)), 4.5)
    axes = figure.add_subplot()
    columns = [*names, objective]
    if not rows:
        axes.text(0.5, 0.5, "no completed trial", ha="center")
        return figure
    matrix = np.array([[_position(row, name, space) for name in names] for row in rows])
    scores = np.array([row.objective for row in rows], dtype="float64")
    spread = scores.max() - scores.min()
    normalised = (scores - scores.min()) / spread if spread else np.full(len(scores), 0.5)
    matrix = np.column_stack([matrix, normalised]) if names else normalised[:, None]
    colours = colormaps["viridis"](normalised)
    for line, colour in zip(matrix, colours, strict=True):
        axes.plot(range(len(columns)), line, color=colour, alpha=0.8)
    axes.set_xticks(range(len(columns)), labels=columns, rotation=20, ha="right")
    axes.set_yticks([])
    axes.set_ylim(-0.08, 1.08)
    for x, name in enumerate(columns):
        axes.axvline(x, color="grey", linewidth=0.8)
        marks = _axis_marks(space[name]) if name in space else _range_marks(scores, False)
        for position, label in marks:
            axes.text(x + 0.03, position, label, fontsize=7, va="center", ha="left")
    axes.set_title(
        f"parallel coordinates ({len(rows)} trials; colour: {objective} "
        f"from {scores.min():.4g} to {scores.max():.4g})"
    )
    return figure


def _axis_marks(param: dict[str, Any]) -> list[tuple[float, str]]:
    """A parameter axis's labelled points: every choice, or the range's ends (and its middle)."""
    if "values" in param:
        labels = [str(item) for item in param["values"]]
        return [(index / max(1, len(labels) - 1), label) for index, label in enumerate(labels)]
    low, high = float(param["min"]), float(param["max"])
    return _range_marks([low, high], bool(param.get("log")))


def _range_marks(values: Any, log: bool) -> list[tuple[float, str]]:
    """The lowest, middle and highest value of a range, at 0, 0.5 and 1 of its axis."""
    low, high = float(min(values)), float(max(values))
    middle = math.sqrt(low * high) if log and low > 0 else (low + high) / 2
    if high == low:
        return [(0.5, f"{low:.3g}")]
    return [(0.0, f"{low:.3g}"), (0.5, f"{middle:.3g}"), (1.0, f"{high:.3g}")]


def _position(row: TrialRow, name: str, space: dict[str, Any]) -> float:
    """Where a trial's value lies on a parameter's axis, from 0 to 1."""
    param = space[name]
    value = row.values.get(name)
    if value is None:
        return float("nan")
    if "values" in param:
        labels = [str(item) for item in param["values"]]
        return labels.index(str(value)) / max(1, len(labels) - 1) if str(value) in labels else 0.5
    low, high, value = float(param["min"]), float(param["max"]), float(value)
    if param.get("log"):
        low, high, value = math.log(low), math.log(high), math.log(value)
    return (value - low) / (high - low) if high > low else 0.5
