"""Loading a data source: `find_data` finds, checks and decodes it; `load_data` also batches it.

Both take the same options (`DataOptions`), so a search can find the data once
and make a bundle per trial (`make_bundle`) with that trial's batch size and
augmentation.
"""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from recipes.config.check import check_section
from recipes.config.files import quoted
from recipes.config.schema import AugmentSettings, DataSettings
from recipes.data.augment import resolve_policy
from recipes.data.bundle import DataBundle, SourceData, make_bundle
from recipes.data.decode import check_image_args
from recipes.data.pipeline import Share
from zoo.errors import UsageError


class DataOptions(TypedDict, total=False):
    """How a source's images are read, split and batched; every key is optional.

    Attributes:
        input_size: `(height, width)` of the images, or one side for squares
            (default 224).
        channels: 1 (grayscale) or 3 (RGB) (default 3).
        batch_size: Images per training step (default 32). For `find_data`, the
            largest step bundles will take: an in-memory cache is only made when
            it and a step fit in memory.
        seed: Seed of the split, the shuffle, the augmentation and `shapes` (default 0).
        classes: The number of classes the data must have; for the built-in
            set, how many it has (default: whatever the data has).
        shuffle: Whether the training split is shuffled every epoch (default True).
        download: Whether tensorflow-datasets may download a dataset that is
            not prepared (default True).
    """

    input_size: tuple[int, int] | int
    channels: int
    batch_size: int
    seed: int
    classes: int | None
    shuffle: bool
    download: bool


_DEFAULTS: DataOptions = {
    "input_size": (224, 224),
    "channels": 3,
    "batch_size": 32,
    "seed": 0,
    "classes": None,
    "shuffle": True,
    "download": True,
}


def load_data(
    data: DataSettings | None = None,
    *,
    augment: AugmentSettings | None = None,
    share: Share | None = None,
    **options: Unpack[DataOptions],
) -> DataBundle:
    """Builds the train, validation and test pipelines of a data source.

    The source is `data.data_dir` (an image folder), `data.dataset` (a
    tensorflow-datasets name) or, with neither, the built-in `shapes` set.

    Args:
        data: Where the images come from and how they are read.
        augment: Augmentation of the training split (`None`: none).
        share: This process's share of each batch, when several processes
            train together (`recipes.data.pipeline.Share`).
        **options: See `DataOptions`.

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
    found = find_data(data, **options)
    settings = {**_DEFAULTS, **options}
    return make_bundle(
        found,
        batch_size=settings["batch_size"],
        seed=settings["seed"],
        policy=resolve_policy(augment, settings["input_size"]),
        shuffle=settings["shuffle"],
        share=share,
    )


def find_data(data: DataSettings | None = None, **options: Unpack[DataOptions]) -> SourceData:
    """Finds, checks and decodes (and caches) a source's images, before batching.

    Args:
        data: Where the images come from and how they are read.
        **options: See `DataOptions`.

    Returns:
        The source's splits and facts.

    Raises:
        UsageError: See `load_data`.
    """
    data = data if data is not None else DataSettings()
    check_section(data)
    unknown = sorted(set(options) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"Unknown data options: {', '.join(unknown)}")
    settings = {**_DEFAULTS, **options}
    _check_batch_size(settings["batch_size"])
    size = check_image_args(settings["input_size"], settings["channels"], data.interpolation)
    if data.data_dir is not None and data.dataset is not None:
        raise UsageError("Give either --data DIR or --dataset NAME, not both.")
    found = _load_source(data, size, settings)
    check_class_count(settings["classes"], found.class_names)
    found.input_size, found.channels = size, settings["channels"]
    return found


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(
            f"batch_size must be a positive integer. Received: batch_size={quoted(batch_size)}"
        )


def _load_source(data: DataSettings, input_size: tuple[int, int], settings: Any) -> SourceData:
    read = {"input_size": input_size, "channels": settings["channels"], "seed": settings["seed"]}
    if data.data_dir is not None:
        from recipes.data.sources.folder import load_folder

        return load_folder(
            data, **read, shuffle=settings["shuffle"], batch_size=settings["batch_size"]
        )
    if data.dataset is not None:
        from recipes.data.sources.tfds import load_tfds

        return load_tfds(
            data, **read, batch_size=settings["batch_size"], download=settings["download"]
        )
    from recipes.data.sources.builtin import load_builtin

    return load_builtin(data, **read, classes=settings["classes"])


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
