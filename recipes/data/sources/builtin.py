"""The built-in `shapes` set as a data source: generated in memory, no download.

Used when no data is given. `shape_classes` names the shape classes, else
`classes` chooses how many (the first of them; default `DEFAULT_CLASSES`);
`shapes_per_class` is how many train plus validation images each has, split by
`val_split`; the test split has as many as validation. The
class order is the sorted shape names.
"""

from __future__ import annotations

from recipes.config.schema import DataSettings
from recipes.config.shape_classes import chosen_classes
from recipes.data import shapes
from recipes.data.bundle import SPLIT_NAMES, SourceData
from recipes.data.pipeline import Split

DEFAULT_CLASSES = 10
"""Classes of the built-in set when none are asked for."""


def load_builtin(
    data: DataSettings,
    *,
    input_size: tuple[int, int],
    channels: int,
    seed: int,
    classes: int | None,
) -> SourceData:
    """Generates the built-in set's splits.

    Args:
        data: The data settings (`shape_classes`, `shapes_per_class`, `val_split`).
        input_size: `(height, width)` of the images.
        channels: 1 or 3.
        seed: The set's seed.
        classes: Number of classes, 2 to 20; `None` for `DEFAULT_CLASSES`.
            Unused when `data.shape_classes` names them (the caller checks
            the count against the names).

    Returns:
        The splits.

    Raises:
        UsageError: `classes` out of range, or an unknown shape class.
    """
    import tensorflow as tf

    class_names = chosen_classes(data.shape_classes or classes or DEFAULT_CLASSES)
    sizes = shapes.split_counts(data.shapes_per_class, data.val_split)
    splits: dict[str, Split] = {}
    counts: dict[str, dict[str, int]] = {}
    for split in SPLIT_NAMES:
        if sizes[split] <= 0:
            continue
        pixels, labels = shapes.generate(
            class_names, sizes[split], input_size, seed, split, channels
        )
        elements = tf.data.Dataset.from_tensor_slices((pixels, labels))
        splits[split] = Split(elements, len(labels), shuffle_buffer=len(labels))
        counts[split] = {name: sizes[split] for name in class_names}
    return SourceData(
        splits=splits,
        class_names=class_names,
        counts=counts,
        source=f"shapes ({_described(class_names, data.shape_classes)}, built in)",
        layout="shapes",
    )


def _described(class_names: list[str], named: str | None) -> str:
    if not named:
        return f"{len(class_names)} classes"
    return f"{len(class_names)} classes: {', '.join(class_names)}"
