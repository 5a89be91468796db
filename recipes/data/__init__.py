"""Data sources to `tf.data` pipelines: image folders, tensorflow-datasets, the built-in set.

`load_data(DataSettings(...), ...)` returns a `DataBundle` with `train`, `val`
and `test` pipelines and the class names; `scan` checks a folder for `zoo data
check`. The house:

- `listing`: a folder's layout, splits, classes and files.
- `headers`, `files`, `decode`: reading image headers, judging files, the one decoder.
- `check`: the check pass that decodes every file as training will (and `scan`).
- `splits`: the stratified train/validation split.
- `cache`: in-memory and file caches of decoded images, and their lock.
- `augment`: augmentation policies with Keras preprocessing layers.
- `pipeline`: a split's images to batches; `bundle`: what sources yield, and the bundle.
- `sources/`: `folder`, `tfds` and `builtin`; `shapes`: the built-in set itself.
- `noise`: keeping C libraries' messages off the terminal.
"""

from __future__ import annotations

from typing import Any

from recipes.config.check import check_section
from recipes.config.files import quoted
from recipes.config.schema import AugmentSettings, DataSettings
from recipes.data.augment import resolve_policy
from recipes.data.bundle import DataBundle, SourceData, make_bundle
from recipes.data.check import scan
from recipes.data.decode import check_image_args
from recipes.data.pipeline import Share
from recipes.data.sources.tfds_prepare import DataUnavailableError
from zoo.errors import UsageError

__all__ = [
    "DataBundle",
    "DataSettings",
    "DataUnavailableError",
    "Share",
    "SourceData",
    "find_data",
    "load_data",
    "make_bundle",
    "scan",
]


def load_data(
    data: DataSettings | None = None,
    *,
    augment: AugmentSettings | None = None,
    input_size: tuple[int, int] | int = (224, 224),
    channels: int = 3,
    batch_size: int = 32,
    seed: int = 0,
    classes: int | None = None,
    shuffle: bool = True,
    download: bool = True,
    share: Share | None = None,
) -> DataBundle:
    """Builds the train, validation and test pipelines of a data source.

    The source is `data.data_dir` (an image folder), `data.dataset` (a
    tensorflow-datasets name) or, with neither, the built-in `shapes` set.

    Args:
        data: Where the images come from and how they are read.
        augment: Augmentation of the training split (`None`: none).
        input_size: `(height, width)` of the images, or one side for squares.
        channels: 1 (grayscale) or 3 (RGB).
        batch_size: Images per batch.
        seed: Seed of the split, the shuffle, the augmentation and `shapes`.
        classes: The number of classes the data must have; for the built-in
            set, how many it has.
        shuffle: Whether the training split is shuffled every epoch.
        download: Whether tensorflow-datasets may download a dataset that is
            not prepared.
        share: This process's share of each batch, when several processes
            train together (`recipes.data.pipeline.Share`).

    Returns:
        The pipelines, class names, counts and skipped files.

    Raises:
        UsageError: Bad settings, a missing folder, a file instead of a folder,
            an empty class (without `drop_empty_classes`), fewer than 2
            classes, a split missing a class, too few images for the split, an
            unknown dataset name, or `classes` not matching the data.
        DataUnavailableError: The dataset is not prepared and cannot be downloaded.
        ZooError: The file cache cannot be written or read.
    """
    if augment is not None:
        check_section(augment)
    _check_batch_size(batch_size)
    found = find_data(
        data,
        input_size=input_size,
        channels=channels,
        batch_size=batch_size,
        seed=seed,
        classes=classes,
        shuffle=shuffle,
        download=download,
    )
    return make_bundle(
        found,
        batch_size=batch_size,
        seed=seed,
        policy=resolve_policy(augment, input_size),
        shuffle=shuffle,
        share=share,
    )


def find_data(
    data: DataSettings | None = None,
    *,
    input_size: tuple[int, int] | int = (224, 224),
    channels: int = 3,
    batch_size: int = 32,
    seed: int = 0,
    classes: int | None = None,
    shuffle: bool = True,
    download: bool = True,
) -> SourceData:
    """Finds, checks and decodes (and caches) a source's images, before batching.

    `load_data` is this and `make_bundle`; a search finds the data once and
    makes a bundle per trial (each trial's batch size and augmentation).

    Args:
        data: Where the images come from and how they are read.
        input_size: `(height, width)` of the images, or one side for squares.
        channels: 1 (grayscale) or 3 (RGB).
        batch_size: Images per training step (the largest, when bundles of
            several sizes are made): an in-memory cache is only made when it
            and a step fit in memory.
        seed: Seed of the split and of `shapes`.
        classes: The number of classes the data must have; for the built-in
            set, how many it has.
        shuffle: Whether a streamed (uncached) training split is shuffled.
        download: Whether tensorflow-datasets may download a dataset.

    Returns:
        The source's splits and facts.

    Raises:
        UsageError: See `load_data`.
    """
    data = data if data is not None else DataSettings()
    check_section(data)
    _check_batch_size(batch_size)
    size = check_image_args(input_size, channels, data.interpolation)
    if data.data_dir is not None and data.dataset is not None:
        raise UsageError("Give either --data DIR or --dataset NAME, not both.")
    found = _load_source(data, size, channels, batch_size, seed, classes, shuffle, download)
    check_class_count(classes, found.class_names)
    found.input_size, found.channels = size, channels
    return found


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(
            f"batch_size must be a positive integer. Received: batch_size={quoted(batch_size)}"
        )


def _load_source(
    data: DataSettings,
    input_size: tuple[int, int],
    channels: int,
    batch_size: int,
    seed: int,
    classes: int | None,
    shuffle: bool,
    download: bool,
) -> SourceData:
    if data.data_dir is not None:
        from recipes.data.sources.folder import load_folder

        return load_folder(
            data,
            input_size=input_size,
            channels=channels,
            seed=seed,
            shuffle=shuffle,
            batch_size=batch_size,
        )
    if data.dataset is not None:
        from recipes.data.sources.tfds import load_tfds

        return load_tfds(
            data,
            input_size=input_size,
            channels=channels,
            seed=seed,
            batch_size=batch_size,
            download=download,
        )
    from recipes.data.sources.builtin import load_builtin

    return load_builtin(data, input_size=input_size, channels=channels, seed=seed, classes=classes)


def check_class_count(classes: int | None, names: list[str]) -> None:
    """Refuses `--classes` that differs from the data's class count.

    Args:
        classes: `--classes`, or `None` when not given.
        names: The data's class names.

    Raises:
        UsageError: The counts differ.
    """
    if classes is not None and classes != len(names):
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise UsageError(
            f"--classes {classes} does not match the data, which has {len(names)} classes "
            f"({shown}); pass --classes {len(names)}."
        )
