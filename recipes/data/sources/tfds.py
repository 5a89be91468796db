"""A tensorflow-datasets dataset as a data source (`--dataset cifar10`, `tf_flowers`, ...).

The builder is read with `tfds.builder(name, data_dir=tfds_dir)` (downloaded
and prepared when it is not on disk and the machine is online; see
`tfds_prepare`). Its `validation` split is used when it has one, else a
stratified `val_split` share of `train`; `test` when it has one. Encoded images
are decoded by the same decoder as files; class order is the dataset's own
label order. `zoo_shapes/classes_N` is the built-in set as a builder.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from recipes.config.schema import CACHE_MODES, DataSettings
from recipes.data.bundle import SourceData
from recipes.data.cache import available_memory, cache_path, filling, plan_cache
from recipes.data.decode import resize_image, uint8_decoder
from recipes.data.noise import quiet_c_libraries
from recipes.data.pipeline import Split, buffer_for, select
from recipes.data.sources.tfds_prepare import feature_keys, open_builder
from recipes.data.splits import stratified_split
from zoo.errors import UsageError


def load_tfds(
    data: DataSettings,
    *,
    input_size: tuple[int, int],
    channels: int,
    seed: int,
    batch_size: int,
    download: bool = True,
) -> SourceData:
    """Reads (and caches) a tensorflow-datasets dataset's splits.

    Args:
        data: The data settings (`dataset`, `tfds_dir`, `val_split`, `cache`).
        input_size: `(height, width)` the images are resized to.
        channels: 1 or 3.
        seed: Seed of the validation split, when one is made.
        batch_size: Images per training step, for the memory the cache may take.
        download: Whether a dataset that is not prepared may be downloaded.

    Returns:
        The splits.

    Raises:
        UnknownNameError: No such dataset.
        DataUnavailableError: Not prepared, and it cannot be downloaded here.
        UsageError: Not an image classification dataset, or without a train split.
    """
    import tensorflow as tf

    name = data.dataset
    builder = open_builder(name, data.tfds_dir, download)
    info = builder.info
    image_key, label_key, encoded = feature_keys(info, name)
    class_names = [str(label) for label in info.features[label_key].names]
    sources = _split_sources(name, set(info.splits.keys()))
    images = sum(info.splits[source].num_examples for source in sources.values())
    cache, cache_note = plan_cache(
        str(data.cache), images, input_size, channels, available_memory(), batch_size=batch_size
    )
    decode = _decoder(encoded, input_size, channels, data.interpolation)
    decoders = {image_key: _skip_decoding()} if encoded else None

    bad: list[dict[str, str]] = []
    decoded: dict[str, tuple[Any, dict[int, int]]] = {}  # split -> (dataset, index -> label)
    for split, source in sources.items():
        raw = builder.as_dataset(split=source, shuffle_files=False, decoders=decoders)
        elements = (
            raw.enumerate()
            .map(
                lambda index, example: (
                    index,
                    decode(example[image_key]),
                    tf.cast(example[label_key], tf.int32),
                ),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
            .ignore_errors()
        )
        with quiet_c_libraries():
            elements, labels = _fill(elements, cache, builder, source, data, input_size, channels)
        failed = info.splits[source].num_examples - len(labels)
        if failed > 0:
            bad.append(
                {"path": f"{name}/{source}", "reason": f"{failed} example(s) fail to decode"}
            )
        decoded[split] = (elements, labels)

    members = {split: sorted(labels) for split, (_, labels) in decoded.items()}
    if "val" not in sources and data.val_split > 0:  # a stratified share of train
        train_labels = decoded["train"][1]
        by_class: dict[str, list[int]] = {label: [] for label in class_names}
        for index in sorted(train_labels):
            by_class[class_names[train_labels[index]]].append(index)
        members["train"], members["val"] = stratified_split(by_class, data.val_split, seed)
        decoded["val"] = decoded["train"]

    splits: dict[str, Split] = {}
    counts: dict[str, dict[str, int]] = {}
    for split, indices in members.items():
        elements, labels = decoded[split]
        counted = Counter(labels[index] for index in indices)
        counts[split] = {label: counted.get(i, 0) for i, label in enumerate(class_names)}
        chosen = select(elements, indices, len(labels)).map(
            lambda index, image, label: (image, label)
        )
        known = len(indices) if cache != "none" else None
        splits[split] = Split(chosen, known, buffer_for(len(indices), cache))
    return SourceData(
        splits=splits,
        class_names=class_names,
        counts=counts,
        source=f"tfds {name}",
        layout="tfds",
        bad=bad,
        cache=cache,
        cache_note=cache_note,
        source_size=_declared_size(info.features[image_key]),
    )


def _declared_size(feature: Any) -> tuple[int, int] | None:
    """The `(height, width)` a dataset declares for all its images, or `None` when they vary."""
    shape = tuple(getattr(feature, "shape", ()) or ())
    if len(shape) < 2 or shape[0] is None or shape[1] is None:
        return None
    return int(shape[0]), int(shape[1])


def _split_sources(name: str, available: set[str]) -> dict[str, str]:
    """Which of the dataset's splits serve as train, val and test."""
    if "train" not in available:
        raise UsageError(
            f"Dataset {name} has no train split (it has {', '.join(sorted(available))})."
        )
    sources = {"train": "train"}
    for candidate in ("validation", "val", "valid"):
        if candidate in available:
            sources["val"] = candidate
            break
    if "test" in available:
        sources["test"] = "test"
    return sources


def _skip_decoding() -> Any:
    import tensorflow_datasets as tfds

    return tfds.decode.SkipDecoding()


def _decoder(encoded: bool, input_size: tuple[int, int], channels: int, interpolation: str) -> Any:
    """Graph ops: a dataset's image feature -> the `uint8` image the pipelines store."""
    import tensorflow as tf

    if encoded:  # the same decoder as files
        from_bytes = uint8_decoder(input_size, channels, interpolation)
        return lambda contents: from_bytes(contents)[0]

    def from_pixels(pixels: Any) -> Any:
        image = resize_image(pixels, input_size, channels, interpolation)
        return tf.cast(tf.round(image), tf.uint8)

    return from_pixels


def _fill(
    elements: Any,
    cache: str,
    builder: Any,
    source: str,
    data: DataSettings,
    input_size: tuple[int, int],
    channels: int,
) -> tuple[Any, dict[int, int]]:
    """Runs a split to its end once (filling its cache): the dataset and index -> label."""
    if cache == "memory":
        elements = elements.cache()
    if cache in CACHE_MODES:
        return elements, _labels(elements)
    key = repr(
        (builder.name, str(builder.version), str(builder.data_dir), source)
        + (input_size, channels, data.interpolation, 1)
    )
    name = cache_path(cache, "zoo-tfds", hashlib.sha1(key.encode()).hexdigest()[:16])
    elements = elements.cache(name)
    with filling(name):
        return elements, _labels(elements)


def _labels(elements: Any) -> dict[int, int]:
    """Runs `(index, image, label)` elements to the end: index -> label."""
    labels: dict[int, int] = {}
    for indices, batch in elements.map(lambda index, image, label: (index, label)).batch(8192):
        labels.update(zip(indices.numpy().tolist(), batch.numpy().tolist(), strict=True))
    return labels
