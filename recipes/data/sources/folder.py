"""An image folder as a data source: class sub-folders, or train/ val/ test/ splits of them.

A folder of class folders is split into train and validation by `val_split`
(stratified per class, `recipes.data.splits`); so is a `train/` without a
`val/`. Class order (the label of each class) is the sorted folder names
(Python string order, as in `keras.utils.image_dataset_from_directory`). What
the listing alone shows to be wrong (no classes, an empty class, a class
missing from a split) is refused before any file is decoded.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from recipes.config.schema import DataSettings
from recipes.data.bundle import SPLIT_NAMES, SourceData
from recipes.data.cache import available_memory, plan_cache
from recipes.data.check import Checked, check_files
from recipes.data.decode import uint8_decoder
from recipes.data.files import check_name
from recipes.data.listing import Listing, list_folder
from recipes.data.pipeline import Split, buffer_for, select
from recipes.data.splits import stratified_split
from zoo.errors import UsageError


def load_folder(
    data: DataSettings,
    *,
    input_size: tuple[int, int],
    channels: int,
    seed: int,
    shuffle: bool,
    batch_size: int,
) -> SourceData:
    """Lists, checks, decodes (and caches) an image folder, and splits it.

    Args:
        data: The data settings (`data_dir` is the folder).
        input_size: `(height, width)` the images are decoded to.
        channels: 1 or 3.
        seed: Seed of the split and of a streamed split's shuffle.
        shuffle: Whether the training split is shuffled (decided here when it
            is streamed rather than cached).
        batch_size: Images per training step, for the memory the cache may take.

    Returns:
        The splits and what is known about them.

    Raises:
        UsageError: A missing folder, a file instead of a folder, an empty
            class (without `drop_empty_classes`), fewer than 2 classes, a split
            missing a class, or too few images to split.
        ZooError: The file cache cannot be written or read.
    """
    listing = list_folder(data.data_dir)
    dropped = _check_classes(listing, data.drop_empty_classes)
    for classes in listing.splits.values():
        for name in dropped:
            classes.pop(name, None)
    cache, cache_note = plan_cache(
        str(data.cache),
        listing.image_count(),
        input_size,
        channels,
        available_memory(),
        batch_size=batch_size,
    )
    checked = check_files(listing, input_size, channels, data.interpolation, data.max_pixels, cache)
    good = checked.good_by_class()
    dropped |= _empty_after_decoding(listing, good, data.drop_empty_classes)
    all_classes = sorted({name for classes in listing.splits.values() for name in classes})
    class_names = [name for name in all_classes if name not in dropped]
    _check_class_count(listing, class_names)

    members = _members(listing, checked, good, class_names, data.val_split, seed)
    position = {name: label for label, name in enumerate(class_names)}
    labels = [position.get(name, -1) for _, name, _ in checked.items]
    splits: dict[str, Split] = {}
    for split, indices in members.items():
        files = [checked.items[index][2] for index in indices]
        if checked.cached is not None:
            elements = select(checked.cached, indices, len(checked.sizes))
            buffer = buffer_for(len(indices), cache)
            splits[split] = Split(elements, len(indices), buffer, labels, files)
        else:
            streamed = _streaming(
                checked, indices, input_size, channels, data.interpolation,
                shuffle=split == "train" and shuffle, seed=seed,
            )  # fmt: skip
            splits[split] = Split(streamed, None, None, labels, files)
    counts = {}
    for split, indices in members.items():
        counted = Counter(checked.items[index][1] for index in indices)
        counts[split] = {name: counted.get(name, 0) for name in class_names}
    return SourceData(
        splits=splits,
        class_names=class_names,
        counts=counts,
        source=f"folder {listing.root}",
        layout=listing.layout,
        bad=sorted(listing.bad + checked.bad, key=lambda entry: entry["path"]),
        ignored=listing.ignored + checked.ignored,
        converted=checked.converted,
        dropped_classes=sorted(dropped),
        cache=cache,
        cache_note=cache_note,
        source_size=checked.source_size(),
    )


def _members(
    listing: Listing,
    checked: Checked,
    good: dict[tuple[str, str], list[int]],
    class_names: list[str],
    val_split: float,
    seed: int,
) -> dict[str, list[int]]:
    """The usable files of each split present, splitting train when there is no val/."""
    members: dict[str, list[int]] = {split: [] for split in SPLIT_NAMES}
    sources = {"all": "train"} if listing.layout == "classes" else {s: s for s in listing.splits}
    for split, target in sources.items():
        for name in class_names:
            members[target].extend(good[(split, name)])
    if (listing.layout == "classes" or "val" not in listing.splits) and val_split > 0:
        by_class: dict[str, list[int]] = {name: [] for name in class_names}
        for index in members["train"]:
            by_class[checked.items[index][1]].append(index)
        for indices in by_class.values():
            indices.sort(key=lambda index: checked.items[index][2])
        members["train"], members["val"] = stratified_split(by_class, val_split, seed)
    # In file order, the order of the cache: an unshuffled pass yields `Split.files` in order.
    return {split: sorted(indices) for split, indices in members.items() if indices}


def _empty_after_decoding(
    listing: Listing, good: dict[tuple[str, str], list[int]], drop_empty: bool
) -> set[str]:
    """Classes with files but no usable image: dropped, or refused with the fix."""
    dropped: set[str] = set()
    for split, classes in listing.splits.items():
        for name, files in classes.items():
            if good.get((split, name)):
                continue
            if drop_empty:
                dropped.add(name)
                continue
            raise UsageError(
                f"Class folder {os.path.join(listing.root, listing.class_folder(split, name))} "
                f"has no usable image ({len(files)} file{'s' if len(files) != 1 else ''}, none "
                "readable; `zoo data check` lists why); add images, remove it, or pass "
                "--drop-empty-classes."
            )
    return dropped


def folder_classes(data: DataSettings) -> list[str]:
    """The classes of an image folder, from its listing alone (no image is opened).

    Args:
        data: The data settings (`data_dir` is the folder).

    Returns:
        The class names a run on the folder gets (empty classes dropped with
        `drop_empty_classes`).

    Raises:
        UsageError: As `load_folder` for the folder's layout and classes.
    """
    listing = list_folder(data.data_dir)
    dropped = _check_classes(listing, data.drop_empty_classes)
    return sorted({name for classes in listing.splits.values() for name in classes} - dropped)


def _check_classes(listing: Listing, drop_empty: bool) -> set[str]:
    """Refuses (or, with `drop_empty`, returns) classes missing or empty in some split."""
    splits = listing.splits
    all_classes = sorted({name for classes in splits.values() for name in classes})
    if not all_classes:
        raise UsageError(
            f"{listing.where(next(iter(splits)))} has no class sub-folders; put the images "
            "of each class in a sub-folder named after the class."
        )
    dropped: set[str] = set()
    for split, classes in splits.items():
        for name in all_classes:
            if name not in classes:
                if not drop_empty:
                    raise UsageError(
                        f"{listing.where(split)} has no folder for class {name!r}; add "
                        f"{listing.class_folder(split, name)}/ with images of it, or remove "
                        "the class from the other splits."
                    )
                dropped.add(name)
            elif not any(check_name(path) is None for path in classes[name]):
                if not drop_empty:
                    folder = os.path.join(listing.root, listing.class_folder(split, name))
                    raise UsageError(
                        f"Class folder {folder} is empty (no JPEG, PNG, GIF or BMP file); "
                        "add images, remove it, or pass --drop-empty-classes."
                    )
                dropped.add(name)
    _check_class_count(listing, [name for name in all_classes if name not in dropped])
    return dropped


def _check_class_count(listing: Listing, class_names: list[str]) -> None:
    if len(class_names) < 2:
        found = ", ".join(class_names) or "none"
        raise UsageError(
            f"{listing.root} has {len(class_names)} class{'es' if len(class_names) != 1 else ''} "
            f"with usable images ({found}); a classifier needs at least 2 class sub-folders."
        )


def _streaming(
    checked: Checked,
    indices: list[int],
    input_size: tuple[int, int],
    channels: int,
    interpolation: str,
    *,
    shuffle: bool,
    seed: int,
) -> Any:
    """Without a cache: `(index, image)` of a split's usable files, decoded every epoch."""
    import tensorflow as tf

    decode = uint8_decoder(input_size, channels, interpolation)
    paths = [os.fsencode(checked.items[index][2]) for index in indices]
    override = [checked.overrides.get(index, b"") for index in indices]
    data = tf.data.Dataset.from_tensor_slices(
        (
            tf.constant(indices, tf.int64),
            tf.constant(paths, tf.string),
            tf.constant(override, tf.string),
        )
    )
    if shuffle:  # file names are cheap to shuffle completely
        data = data.shuffle(len(indices), seed=seed, reshuffle_each_iteration=True)

    def load(index: Any, path: Any, contents: Any) -> tuple[Any, Any]:
        contents = tf.cond(
            tf.strings.length(contents) > 0, lambda: contents, lambda: tf.io.read_file(path)
        )
        return index, decode(contents)[0]

    # A file changed since the check pass must not end the epoch.
    return data.map(load, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
