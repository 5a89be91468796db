"""`lr_find.png`: the range test's loss against the learning rate, the suggestion marked."""

from __future__ import annotations

from pathlib import Path

from recipes.run.canvas import new_figure, wrapped_title, write_png
from recipes.training.lr_range import RangeTest

_MARKERS = {"valley": ("o", "tab:red"), "steep": ("v", "tab:green"), "minimum": ("s", "tab:purple")}


def draw_range_test(test: RangeTest, path: str | Path, title: str = "") -> str:
    """Draws the smoothed loss (the raw batch losses faint) against the rate, log axis.

    Args:
        test: The range test.
        path: The PNG to write.
        title: What was tested (architecture, data), above the plot.

    Returns:
        The path written.
    """
    figure = new_figure(8, 4.8)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot(test.rates, test.losses, color="tab:blue", alpha=0.25, linewidth=1, label="batch")
    axes.plot(test.rates, test.smoothed, color="tab:blue", linewidth=2, label="smoothed")
    axes.set_xscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("training loss")
    axes.grid(True, which="major", alpha=0.3)
    if test.smoothed:
        # The blow-up at the end would flatten the interesting part.
        low = min(test.smoothed)
        high = max(test.smoothed[0], low) * 1.25
        axes.set_ylim(low - 0.05 * (high - low) - 1e-6, high + 1e-6)
    for name, rate in test.suggestions.items():
        marker, colour = _MARKERS[name]
        loss = _loss_at(test, rate)
        chosen = name == test.method
        axes.plot(
            [rate],
            [loss],
            marker=marker,
            color=colour,
            markersize=10 if chosen else 7,
            linestyle="none",
            label=f"{name} {rate:.1e}" + (" (suggested)" if chosen else ""),
        )
        if chosen:
            axes.axvline(rate, color=colour, linestyle=":", linewidth=1.5)
    axes.legend(loc="upper left", fontsize=9)
    if title:
        wrapped_title(figure, title)
    return write_png(figure, path)


def _loss_at(test: RangeTest, rate: float) -> float:
    """The smoothed loss at the step whose rate is nearest `rate` (on a log scale)."""
    import math

    nearest = min(range(len(test.rates)), key=lambda index: abs(math.log(test.rates[index] / rate)))
    return test.smoothed[nearest]
