"""Pictures of images and maps: the helpers the understanding commands draw with."""

from __future__ import annotations

from typing import Any

HEAT_COLOURS = "jet"
HEAT_ALPHA = 0.45


def as_rgb(pixels: Any) -> Any:
    """An image `[H, W, C]` in 0..255 as RGB floats in 0..1 (grey images repeated)."""
    import numpy as np

    image = np.clip(np.asarray(pixels, dtype="float32") / 255.0, 0.0, 1.0)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]


def display_map(raw: Any) -> Any:
    """A map scaled for showing: its positive part divided by its largest value."""
    import numpy as np

    positive = np.maximum(np.asarray(raw, dtype="float32"), 0.0)
    peak = positive.max()
    return positive / peak if peak > 0 else positive


def normalise(values: Any) -> Any:
    """Values stretched to 0..1 (a constant array gives zeros)."""
    import numpy as np

    values = np.asarray(values, dtype="float32")
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def show_image(axes: Any, pixels: Any, title: str = "") -> None:
    """Draws an image without axes."""
    axes.imshow(as_rgb(pixels), interpolation="nearest")
    axes.set_axis_off()
    if title:
        axes.set_title(title, fontsize=8)


def show_overlay(axes: Any, pixels: Any, raw_map: Any, title: str = "") -> Any:
    """Draws a map as a heat layer over its image; returns the heat layer (for a colour bar)."""
    show_image(axes, pixels, title)
    return axes.imshow(
        display_map(raw_map),
        cmap=HEAT_COLOURS,
        alpha=HEAT_ALPHA,
        vmin=0.0,
        vmax=1.0,
        interpolation="bilinear",
    )
