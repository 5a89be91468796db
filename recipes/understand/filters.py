"""`zoo filters` and `zoo activations`: a convolution's filters, a layer's maps of one image.

Filters (the lectures' "first layer: visualise filters"): each filter of the
first convolution (or the named one) as a small image, stretched to 0..1 on
its own; in colour when it reads the three image channels (in RGB order, even
for a model that feeds the convolution BGR, as Caffe's preprocessing does),
in grey when it reads one, and as the mean over its input channels otherwise.

Activations: the output channels of a layer (default: the first convolution)
for one image, each stretched to 0..1, next to the image.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import keras

from recipes.run.canvas import grid_shape, new_figure, tile_grid, write_png
from recipes.run.drawing import as_rgb, normalise
from recipes.run.trained import load_trained
from recipes.understand.explain import unique_stems
from recipes.understand.images import load_images
from recipes.understand.layers import LayerInfo, Tap, find_layer, first_convolution, list_layers
from zoo.errors import UsageError

MAX_FILTERS = 256
MAX_CHANNELS = 64


def file_name(path: str) -> str:
    """A layer path as a file name (`base/conv1` -> `base--conv1`)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.replace("/", "--"))


def filters(
    path: str | Path, layer: str | None = None, output_dir: str | Path | None = None
) -> dict[str, Any]:
    """Draws a convolution's filters as a grid.

    Args:
        path: A run directory or a `.keras` file.
        layer: The convolution's path (default: the first one).
        output_dir: Where the PNG goes (default: `RUN/filters`).

    Returns:
        `model`, `layer`, `filters` (count), `shown`, `colour` (`rgb`,
        `grey` or `mean`) and `png`.

    Raises:
        UsageError: No such layer, or it is not a convolution.
    """
    trained = load_trained(path, float32=True)
    info = find_layer(trained.model, layer) if layer else first_convolution(trained.model)
    kernel = _kernel(info)
    height, width, inputs, count = kernel.shape
    colour = "rgb" if inputs == 3 else "grey" if inputs == 1 else "mean"
    if colour == "rgb" and _feeds_bgr(trained.model, info):
        kernel = kernel[:, :, ::-1, :]
    tiles = []
    for index in range(min(count, MAX_FILTERS)):
        weights = kernel[..., index]
        tiles.append(normalise(weights if colour == "rgb" else weights.mean(axis=-1)))
    rows, columns = grid_shape(len(tiles), max_columns=16)
    figure = new_figure(max(4.0, 0.7 * columns), 0.7 * rows + 0.6)
    tile_grid(figure, tiles, cmap="gray", max_columns=16)
    shown = f"{len(tiles)} of {count}" if len(tiles) < count else str(count)
    how = {"rgb": "in colour", "grey": "grey", "mean": f"mean over {inputs} input channels"}
    figure.suptitle(f"{info.path}: {shown} filters {height}x{width}, {how[colour]}", fontsize=9)
    root = Path(output_dir) if output_dir is not None else trained.output_dir / "filters"
    png = write_png(figure, root / f"{file_name(info.path)}.png")
    return {
        "model": str(trained.source),
        "layer": info.path,
        "filters": count,
        "shown": len(tiles),
        "colour": colour,
        "png": png,
    }


def _kernel(info: LayerInfo) -> Any:
    """The layer's kernel as `[height, width, inputs, filters]` numpy."""
    layer = info.layer
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kernel = keras.ops.convert_to_numpy(layer.depthwise_kernel)
        height, width, inputs, multiplier = kernel.shape
        return kernel.reshape(height, width, 1, inputs * multiplier)
    if isinstance(layer, keras.layers.Conv2D):
        return keras.ops.convert_to_numpy(layer.kernel)
    raise UsageError(
        f"{info.path} is a {type(layer).__name__}, not a 2-D convolution; name a Conv2D "
        "layer with --layer, or leave it out for the first one."
    )


def _feeds_bgr(model: Any, info: LayerInfo) -> bool:
    """Whether Caffe's preprocessing (RGB to BGR) comes before the layer."""
    from zoo.layers import ImagePreprocessing

    for other in list_layers(model):
        if other.path == info.path:
            return False
        if isinstance(other.layer, ImagePreprocessing) and other.layer.mode == "caffe":
            return True
    return False


def activations(
    path: str | Path, image: str, layer: str | None = None, output_dir: str | Path | None = None
) -> dict[str, Any]:
    """Draws a layer's output channels for one image as a grid.

    Args:
        path: A run directory or a `.keras` file.
        image: The image file.
        layer: The layer's path (default: the first convolution).
        output_dir: Where the PNG goes (default: `RUN/activations`).

    Returns:
        `model`, `layer`, `image`, `channels`, `shown`, `shape` and `png`.

    Raises:
        UsageError: Bad model, image or layer, or a layer without a 2-D map.
    """
    trained = load_trained(path, float32=True)
    images = load_images(trained, [image])
    layer = layer or first_convolution(trained.model).path
    tap = Tap(trained.model, layer)
    if not tap.info.is_feature_map:
        raise UsageError(
            f"Layer {layer} has output shape {tap.info.shape}, not a map per channel; "
            "name a convolutional layer (4-D output) with --layer."
        )
    maps = keras.ops.convert_to_numpy(tap(images.pixels[:1])[0])[0]
    count = maps.shape[-1]
    tiles = [as_rgb(images.pixels[0])]
    tiles += [normalise(maps[..., channel]) for channel in range(min(count, MAX_CHANNELS))]
    labels = ["image"] + [str(channel) for channel in range(len(tiles) - 1)]
    rows, columns = grid_shape(len(tiles))
    figure = new_figure(1.3 * columns, 1.3 * rows + 0.6)
    tile_grid(figure, tiles, labels=labels, cmap="viridis")
    shown = len(tiles) - 1
    what = f"{shown} of {count}" if shown < count else str(count)
    figure.suptitle(
        f"{layer}: {what} channels of {maps.shape[0]}x{maps.shape[1]} for {images.paths[0].name}",
        fontsize=9,
    )
    root = Path(output_dir) if output_dir is not None else trained.output_dir / "activations"
    stem = unique_stems(images.paths)[0]
    png = write_png(figure, root / f"{stem}-{file_name(layer)}.png")
    return {
        "model": str(trained.source),
        "layer": layer,
        "image": str(images.paths[0]),
        "channels": count,
        "shown": shown,
        "shape": list(maps.shape),
        "png": png,
    }
