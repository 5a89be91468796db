"""`shapes`: the built-in generated dataset, the default when no data is given.

Each image is one filled geometric shape (the class) with a random colour,
position, scale and rotation on a noisy background (random colour, a linear
gradient and Gaussian noise). Up to 20 classes, chosen so that no two classes
look alike under rotation; with `N` classes the first `N` of `SHAPE_NAMES` are
used, and the class order is their names sorted, as it would be for a folder of
them (see `write_folder`).

Every image is drawn from its own random generator seeded with
`(seed, split, class, index)`, in coordinates relative to the image size: the
set is the same on every machine and run for a given seed, and the same scene
at any image size. Split sizes only add or remove images at the end of each
class, so a split is reproducible from the seed and the counts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recipes.config.shape_classes import (
    SHAPE_NAMES,
    chosen_classes,
)
from recipes.data.shape_geometry import GEOMETRY
from zoo.errors import UsageError

SPLITS = ("train", "val", "test")
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}

MAX_ROTATION = 45.0
"""Largest rotation of a shape either way, in degrees."""

MIN_LUMA_CONTRAST = 40.0
"""Smallest difference in luma (0-255) between a shape and its background."""

_LUMA = (0.299, 0.587, 0.114)


def render(name: str, image_size: tuple[int, int], rng: Any) -> Any:
    """Draws one image of a shape class.

    Args:
        name: One of `SHAPE_NAMES`.
        image_size: `(height, width)` in pixels.
        rng: A `numpy.random.Generator`; all randomness comes from it.

    Returns:
        A `uint8` array `[height, width, 3]`.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    height, width = image_size
    side = min(height, width)
    # Scene parameters, relative to the image, drawn in a fixed order.
    background = rng.uniform(0, 255, 3)
    while True:  # visible in colour and in grey: a grayscale model must see it too
        colour = rng.uniform(0, 255, 3)
        contrast = abs(float((colour - background) @ _LUMA))
        if contrast > MIN_LUMA_CONTRAST and np.linalg.norm(colour - background) > 100:
            break
    radius = rng.uniform(0.25, 0.45) * side
    angle = math.radians(rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    margin_x, margin_y = radius / width, radius / height
    cx = rng.uniform(min(margin_x, 0.5), max(1 - margin_x, 0.5)) * width
    cy = rng.uniform(min(margin_y, 0.5), max(1 - margin_y, 0.5)) * height
    gradient_angle = rng.uniform(0, 2 * math.pi)
    gradient_strength = rng.uniform(0, 40)
    noise_seed = int(rng.integers(2**31))

    # The mask is drawn supersampled, then box-filtered: smooth edges at any size.
    scale = 4 if max(height, width) <= 128 else 2 if max(height, width) <= 512 else 1
    mask = Image.new("L", (width * scale, height * scale), 0)
    draw = ImageDraw.Draw(mask)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    for polygon, fill in GEOMETRY[name]:
        points = [
            ((cx + radius * (x * cos_a - y * sin_a)) * scale,
             (cy + radius * (x * sin_a + y * cos_a)) * scale)
            for x, y in polygon
        ]  # fmt: skip
        draw.polygon(points, fill=fill)
    if scale > 1:
        mask = mask.resize((width, height), Image.Resampling.BOX)
    alpha = np.asarray(mask, dtype=np.float32)[..., None] / 255.0

    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    ramp = (xs * math.cos(gradient_angle) + ys * math.sin(gradient_angle)) * gradient_strength
    back = background.astype(np.float32) + ramp[..., None]
    image = alpha * colour.astype(np.float32) + (1 - alpha) * back
    # Gaussian noise, stronger on the background (sigma 10) than on the shape (4).
    noise = np.random.default_rng(noise_seed).standard_normal((height, width, 3), np.float32)
    image += noise * (10.0 - 6.0 * alpha)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def generate(
    classes: int | Sequence[str],
    count_per_class: int,
    image_size: tuple[int, int] | int = (64, 64),
    seed: int = 0,
    split: str = "train",
    channels: int = 3,
) -> tuple[Any, Any]:
    """Generates one split of the set, class by class.

    Args:
        classes: How many classes (2 to 20: the first of `SHAPE_NAMES`), or
            which (see `chosen_classes`). A class's images are the same
            whichever others are chosen.
        count_per_class: Images per class.
        image_size: `(height, width)`, or one int for squares.
        seed: The set's seed.
        split: `train`, `val` or `test`; each has its own images.
        channels: 3 (RGB) or 1 (grayscale, ITU-R 601 luma).

    Returns:
        `(images, labels)`: `uint8 [N, height, width, channels]` and `int32 [N]`,
        labels indexing `chosen_classes(classes)`.

    Raises:
        UsageError: An argument is out of range.
    """
    import numpy as np

    names = chosen_classes(classes)
    num_classes = len(names)
    height, width = _size(image_size)
    if split not in _SPLIT_IDS:
        raise UsageError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    if count_per_class < 0:
        raise UsageError(f"count_per_class must be >= 0. Received: {count_per_class}")
    if channels not in (1, 3):
        raise UsageError(f"channels must be 1 or 3. Received: channels={channels}")
    images = np.empty((num_classes * count_per_class, height, width, channels), np.uint8)
    labels = np.empty((num_classes * count_per_class,), np.int32)
    position = 0
    for label, name in enumerate(names):
        for index in range(count_per_class):
            rng = np.random.default_rng([seed, _SPLIT_IDS[split], SHAPE_NAMES.index(name), index])
            image = render(name, (height, width), rng)
            if channels == 1:
                luma = image.astype(np.float32) @ np.array([0.2989, 0.587, 0.114], np.float32)
                image = np.clip(luma + 0.5, 0, 255).astype(np.uint8)[..., None]
            images[position] = image
            labels[position] = label
            position += 1
    return images, labels


def split_counts(count_per_class: int, val_split: float) -> dict[str, int]:
    """Images per class in each split of the built-in set.

    `count_per_class` images per class are split into train and val by
    `val_split` (at least one each when `val_split > 0`); the test split has as
    many as val (or a fifth of the count when there is no val split).

    Args:
        count_per_class: Train plus validation images per class.
        val_split: Fraction for validation, in [0, 1).

    Returns:
        `{"train": n, "val": n, "test": n}`.
    """
    val = 0 if val_split <= 0 else max(1, round(count_per_class * val_split))
    val = min(val, count_per_class - 1)
    test = val if val else max(1, round(count_per_class * 0.2))
    return {"train": count_per_class - val, "val": val, "test": test}


def write_folder(
    dest: str | os.PathLike[str],
    num_classes: int | Sequence[str] = 10,
    count_per_class: int = 100,
    image_size: tuple[int, int] | int = (64, 64),
    seed: int = 0,
    image_format: str = "jpg",
    splits: Sequence[str] | None = None,
    quality: int = 90,
) -> Path:
    """Writes the set as image files, one sub-folder per class.

    Args:
        dest: Folder to write into (created).
        num_classes: 2 to 20, or the class names (see `chosen_classes`).
        count_per_class: Images per class (per split, with `splits`).
        image_size: `(height, width)`, or one int for squares.
        seed: The set's seed.
        image_format: `jpg`, `png`, `gif` or `bmp`.
        splits: `None` for `dest/CLASS/*.jpg`; else split names (`train`,
            `val`, `test`) for `dest/SPLIT/CLASS/*.jpg`.
        quality: JPEG quality.

    Returns:
        `dest` as a `Path`.

    Raises:
        UsageError: An argument is out of range.
    """
    from PIL import Image

    formats = {"jpg": "JPEG", "png": "PNG", "gif": "GIF", "bmp": "BMP"}
    if image_format not in formats:
        raise UsageError(f"image_format must be one of {', '.join(formats)}: {image_format!r}")
    root = Path(dest)
    names = chosen_classes(num_classes)
    for split in splits or ("train",):
        base = root / split if splits else root
        images, labels = generate(num_classes, count_per_class, image_size, seed, split)
        for position, (image, label) in enumerate(zip(images, labels, strict=True)):
            folder = base / names[int(label)]
            folder.mkdir(parents=True, exist_ok=True)
            options = {"quality": quality} if image_format == "jpg" else {}
            Image.fromarray(image).save(
                folder / f"{names[int(label)]}_{position:05d}.{image_format}",
                formats[image_format],
                **options,
            )
    return root


def _size(image_size: tuple[int, int] | int) -> tuple[int, int]:
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    height, width = (int(side) for side in image_size)
    if height < 8 or width < 8:
        raise UsageError(
            f"The built-in shapes need images of at least 8x8 pixels. Received: {image_size}"
        )
    return height, width
