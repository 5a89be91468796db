"""Drawing pictures headless: matplotlib figures on the Agg canvas, written as PNG atomically.

`Figure` with `FigureCanvasAgg` rather than `pyplot`: no display, no global
backend or figure state, so pictures can be drawn from any thread or process
and the same input always gives the same bytes.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from zoo.atomic import atomic_write_bytes

TITLE_INCHES = 0.35
"""Height kept free for a figure's title."""
LINE_INCHES = 0.2
"""More height for each further line of a long title."""


def new_figure(width: float, height: float, dpi: int = 100) -> Any:
    """A matplotlib figure on its own Agg canvas.

    Args:
        width: Width in inches.
        height: Height in inches.
        dpi: Pixels per inch.

    Returns:
        The figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Any, tight: bool = True) -> bytes:
    """The figure as PNG bytes.

    Args:
        figure: A figure from `new_figure`.
        tight: Lay the axes out tightly first.
    """
    buffer = io.BytesIO()
    if tight:  # leaving room for a title over all the axes
        title = figure.get_suptitle()
        lines = title.count("\n") + 1 if title else 0
        kept = TITLE_INCHES + LINE_INCHES * (lines - 1) if lines else 0.0
        top = 1.0 - kept / figure.get_figheight()
        figure.tight_layout(rect=(0.0, 0.0, 1.0, top))
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_png(figure: Any, path: str | Path, tight: bool = True) -> str:
    """Writes the figure as a PNG atomically (parent folders made) and returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, png_bytes(figure, tight))
    return str(path)


def wrapped_title(figure: Any, text: str, fontsize: float = 11) -> None:
    """The figure's title, broken into lines that fit its width (long paths included)."""
    import textwrap

    # About 0.55 em a character, 72 points an inch.
    characters = max(20, int(figure.get_figwidth() * 72 / (0.55 * fontsize)))
    lines = textwrap.wrap(text, characters, break_long_words=True, break_on_hyphens=False)
    figure.suptitle("\n".join(lines), fontsize=fontsize)


def integer_ticks(axes: Any) -> None:
    """Whole numbers only on the x axis (epochs, trials), even for a single point."""
    from matplotlib.ticker import MaxNLocator

    # min_n_ticks=1: by default a range holding fewer than two whole numbers
    # (one epoch: 0.945..1.05) falls back to fractional ticks.
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def grid_shape(count: int, max_columns: int = 8) -> tuple[int, int]:
    """`(rows, columns)` of a near-square grid for `count` tiles."""
    columns = max(1, min(max_columns, math.ceil(math.sqrt(count))))
    return max(1, math.ceil(count / columns)), columns


def tile_grid(
    figure: Any,
    tiles: list[Any],
    labels: list[str] | None = None,
    cmap: str | None = None,
    max_columns: int = 8,
    top: int = 0,
) -> None:
    """Shows images as a grid of tiles without axes.

    Args:
        figure: The figure to draw on.
        tiles: Arrays `[H, W]` (drawn with `cmap`) or `[H, W, 3]` in 0..1.
        labels: A small caption per tile.
        cmap: Colour map for one-channel tiles.
        max_columns: Most tiles per row.
        top: Rows of the figure's grid left free above the tiles.
    """
    rows, columns = grid_shape(len(tiles), max_columns)
    for index, tile in enumerate(tiles):
        axes = figure.add_subplot(rows + top, columns, top * columns + index + 1)
        axes.imshow(tile, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        axes.set_axis_off()
        if labels is not None:
            axes.set_title(labels[index], fontsize=7)
