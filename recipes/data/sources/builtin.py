"""The built-in `shapes` set as a data source: generated in memory, no download.

Used when no data is given. `classes` chooses how many shape classes (default
`DEFAULT_CLASSES`), `shapes_per_class` how many train plus validation images
each has, split by `val_split`; the test split has as many as validation. The
class order is the sorted shape names.
"""

from __future__ import annotations

from recipes.config.schema import DataSettings
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
        data: The data settings (`shapes_per_class`, `val_split`).
        input_size: `(height, width)` of the images.
        channels: 1 or 3.
        seed: The set's seed.
        classes: Number of classes, 2 to 20; `None` for `DEFAULT_CLASSES`.

    Returns:
        The splits.

    Raises:
        UsageError: `classes` out of range.
    """
    import tensorflow as tf

    num_classes = classes or DEFAULT_CLASSES
    class_names = shapes.class_names(num_classes)
    sizes = shapes.split_counts(data.shapes_per_class, data.val_split)
    splits: dict[str, Split] = {}
    counts: dict[str, dict[str, int]] = {}
    for split in SPLIT_NAMES:
        if sizes[split] <= 0:
            continue
        pixels, labels = shapes.generate(
            num_classes, sizes[split], input_size, seed, split, channels
        )
        elements = tf.data.Dataset.from_tensor_slices((pixels, labels))
        splits[split] = Split(elements, len(labels), shuffle_buffer=len(labels))
        counts[split] = {name: sizes[split] for name in class_names}
    return SourceData(
        splits=splits,
        class_names=class_names,
        counts=counts,
        source=f"shapes ({num_classes} classes, built in)",
        layout="shapes",
    )
