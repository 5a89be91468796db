"""The model's features of many images: what `zoo neighbors` and `zoo embed` compare.

By default the penultimate features, the vector the classifier's Dense layer
reads (`recipes.understand.layers.embedding_path`); another layer can be
named, and a 4-D feature map is averaged over its spatial positions. Images
stream through in batches, so a large folder never sits in memory; only a
small thumbnail of each is kept when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipes.run.trained import TrainedModel
from recipes.understand.images import batches
from recipes.understand.layers import Tap, embedding_path
from recipes.understand.subject import BATCH


@dataclass
class FeatureBank:
    """Features of labelled images.

    Attributes:
        layer: Path of the layer they come from.
        paths: The images, in order.
        labels: Their class indices.
        features: float32 `[N, D]`.
        thumbnails: uint8 `[N, t, t, 3]` when asked for, else `None`.
        bad: `{path, reason}` per unreadable file.
    """

    layer: str
    paths: list[Path]
    labels: Any
    features: Any
    thumbnails: Any = None
    bad: list[dict[str, str]] = field(default_factory=list)


class FeatureReader:
    """images -> one feature vector per image, at a layer.

    Args:
        trained: The model (computing in float32).
        layer: The layer's path (default: the penultimate features).
    """

    def __init__(self, trained: TrainedModel, layer: str | None = None) -> None:
        import tensorflow as tf

        self.layer = layer or embedding_path(trained.model)
        tap = Tap(trained.model, self.layer)
        spec = tf.TensorSpec((None, *trained.input_size, trained.channels), tf.float32)

        @tf.function(input_signature=[spec])
        def read(images: Any) -> Any:
            features = tf.cast(tap(images)[0], tf.float32)
            if features.shape.rank == 4:
                features = tf.reduce_mean(features, axis=(1, 2))
            return tf.reshape(features, (tf.shape(features)[0], -1))

        self._read = read

    def __call__(self, images: Any) -> Any:
        """Features of a batch of images, numpy `[N, D]`."""
        return self._read(images).numpy()


def feature_bank(
    trained: TrainedModel,
    files: list[tuple[Path, int]],
    layer: str | None = None,
    thumbnail: int | None = None,
) -> FeatureBank:
    """Reads labelled image files and computes their features.

    Args:
        trained: The model.
        files: `(path, class index)` pairs.
        layer: The layer's path (default: the penultimate features).
        thumbnail: Side of the thumbnails to keep, or `None` for none.

    Returns:
        The features of the readable images.
    """
    import numpy as np

    reader = FeatureReader(trained, layer)
    paths, labels, features, thumbnails, bad = [], [], [], [], []
    for batch in batches(trained, files, BATCH):
        bad.extend(batch.bad)
        if not batch.paths:
            continue
        paths.extend(batch.paths)
        labels.extend(batch.labels)
        features.append(reader(batch.pixels))
        if thumbnail:
            thumbnails.append(small_images(batch.pixels, thumbnail))
    return FeatureBank(
        layer=reader.layer,
        paths=paths,
        labels=np.asarray(labels, dtype="int64"),
        features=np.concatenate(features) if features else np.zeros((0, 0), "float32"),
        thumbnails=np.concatenate(thumbnails) if thumbnails else None,
        bad=bad,
    )


def small_images(pixels: Any, side: int) -> Any:
    """Images resized to `side` x `side` RGB uint8 (grey repeated)."""
    import numpy as np
    import tensorflow as tf

    small = tf.image.resize(pixels, (side, side), method="area", antialias=True).numpy()
    if small.shape[-1] == 1:
        small = np.repeat(small, 3, axis=-1)
    return np.clip(np.round(small), 0, 255).astype("uint8")
