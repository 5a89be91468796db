"""Data sources to `tf.data` pipelines: image folders, tensorflow-datasets, `shapes`.

`load_data(DataConfig(...))` returns a `DataBundle` with `train`, `val` and
`test` pipelines and the class names. Every pipeline yields batches
`(images, labels)`: `float32 [B, height, width, channels]` images in 0..255
(normalisation is inside the model) and one-hot `float32 [B, num_classes]`
labels (MixUp and CutMix make them soft). Augmentation runs on `train` only.
`train` makes one pass over the split per iteration (no `repeat`), so
`model.fit(bundle.train, validation_data=bundle.val, epochs=N)` works.

Sources:

- `data_dir` with one sub-folder per class (split into train and validation,
  stratified per class by `val_split` and `seed`), or with `train/`, `val/` or
  `validation/`, and optionally `test/`, each holding class sub-folders (and no
  images of its own: a `train/` of images is a class like any other). A
  `train/` without `val/` is split like a plain folder. Files are found
  recursively inside a class folder; links to folders inside it are not
  followed (they are listed as ignored).
- `dataset`: a tensorflow-datasets name (`cifar10`, `tf_flowers`, ...) read
  with `tfds.builder(name, data_dir=tfds_data_dir)` (downloaded and prepared
  when it is not on disk and the machine is online; otherwise one line says how
  to prepare it). Its `validation` split is used when it has one, else a
  stratified `val_split` share of `train`; `test` when it has one. Encoded
  images are decoded by the same decoder as files. `zoo_shapes/classes_N` is
  the built-in set as a tensorflow-datasets builder (`recipes.tfds_shapes`).
- neither: the built-in `shapes` set with `num_classes` classes (default 10),
  generated in memory (`recipes.shapes`).

Class order (the label index of each class) is the sorted folder names
(Python string order, as in `keras.utils.image_dataset_from_directory`), the
dataset's own label order for tensorflow-datasets, and the sorted shape names
for `shapes`; the trainer saves it with every run.

Every image file goes through one pass before training: a header check
(`recipes.images.quick_check`: name, format, size), then the training decoder
itself (`recipes.images.decode_and_resize`). Bad files (empty, corrupt or
truncated, not an image, unsupported type, over `max_pixels`) are left out and
listed in `DataBundle.bad` with the reason; files TensorFlow cannot decode but
Pillow can (palette BMPs, ...) are normalised and listed in
`DataBundle.converted`. An epoch never meets a bad file. That pass also
fills the cache (`cache="memory"` or a file path) with the decoded, resized
images, stored as `uint8` (rounded; a quarter of the memory of `float32`), so
later epochs decode nothing. `cache="none"` decodes every epoch (after the same
check pass). An in-memory cache that would take more than half of the available
memory is not made: the data is decoded every epoch instead, and
`DataBundle.cache` and `cache_note` say so (`plan_cache`). A file cache is
filled under a lock, so a second run waits for it and a run killed while
filling it leaves nothing that blocks the next one. Parallel decode, shuffle and
prefetch use `tf.data.AUTOTUNE`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import random
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from recipes import images as image_lib
from recipes.images import DEFAULT_MAX_PIXELS
from zoo.errors import UnknownNameError, UsageError, ZooError

SPLIT_NAMES = ("train", "val", "test")
_SPLIT_FOLDERS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
_SKIPPED_FOLDERS = ("__MACOSX",)
CACHE_MODES = ("memory", "none")
"""Cache settings besides a file path."""

DEFAULT_NUM_CLASSES = 10
"""Classes of the built-in set when none are asked for."""

_CHECK_SIZE = (32, 32)  # `scan` resizes to this: the decode is the point, not the size
MEMORY_SHARE = 0.5
"""Largest share of the available memory an in-memory cache may take."""


class DataUnavailableError(ZooError):
    """A tensorflow-datasets dataset that is not prepared and cannot be downloaded."""


@dataclass
class DataConfig:
    """Where the data comes from and how the pipelines are built.

    Attributes:
        data_dir: Folder of class sub-folders, or of `train/`, `val/` (or
            `validation/`) and `test/` folders of class sub-folders.
        dataset: tensorflow-datasets name (with optional config and version,
            e.g. `cifar10` or `mnist:3.*.*`).
        tfds_data_dir: tensorflow-datasets data folder (default: its own,
            `~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        image_size: `(height, width)` of the pipeline's images.
        channels: 1 (grayscale) or 3 (RGB).
        batch_size: Images per batch.
        val_split: Fraction of each class held out for validation when the
            source has no validation split, in [0, 1); 0 gives no `val`.
        seed: Seed of the split, the shuffle, augmentation and `shapes`.
        num_classes: Classes of the built-in set; with other data, the number
            of classes the data must have.
        shapes_per_class: Train plus validation images per class of the
            built-in set.
        shapes_test_per_class: Test images per class of the built-in set
            (default: as many as validation).
        augment: Preset: `none`, `light`, `standard` or `strong` (see
            `recipes.augment`).
        flip: Override of the preset's random horizontal flip.
        rotation: Override: largest rotation, as a fraction of a turn.
        translation: Override: largest shift, as a fraction of the size.
        zoom: Override: largest zoom, as a fraction.
        contrast: Override: `RandomContrast` factor.
        randaugment: Override: RandAugment on or off.
        mixup: Override: MixUp alpha (0 = off).
        cutmix: Override: CutMix factor (0 = off).
        interpolation: Resize method (see `recipes.images.INTERPOLATIONS`).
        cache: `memory`, `none`, or a file path (a folder, or a file name
            prefix) for a disk cache of decoded images, for sets larger than
            memory. `memory` becomes `none` when the images would take more
            than `MEMORY_SHARE` of the available memory (see `plan_cache`).
        max_pixels: Images with more pixels (width x height) are skipped.
        drop_empty_classes: Drop class folders with no usable image instead of
            refusing them.
        shuffle: Shuffle the training split every epoch.
        shuffle_buffer: Shuffle buffer size (default: the whole split when
            cached in memory, else 2048 images).
        download: Let tensorflow-datasets download a dataset that is not
            prepared.
    """

    data_dir: str | None = None
    dataset: str | None = None
    tfds_data_dir: str | None = None
    image_size: tuple[int, int] = (224, 224)
    channels: int = 3
    batch_size: int = 32
    val_split: float = 0.2
    seed: int = 0
    num_classes: int | None = None
    shapes_per_class: int = 100
    shapes_test_per_class: int | None = None
    augment: str = "none"
    flip: bool | None = None
    rotation: float | None = None
    translation: float | None = None
    zoom: float | None = None
    contrast: float | None = None
    randaugment: bool | None = None
    mixup: float | None = None
    cutmix: float | None = None
    interpolation: str = "bilinear"
    cache: str = "memory"
    max_pixels: int = DEFAULT_MAX_PIXELS
    drop_empty_classes: bool = False
    shuffle: bool = True
    shuffle_buffer: int | None = None
    download: bool = True


@dataclass
class DataBundle:
    """The pipelines of one data source, and what is known about it.

    Attributes:
        train: Training batches `(images, one_hot_labels)`, shuffled and
            augmented as configured.
        val: Validation batches, or `None` when there is no validation split
            (`val_split=0`).
        test: Test batches, or `None` when the source has no test split.
        class_names: Class names in label order.
        counts: Usable images per split per class: `{"train": {"cat": 12}}`.
        bad: Skipped files: `{"path": ..., "reason": ...}`.
        ignored: Files and folders that are not images (`{"path", "reason"}`).
        converted: Files normalised with Pillow before decoding.
        source: What the data is (`folder DIR`, `tfds NAME`, `shapes`).
        layout: `classes`, `splits`, `tfds` or `shapes`.
        image_size: `(height, width)` of the images.
        channels: Channels of the images.
        augment: The augmentation policy applied to `train`.
        dropped_classes: Empty classes left out (`drop_empty_classes`).
        cache: The cache used: `memory`, `none` or the file cache's path.
        cache_note: Why `cache` is not the one asked for (empty when it is).
    """

    train: Any
    val: Any | None
    test: Any | None
    class_names: list[str]
    counts: dict[str, dict[str, int]]
    bad: list[dict[str, str]]
    ignored: list[dict[str, str]]
    source: str
    converted: list[dict[str, str]] = field(default_factory=list)
    layout: str = "classes"
    image_size: tuple[int, int] = (224, 224)
    channels: int = 3
    augment: dict[str, Any] = field(default_factory=dict)
    dropped_classes: list[str] = field(default_factory=list)
    cache: str = "memory"
    cache_note: str = ""

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def summary(self) -> dict[str, Any]:
        """Everything but the pipelines, as plain JSON-able data."""
        return {
            "source": self.source,
            "layout": self.layout,
            "class_names": list(self.class_names),
            "counts": self.counts,
            "image_size": list(self.image_size),
            "channels": self.channels,
            "augment": self.augment,
            "bad": self.bad,
            "ignored": self.ignored,
            "converted": self.converted,
            "dropped_classes": self.dropped_classes,
            "cache": self.cache,
            "cache_note": self.cache_note,
        }


# --------------------------------------------------------------------------- public API


def load_data(config: DataConfig) -> DataBundle:
    """Builds the train, validation and test pipelines of a data source.

    Args:
        config: The source and the pipeline settings.

    Returns:
        The pipelines, class names, counts and skipped files.

    Raises:
        UsageError: Bad settings, a missing folder, a file instead of a folder,
            an empty class (without `drop_empty_classes`), fewer than 2
            classes, a split missing a class, too few images for the split, an
            unknown dataset name, or `num_classes` not matching the data.
        DataUnavailableError: The dataset is not prepared and cannot be
            downloaded.
        ZooError: The file cache cannot be written or read.
    """
    config = dataclasses.replace(config)
    _check_config(config)
    if config.data_dir is not None and config.dataset is not None:
        raise UsageError("Give either --data DIR or --dataset NAME, not both.")
    if config.data_dir is not None:
        bundle = _load_folder(config)
    elif config.dataset is not None:
        bundle = _load_tfds(config)
    else:
        return _load_shapes(config)
    if config.num_classes is not None and config.num_classes != bundle.num_classes:
        found = bundle.num_classes
        shown = ", ".join(bundle.class_names[:5]) + (", ..." if found > 5 else "")
        raise UsageError(
            f"--classes {config.num_classes} does not match the data, which has {found} "
            f"classes ({shown}); pass --classes {found}."
        )
    return bundle


def scan(data_dir: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Checks every file of an image folder exactly as training does.

    A file is usable here when, and only when, `load_data` uses it: the same
    header check and decode pass judge it. Pillow only reads the format and
    mode of the usable files for the statistics. Nothing is refused: empty
    classes and other things training would refuse are listed under
    `problems`.

    Args:
        data_dir: A folder as `DataConfig.data_dir` takes it.
        max_pixels: Images with more pixels are reported as bad.

    Returns:
        JSON-able: `data_dir`, `layout` (`classes` or `splits`), `classes`,
        `counts` (usable images per class, or per split per class for the
        `splits` layout), `images` (`files`, `usable`, `bad`, `converted`, and
        `width`/`height` statistics `min`/`max`/`mean`, `formats`, `modes`),
        `bad`, `ignored` and `converted` (lists of `{path, reason}`),
        `unused_folders` (folders next to `train/` that are not split folders,
        relative to `data_dir`), `empty_classes` (class folders, relative to
        `data_dir`, with no usable image) and `problems` (what `zoo train`
        would refuse with its default settings, one line each).

    Raises:
        UsageError: The folder is missing or is a file.
    """
    if not isinstance(max_pixels, int) or max_pixels < 1:
        raise UsageError(f"max_pixels must be a positive int. Received: max_pixels={max_pixels!r}")
    listing = _list_folder(data_dir)
    checked = _check_files(listing, _CHECK_SIZE, 3, "bilinear", max_pixels, cache="none")
    counts: dict[str, dict[str, int]] = {}
    for (split, name), indices in checked.good_by_class().items():
        counts.setdefault(split, {})[name] = len(indices)
    for split, classes in listing.splits.items():
        for name in classes:
            counts.setdefault(split, {}).setdefault(name, 0)
    counts = {split: dict(sorted(per_class.items())) for split, per_class in counts.items()}
    classes = sorted({name for per_class in counts.values() for name in per_class})
    empty = [
        listing.class_folder(split, name)
        for split, per_class in counts.items()
        for name, count in per_class.items()
        if count == 0
    ]
    problems = _problems(listing, counts)
    sizes = checked.sizes
    heights = [size[0] for size in sizes.values()]
    widths = [size[1] for size in sizes.values()]
    described = [_format_and_mode(checked.items[index][2]) for index in sorted(sizes)]
    return {
        "data_dir": str(data_dir),
        "layout": listing.layout,
        "classes": classes,
        "counts": counts if listing.layout == "splits" else counts.get("all", {}),
        "images": {
            "files": len(checked.items),
            "usable": len(sizes),
            "bad": len(checked.bad),
            "converted": len(checked.converted),
            "width": _stats(widths),
            "height": _stats(heights),
            "formats": dict(sorted(Counter(fmt for fmt, _ in described).items())),
            "modes": dict(sorted(Counter(mode for _, mode in described).items())),
        },
        "bad": checked.bad,
        "ignored": listing.ignored + checked.ignored,
        "converted": checked.converted,
        "unused_folders": listing.unused,
        "empty_classes": empty,
        "problems": problems,
    }


def _format_and_mode(path: str) -> tuple[str, str]:
    """Format and Pillow mode of a usable file, for statistics only.

    A file the decode pass accepted stays usable whatever Pillow thinks of it:
    when Pillow cannot open it, the format comes from its header and the mode
    is `unknown`.
    """
    check = image_lib.check_file(path)
    if check.format is not None and check.mode is not None:
        return check.format, check.mode
    try:
        header = image_lib.read_header(path)
    except OSError:
        header = None
    return (header.format if header else "unknown"), "unknown"


def plan_cache(
    cache: str, images: int, image_size: tuple[int, int], channels: int, available: int | None
) -> tuple[str, str]:
    """The cache to use, and why it is not the one asked for.

    An in-memory cache holds every image decoded as `uint8`; when it would take
    more than `MEMORY_SHARE` of the available memory, the images are decoded
    every epoch instead.

    Args:
        cache: The cache asked for: `memory`, `none` or a file path.
        images: Images to cache (an upper bound will do).
        image_size: `(height, width)` of the cached images.
        channels: Channels of the cached images.
        available: Bytes of available memory, or `None` when unknown.

    Returns:
        `(cache, note)`: `cache` itself and an empty note, or `none` and one
        line saying why.
    """
    if cache != "memory" or available is None:
        return cache, ""
    height, width = image_size
    needed = images * height * width * channels
    if needed <= available * MEMORY_SHARE:
        return cache, ""
    return "none", (
        f"no in-memory cache: {images} images at {height}x{width} would take "
        f"{needed / 2**30:.1f} GiB of the {available / 2**30:.1f} GiB of memory available, so "
        "they are decoded every epoch; use a smaller image size or --cache PATH for speed"
    )


_CGROUP_MEMORY_LIMITS = (
    "/sys/fs/cgroup/memory.max",  # cgroup v2 ("max" when unlimited)
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroup v1
)


def _available_memory() -> int | None:
    """Bytes of memory available: the system's (`MemAvailable`), within a container's limit.

    Returns:
        The bytes, or `None` when the system does not say.
    """
    available = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    for path in _CGROUP_MEMORY_LIMITS:
        try:
            with open(path) as handle:
                available = min(available, int(handle.read()))
        except (OSError, ValueError):
            continue
    return available


# --------------------------------------------------------------------------- config checks


def _check_config(config: DataConfig) -> None:
    image_lib.check_image_args(config.image_size, config.channels, config.interpolation)
    config.image_size = _pair(config.image_size)
    if isinstance(config.batch_size, bool) or not isinstance(config.batch_size, int):
        raise UsageError(f"--batch-size must be an int. Received: batch_size={config.batch_size!r}")
    if config.batch_size < 1:
        raise UsageError(
            f"--batch-size must be at least 1. Received: batch_size={config.batch_size}"
        )
    try:
        val_split = float(config.val_split)
    except (TypeError, ValueError):
        val_split = math.nan
    if not 0.0 <= val_split < 1.0:
        raise UsageError(
            f"--val-split must be at least 0 and below 1, e.g. 0.2. "
            f"Received: val_split={config.val_split!r}"
        )
    config.val_split = val_split
    if not isinstance(config.max_pixels, int) or config.max_pixels < 1:
        raise UsageError(
            f"--max-pixels must be a positive int. Received: max_pixels={config.max_pixels!r}"
        )
    if config.cache is None:
        config.cache = "none"
    if not isinstance(config.cache, str | os.PathLike) or not str(config.cache):
        raise UsageError(
            f"cache must be 'memory', 'none' or a file path. Received: cache={config.cache!r}"
        )
    if config.shuffle_buffer is not None and config.shuffle_buffer < 1:
        raise UsageError(
            f"--shuffle-buffer must be at least 1. Received: shuffle_buffer={config.shuffle_buffer}"
        )
    if config.num_classes is not None and (
        isinstance(config.num_classes, bool)
        or not isinstance(config.num_classes, int)
        or config.num_classes < 2
    ):
        raise UsageError(
            f"--classes must be an int of at least 2. Received: num_classes={config.num_classes!r}"
        )
    _policy(config)  # bad augmentation settings fail before any data is read


def _pair(size: Any) -> tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    height, width = size
    return (int(height), int(width))


def _policy(config: DataConfig) -> Any:
    from recipes.augment import SWITCHES, resolve_policy

    return resolve_policy(config.augment, **{name: getattr(config, name) for name in SWITCHES})


# --------------------------------------------------------------------------- folders


@dataclass
class _Listing:
    """The files of an image folder, before any of them is opened."""

    root: str
    layout: str  # "classes" (one folder of class folders) or "splits"
    # split ("all" for the classes layout) -> class -> files, sorted
    splits: dict[str, dict[str, list[str]]]
    split_dirs: dict[str, str]
    ignored: list[dict[str, str]]
    unused: list[str] = field(default_factory=list)  # folders next to train/, not splits

    def class_folder(self, split: str, name: str) -> str:
        folder = name if self.layout == "classes" else f"{self.split_dirs[split]}/{name}"
        return folder


def _list_folder(data_dir: str) -> _Listing:
    root = os.fspath(data_dir)
    if not os.path.exists(root):
        raise UsageError(
            f"Data folder not found: {root}; pass a folder with one sub-folder of images "
            "per class (or train/ and val/ folders of them)."
        )
    if not os.path.isdir(root):
        hint = (
            " (extract the archive first)"
            if root.lower().endswith((".zip", ".tar", ".gz", ".tgz"))
            else ""
        )
        raise UsageError(
            f"--data must be a folder, but {root} is a file{hint}; pass the folder that "
            "holds one sub-folder per class."
        )
    ignored: list[dict[str, str]] = []
    folders, files = _children(root, ignored)
    split_dirs: dict[str, str] = {}
    for name in folders:
        split = _SPLIT_FOLDERS.get(name.lower())
        if split is None or not _is_split_folder(os.path.join(root, name)):
            continue
        if split in split_dirs:
            raise UsageError(
                f"{root} has both {split_dirs[split]}/ and {name}/; keep one validation folder."
            )
        split_dirs[split] = name
    unused: list[str] = []
    if "train" in split_dirs:
        layout = "splits"
        for name in folders:
            if name not in split_dirs.values():
                unused.append(name)
                ignored.append(
                    {
                        "path": os.path.join(root, name),
                        "reason": "not a split folder (expected train/, val/ or validation/, "
                        "test/, each holding class sub-folders)",
                    }
                )
        for name in files:
            ignored.append({"path": os.path.join(root, name), "reason": "not in a class folder"})
        splits = {
            split: _list_classes(os.path.join(root, folder), ignored)
            for split, folder in split_dirs.items()
        }
    elif split_dirs:
        present = ", ".join(f"{folder}/" for folder in split_dirs.values())
        raise UsageError(
            f"{root} has {present} but no train/ folder; add train/ with class sub-folders, "
            "or pass a folder of class sub-folders."
        )
    else:
        layout = "classes"
        splits = {"all": _list_classes(root, ignored)}
    return _Listing(root, layout, splits, split_dirs, ignored, unused)


def _is_split_folder(folder: str) -> bool:
    """Whether a folder named like a split holds class sub-folders and no images of its own.

    Otherwise it is a class folder that happens to be called `train`, `test`, ...
    """
    folders, files = _children(folder, [])
    for name in files:
        check = image_lib.check_name(os.path.join(folder, name))
        if check is None or check.status == "bad":  # an image file, of any type
            return False
    return bool(folders)


def _children(folder: str, ignored: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    folders, files = [], []
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        raise UsageError(f"Cannot read {folder}: {error.strerror or error}.") from None
    for entry in entries:
        if entry.name.startswith(".") or entry.name in _SKIPPED_FOLDERS:
            ignored.append({"path": entry.path, "reason": "hidden"})
        elif entry.is_dir():
            folders.append(entry.name)
        else:
            files.append(entry.name)
    return folders, files


def _list_classes(folder: str, ignored: list[dict[str, str]]) -> dict[str, list[str]]:
    names, files = _children(folder, ignored)
    for name in files:
        ignored.append({"path": os.path.join(folder, name), "reason": "not in a class folder"})
    classes: dict[str, list[str]] = {}
    for name in names:
        found: list[str] = []
        for parent, subfolders, filenames in os.walk(os.path.join(folder, name)):
            kept = []
            for sub in sorted(subfolders):
                if sub.startswith(".") or sub in _SKIPPED_FOLDERS:
                    ignored.append({"path": os.path.join(parent, sub), "reason": "hidden"})
                elif os.path.islink(os.path.join(parent, sub)):
                    ignored.append(
                        {
                            "path": os.path.join(parent, sub),
                            "reason": "link to a folder, not followed; copy or move its "
                            "images into the class folder",
                        }
                    )
                else:
                    kept.append(sub)
            subfolders[:] = kept
            found.extend(os.path.join(parent, filename) for filename in filenames)
        classes[name] = sorted(found)
    return classes


@dataclass
class _Checked:
    """Every candidate file of a folder after the checks and the decode pass."""

    items: list[tuple[str, str, str]]  # (split, class, path), by index
    sizes: dict[int, tuple[int, int] | None]  # usable index -> decoded (height, width)
    overrides: dict[int, bytes]  # index -> Pillow-normalised PNG
    bad: list[dict[str, str]]
    ignored: list[dict[str, str]]
    converted: list[dict[str, str]]
    cached: Any = None  # dataset of (index, image uint8) over the usable files, or None

    def good_by_class(self) -> dict[tuple[str, str], list[int]]:
        grouped: dict[tuple[str, str], list[int]] = {}
        for index in sorted(self.sizes):
            split, name, _ = self.items[index]
            grouped.setdefault((split, name), []).append(index)
        return grouped


def _check_files(
    listing: _Listing,
    image_size: tuple[int, int],
    channels: int,
    interpolation: str,
    max_pixels: int,
    cache: str,
) -> _Checked:
    """Checks every file and decodes every usable one with the training decoder.

    Names and headers are checked in Python (`images.quick_check`), pixels
    (`images.decode_and_measure`) in the parallel `tf.data` pass, which with
    `cache` `memory` or a path also fills that cache (`_Checked.cached` reads
    it). Only the files that fail get a closer look with Pillow, for the reason
    or a normalised copy.

    Raises:
        ZooError: The file cache cannot be written or read.
    """
    import tensorflow as tf

    items = [
        (split, name, path)
        for split, classes in listing.splits.items()
        for name, paths in classes.items()
        for path in paths
    ]
    bad: list[dict[str, str]] = []
    ignored: list[dict[str, str]] = []
    converted: list[dict[str, str]] = []
    overrides: dict[int, bytes] = {}
    to_decode: list[int] = []
    for index, (_, _, path) in enumerate(items):
        check = image_lib.quick_check(path, max_pixels)
        if check.status == "ok":
            to_decode.append(index)
        elif check.status == "ignored":
            ignored.append({"path": path, "reason": check.reason})
        elif check.status == "bad":
            bad.append({"path": path, "reason": check.reason})
        else:
            _convert(index, path, check.reason, overrides, converted, bad)

    decode = _file_decoder(image_size, channels, interpolation)
    paths = [os.fsencode(items[index][2]) for index in to_decode]
    main = tf.data.Dataset.from_tensor_slices(
        (tf.constant(to_decode, tf.int64), tf.constant(paths, tf.string))
    )
    main = main.map(
        lambda index, path: (index, *decode(tf.io.read_file(path))),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).ignore_errors()
    if cache == "none":  # the sizes are for `scan`, which does not cache
        sizes = _drain(main)
    elif cache == "memory":
        main = main.map(lambda index, image, size: (index, image)).cache()
        sizes = _drain(main)
    else:
        name = _cache_file(cache, items, to_decode, image_size, channels, interpolation)
        main = main.map(lambda index, image, size: (index, image)).cache(name)
        with _filling(name):
            sizes = _drain(main)
    for index in sorted(set(to_decode) - set(sizes)):
        path = items[index][2]
        check = image_lib.check_file(path, max_pixels)
        if check.status == "bad":
            bad.append({"path": path, "reason": check.reason})
            continue
        if check.status == "convert":
            _convert(index, path, check.reason, overrides, converted, bad)
            continue
        reason = _decode_failure(path, image_size, channels, interpolation)
        if reason.startswith(_CONVERT):
            _convert(index, path, reason[len(_CONVERT) :], overrides, converted, bad)
        else:
            bad.append({"path": path, "reason": reason})
    cached = main if cache != "none" else None
    if overrides:
        extra = _bytes_dataset(overrides, image_size, channels, interpolation)
        if cache != "none":
            extra = extra.map(lambda index, image, size: (index, image)).cache()
        extra_sizes = _drain(extra)
        for index in sorted(set(overrides) - set(extra_sizes)):
            bad.append({"path": items[index][2], "reason": "corrupt image (fails to decode)"})
            del overrides[index]
        sizes.update(extra_sizes)
        cached = cached.concatenate(extra) if cached is not None else None
    bad.sort(key=lambda entry: entry["path"])
    converted.sort(key=lambda entry: entry["path"])
    return _Checked(items, sizes, overrides, bad, ignored, converted, cached)


_CONVERT = "convert:"  # prefix of `_decode_failure` verdicts that mean "normalise it"


def _file_decoder(
    image_size: tuple[int, int], channels: int, interpolation: str
) -> Callable[[Any], tuple[Any, Any]]:
    import tensorflow as tf

    def decode(contents: Any) -> tuple[Any, Any]:
        image, size = image_lib.decode_and_measure(contents, image_size, channels, interpolation)
        # Values are already clipped to 0..255; rounding keeps the uint8 cache unbiased.
        return tf.cast(tf.round(image), tf.uint8), size

    return decode


def _bytes_dataset(
    overrides: dict[int, bytes], image_size: tuple[int, int], channels: int, interpolation: str
) -> Any:
    import tensorflow as tf

    decode = _file_decoder(image_size, channels, interpolation)
    indices = sorted(overrides)
    data = tf.data.Dataset.from_tensor_slices(
        (
            tf.constant(indices, tf.int64),
            tf.constant([overrides[index] for index in indices], tf.string),
        )
    )
    return data.map(lambda index, contents: (index, *decode(contents))).ignore_errors()


def _drain(dataset: Any) -> dict[int, tuple[int, int] | None]:
    """Runs a dataset of `(index, image[, size])` to its end, filling its cache.

    Returns:
        The indices that came through, each with its decoded `(height, width)`
        when the elements carry it, else `None`.
    """
    sizes: dict[int, tuple[int, int] | None] = {}
    if len(dataset.element_spec) == 3:
        for indices, shapes in dataset.map(lambda index, image, size: (index, size)).batch(4096):
            for index, (height, width) in zip(indices.numpy(), shapes.numpy(), strict=True):
                sizes[int(index)] = (int(height), int(width))
    else:
        for indices in dataset.map(lambda index, image: index).batch(4096):
            sizes.update(dict.fromkeys(int(index) for index in indices.numpy()))
    return sizes


def _convert(
    index: int,
    path: str,
    reason: str,
    overrides: dict[int, bytes],
    converted: list[dict[str, str]],
    bad: list[dict[str, str]],
) -> None:
    try:
        overrides[index] = image_lib.pillow_png(path)
    except OSError as error:
        bad.append({"path": path, "reason": f"corrupt or truncated image ({_short(error)})"})
        return
    converted.append({"path": path, "reason": reason})


def _decode_failure(
    path: str, image_size: tuple[int, int], channels: int, interpolation: str
) -> str:
    """Why a file that passed Pillow's header check failed the decode pass.

    Returns:
        The reason to report it as bad, or `_CONVERT` and the reason to
        normalise it with Pillow (TensorFlow cannot read it, Pillow can).
    """
    import tensorflow as tf

    try:
        with open(path, "rb") as handle:
            contents = tf.constant(handle.read())
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    message = "it fails to decode"
    try:
        image_lib.decode_and_resize(contents, image_size, channels, interpolation)
    except tf.errors.OpError as error:
        message = image_lib.decoder_message(error)
    try:
        image_lib.pillow_png(path)
    except OSError as error:
        return f"corrupt or truncated image ({message}; Pillow: {_short(error)})"
    return f"{_CONVERT}TensorFlow cannot decode it ({message}); normalised with Pillow"


def _cache_file(
    cache: str,
    items: list[tuple[str, str, str]],
    indices: list[int],
    image_size: tuple[int, int],
    channels: int,
    interpolation: str,
) -> str:
    """A cache file name unique to the files (and their sizes and times) and the settings.

    A stale cache of other data or settings is never read back.
    """
    digest = hashlib.sha1(repr((image_size, channels, interpolation, 1)).encode())
    for index in indices:
        path = items[index][2]
        try:
            stat = os.stat(path)
            digest.update(f"{index}\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode(
                "utf-8", "surrogateescape"))  # fmt: skip
        except OSError:
            digest.update(f"{index}\0{path}\0missing\n".encode("utf-8", "surrogateescape"))
    return _cache_path(cache, "zoo-data", digest.hexdigest()[:16])


def _cache_path(cache: str, stem: str, key: str) -> str:
    """Where a file cache goes: `CACHE/STEM-KEY` in a folder, else `CACHE-KEY`.

    Raises:
        UsageError: The folder cannot be made.
    """
    cache = os.fspath(cache)
    in_folder = os.path.isdir(cache) or cache.endswith(os.sep)
    folder = cache if in_folder else os.path.dirname(cache)
    try:
        if folder:
            os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"Cannot make the data cache folder {folder} ({error.strerror}); pass --cache "
            "with a writable path, or --cache memory or --cache none."
        ) from None
    return os.path.join(cache, f"{stem}-{key}") if in_folder else f"{cache}-{key}"


@contextlib.contextmanager
def _filling(name: str) -> Iterator[None]:
    """Holds the lock of the file cache `name` while a dataset fills or reads it.

    TensorFlow writes a cache as `NAME_0.*` files, marked by `NAME_0.lockfile`,
    and merges them into `NAME.index` and `NAME.data-*` only at the end; a run
    killed while filling leaves the lockfile behind, and TensorFlow then refuses
    to fill that cache again. `NAME.lock` is locked with `flock`, which the
    system releases when its process dies, so the holder knows that any
    `NAME_0.*` file is a leftover and removes it. A second run that wants the
    same cache waits for the first, then reads the complete cache.

    Raises:
        ZooError: The cache cannot be written or read.
    """
    import fcntl
    import glob

    import tensorflow as tf

    fix = "pass --cache with another path, or --cache none"
    try:
        handle = open(f"{name}.lock", "a")
    except OSError as error:
        raise ZooError(
            f"Cannot write the data cache {name}: {error.strerror or error}; {fix}."
        ) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if not os.path.exists(f"{name}.index"):
            for path in glob.glob(f"{glob.escape(name)}_*"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
        try:
            yield
        except tf.errors.OpError as error:
            raise ZooError(
                f"The data cache {name} cannot be used ({image_lib.decoder_message(error)}); "
                f"delete {name}.* and run again, or {fix}."
            ) from None


def _load_folder(config: DataConfig) -> DataBundle:
    listing = _list_folder(config.data_dir)
    # What the listing alone shows is refused before any file is decoded.
    dropped = _check_classes(listing, config.drop_empty_classes)
    for classes in listing.splits.values():
        for name in dropped:
            classes.pop(name, None)
    images = sum(
        image_lib.is_image_name(path)
        for classes in listing.splits.values()
        for paths in classes.values()
        for path in paths
    )
    cache, cache_note = plan_cache(
        str(config.cache), images, config.image_size, config.channels, _available_memory()
    )
    checked = _check_files(
        listing,
        config.image_size,
        config.channels,
        config.interpolation,
        config.max_pixels,
        cache,
    )
    good = checked.good_by_class()
    for split, classes in listing.splits.items():
        for name, files in classes.items():
            if good.get((split, name)):
                continue
            if config.drop_empty_classes:
                dropped.add(name)
                continue
            raise UsageError(
                f"Class folder {os.path.join(listing.root, listing.class_folder(split, name))} "
                f"has no usable image ({len(files)} file{'s' if len(files) != 1 else ''}, none "
                "readable; `zoo data check` lists why); add images, remove it, or pass "
                "--drop-empty-classes."
            )
    all_classes = sorted({name for classes in listing.splits.values() for name in classes})
    class_names = [name for name in all_classes if name not in dropped]
    _check_class_count(listing, class_names)
    splits = listing.splits

    # Assign every usable file to a split.
    members: dict[str, list[int]] = {split: [] for split in SPLIT_NAMES}
    sources = {"all": "train"} if listing.layout == "classes" else {s: s for s in splits}
    for split, target in sources.items():
        for name in class_names:
            members[target].extend(good[(split, name)])
    need_split = listing.layout == "classes" or "val" not in splits
    if need_split and config.val_split > 0:
        by_class: dict[str, list[int]] = {name: [] for name in class_names}
        for index in members["train"]:
            by_class[checked.items[index][1]].append(index)
        for indices in by_class.values():
            indices.sort(key=lambda index: checked.items[index][2])
        members["train"], members["val"] = _stratified_split(
            by_class, config.val_split, config.seed
        )
    labels = _label_table(checked, class_names)
    counts = {
        split: _count(indices, checked, class_names)
        for split, indices in members.items()
        if indices
    }

    policy = _policy(config)
    pipelines: dict[str, Any] = {}
    for split in SPLIT_NAMES:
        indices = members[split]
        if not indices:
            pipelines[split] = None
            continue
        train = split == "train"
        if checked.cached is not None:
            data = _select(checked.cached, indices, len(checked.sizes))
            buffer = config.shuffle_buffer or (
                len(indices) if cache == "memory" else min(len(indices), 2048)
            )
        else:
            data = _streaming(checked, indices, config, shuffle=train and config.shuffle)
            buffer = None
        pipelines[split] = _finish(
            data,
            len(class_names),
            config,
            train=train,
            buffer=buffer,
            policy=policy if train else None,
            labels=labels,
            count=len(indices) if checked.cached is not None else None,
        )
    return DataBundle(
        train=pipelines["train"],
        val=pipelines["val"],
        test=pipelines["test"],
        class_names=class_names,
        counts=counts,
        bad=checked.bad,
        ignored=listing.ignored + checked.ignored,
        source=f"folder {listing.root}",
        converted=checked.converted,
        layout=listing.layout,
        image_size=config.image_size,
        channels=config.channels,
        augment=policy.to_dict(),
        dropped_classes=sorted(dropped),
        cache=cache,
        cache_note=cache_note,
    )


def _check_classes(listing: _Listing, drop_empty: bool) -> set[str]:
    """Refuses (or, with `drop_empty`, returns) classes missing or empty in some split."""
    splits = listing.splits
    all_classes = sorted({name for classes in splits.values() for name in classes})
    if not all_classes:
        raise UsageError(
            f"{_where(listing, next(iter(splits)))} has no class sub-folders; put the images "
            "of each class in a sub-folder named after the class."
        )
    dropped: set[str] = set()
    for split, classes in splits.items():
        for name in all_classes:
            if name not in classes:
                if not drop_empty:
                    raise UsageError(
                        f"{_where(listing, split)} has no folder for class {name!r}; add "
                        f"{listing.class_folder(split, name)}/ with images of it, or remove "
                        "the class from the other splits."
                    )
                dropped.add(name)
            elif not any(image_lib.check_name(path) is None for path in classes[name]):
                if not drop_empty:
                    folder = os.path.join(listing.root, listing.class_folder(split, name))
                    raise UsageError(
                        f"Class folder {folder} is empty (no JPEG, PNG, GIF or BMP file); "
                        "add images, remove it, or pass --drop-empty-classes."
                    )
                dropped.add(name)
    _check_class_count(listing, [name for name in all_classes if name not in dropped])
    return dropped


def _check_class_count(listing: _Listing, class_names: list[str]) -> None:
    if len(class_names) < 2:
        found = ", ".join(class_names) or "none"
        raise UsageError(
            f"{listing.root} has {len(class_names)} class{'es' if len(class_names) != 1 else ''} "
            f"with usable images ({found}); a classifier needs at least 2 class sub-folders."
        )


def _select(cached: Any, indices: list[int], usable: int) -> Any:
    """The elements (`(index, image, ...)`) of some indices, read from a shared cache."""
    import tensorflow as tf

    if len(indices) == usable:  # the whole cache: no need to look at each element
        return cached
    mask = [False] * (max(indices) + 1)
    for index in indices:
        mask[index] = True
    mask_tensor = tf.constant(mask)
    size = len(mask)
    return cached.filter(
        lambda index, *_: (index < size) & tf.gather(mask_tensor, tf.minimum(index, size - 1))
    )


def _where(listing: _Listing, split: str) -> str:
    if listing.layout == "classes":
        return listing.root
    return os.path.join(listing.root, listing.split_dirs[split])


def _stratified_split(
    by_class: dict[str, list[int]], val_split: float, seed: int
) -> tuple[list[int], list[int]]:
    """Splits each class by `val_split`, at least one member on each side.

    Each class is shuffled by its own generator, seeded with `seed` and the
    class name, so adding a class does not move another class's images.

    Args:
        by_class: Members (indices) of each class, in a canonical order.
        val_split: Fraction for validation, in (0, 1).
        seed: The split's seed.

    Returns:
        `(train, val)` indices, each sorted.

    Raises:
        UsageError: A class has fewer than 2 members.
    """
    train: list[int] = []
    val: list[int] = []
    for name, members in by_class.items():
        if len(members) < 2:
            raise UsageError(_too_few_to_split(name, len(members)) + ".")
        members = list(members)
        random.Random(f"{seed}:{name}").shuffle(members)
        count = min(max(1, round(len(members) * val_split)), len(members) - 1)
        val.extend(members[:count])
        train.extend(members[count:])
    return sorted(train), sorted(val)


def _too_few_to_split(name: str, count: int) -> str:
    return (
        f"Class {name!r} has only {count} usable image; a validation split needs at least 2 per "
        "class: add images, or pass --val-split 0 for no validation"
    )


def _label_table(checked: _Checked, class_names: list[str]) -> list[int]:
    position = {name: label for label, name in enumerate(class_names)}
    return [position.get(name, -1) for _, name, _ in checked.items]


def _count(indices: Iterable[int], checked: _Checked, class_names: list[str]) -> dict[str, int]:
    counted = Counter(checked.items[index][1] for index in indices)
    return {name: counted.get(name, 0) for name in class_names}


def _streaming(checked: _Checked, indices: list[int], config: DataConfig, shuffle: bool) -> Any:
    """Without a cache: `(index, image)` of a split's usable files, decoded every epoch."""
    import tensorflow as tf

    decode = _file_decoder(config.image_size, config.channels, config.interpolation)
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
        data = data.shuffle(len(indices), seed=config.seed, reshuffle_each_iteration=True)

    def load(index: Any, path: Any, contents: Any) -> tuple[Any, Any]:
        contents = tf.cond(
            tf.strings.length(contents) > 0, lambda: contents, lambda: tf.io.read_file(path)
        )
        return index, decode(contents)[0]

    # A file changed since the check pass must not end the epoch.
    return data.map(load, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()


def _finish(
    data: Any,
    num_classes: int,
    config: DataConfig,
    *,
    train: bool,
    buffer: int | None,
    policy: Any,
    labels: list[int] | None = None,
    count: int | None = None,
) -> Any:
    """Elements to prefetched `(float32 images, one-hot labels)` batches.

    Args:
        data: `(uint8 image, int label)` or `(index, uint8 image, int label)`
            elements, or `(index, uint8 image)` with `labels`.
        num_classes: Length of the one-hot labels.
        config: Batch size, shuffle and seed.
        train: Whether this is the training split (shuffled).
        buffer: Shuffle buffer (`None`: the elements come shuffled).
        policy: Augmentation policy, or `None`.
        labels: Label of each index, looked up per batch.
        count: The exact number of elements, when known: Keras then knows the
            steps per epoch from the start.

    Returns:
        The pipeline.
    """
    import tensorflow as tf

    from recipes.augment import build_augmenter

    if train and config.shuffle and buffer:
        data = data.shuffle(buffer, seed=config.seed, reshuffle_each_iteration=True)
    data = data.batch(config.batch_size)
    table = tf.constant(labels, tf.int32) if labels is not None else None

    def to_float(*batch: Any) -> tuple[Any, Any]:
        if table is not None:  # (indices, images)
            label_batch = tf.gather(table, batch[0])
        else:  # (images, labels) or (indices, images, labels)
            label_batch = batch[-1]
        images = batch[1] if len(batch) == 3 or table is not None else batch[0]
        return tf.cast(images, tf.float32), tf.one_hot(label_batch, num_classes, dtype=tf.float32)

    data = data.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    augment = build_augmenter(policy, config.seed) if policy is not None else None
    if augment is not None:
        data = data.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    if count is not None:
        batches = math.ceil(count / config.batch_size)
        data = data.apply(tf.data.experimental.assert_cardinality(batches))
    return data.prefetch(tf.data.AUTOTUNE)


def _problems(listing: _Listing, counts: dict[str, dict[str, int]]) -> list[str]:
    problems: list[str] = []
    classes = sorted({name for per_class in counts.values() for name in per_class})
    for split, per_class in counts.items():
        for name in classes:
            if name not in per_class:
                problems.append(f"{_where(listing, split)} has no folder for class {name!r}")
            elif per_class[name] == 0:
                problems.append(
                    f"class folder {listing.class_folder(split, name)} has no usable image"
                )
    usable = [name for name in classes if any(per.get(name) for per in counts.values())]
    if len(usable) < 2:
        problems.append(f"{len(usable)} class(es) with usable images; training needs at least 2")
    if listing.layout == "classes" or "val" not in listing.splits:  # training splits train
        per_class = counts.get("all") or counts.get("train", {})
        problems.extend(
            _too_few_to_split(name, count) for name, count in per_class.items() if count == 1
        )
    return problems


def _stats(values: list[int]) -> dict[str, float | int | None]:
    if not values:
        return {"min": None, "max": None, "mean": None}
    return {"min": min(values), "max": max(values), "mean": round(sum(values) / len(values), 1)}


# --------------------------------------------------------------------------- shapes


def _load_shapes(config: DataConfig) -> DataBundle:
    import tensorflow as tf

    from recipes import shapes

    num_classes = config.num_classes or DEFAULT_NUM_CLASSES
    class_names = shapes.class_names(num_classes)
    if config.shapes_per_class < 2:
        raise UsageError(
            f"shapes_per_class must be at least 2. Received: {config.shapes_per_class}"
        )
    sizes = shapes.split_counts(config.shapes_per_class, config.val_split)
    if config.shapes_test_per_class is not None:
        sizes["test"] = config.shapes_test_per_class
    policy = _policy(config)
    pipelines: dict[str, Any] = {}
    counts: dict[str, dict[str, int]] = {}
    for split in SPLIT_NAMES:
        if sizes[split] <= 0:
            pipelines[split] = None
            continue
        pixels, labels = shapes.generate(
            num_classes, sizes[split], config.image_size, config.seed, split, config.channels
        )
        data = tf.data.Dataset.from_tensor_slices((pixels, labels))
        train = split == "train"
        pipelines[split] = _finish(
            data,
            num_classes,
            config,
            train=train,
            buffer=config.shuffle_buffer or len(labels),
            policy=policy if train else None,
        )
        counts[split] = {name: sizes[split] for name in class_names}
    return DataBundle(
        train=pipelines["train"],
        val=pipelines["val"],
        test=pipelines["test"],
        class_names=class_names,
        counts=counts,
        bad=[],
        ignored=[],
        source=f"shapes ({num_classes} classes, built in)",
        layout="shapes",
        image_size=config.image_size,
        channels=config.channels,
        augment=policy.to_dict(),
    )


# --------------------------------------------------------------------------- tensorflow-datasets


def _load_tfds(config: DataConfig) -> DataBundle:
    import tensorflow as tf
    import tensorflow_datasets as tfds

    import recipes.tfds_shapes  # noqa: F401  (registers `zoo_shapes`)

    name = config.dataset
    data_dir = config.tfds_data_dir
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise UnknownNameError(_unknown_dataset(name)) from None
    except ModuleNotFoundError as error:
        raise ZooError(
            f"tensorflow-datasets needs the missing module {error.name}; install it with "
            f"`pip install {error.name}`."
        ) from None
    if not builder.is_prepared():
        _prepare(builder, name, config)
    info = builder.info
    image_key, label_key, skip_decoding = _feature_keys(info, name)
    label_feature = info.features[label_key]
    class_names = [str(label) for label in label_feature.names]
    available = set(info.splits.keys())
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

    decoders = {image_key: tfds.decode.SkipDecoding()} if skip_decoding else None
    if skip_decoding:
        decode = _file_decoder(config.image_size, config.channels, config.interpolation)
    else:

        def decode(pixels: Any) -> tuple[Any, Any]:
            image = image_lib.resize_image(
                pixels, config.image_size, config.channels, config.interpolation
            )
            return tf.cast(tf.round(image), tf.uint8), tf.shape(pixels, out_type=tf.int32)[:2]

    images = sum(info.splits[source].num_examples for source in sources.values())
    cache, cache_note = plan_cache(
        str(config.cache), images, config.image_size, config.channels, _available_memory()
    )
    bad: list[dict[str, str]] = []
    decoded: dict[str, tuple[Any, dict[int, int]]] = {}  # split -> (dataset, index -> label)
    for split, source in sources.items():
        raw = builder.as_dataset(split=source, shuffle_files=False, decoders=decoders)
        data = raw.enumerate().map(
            lambda index, example: (
                index,
                decode(example[image_key])[0],
                tf.cast(example[label_key], tf.int32),
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        data = data.ignore_errors()
        if cache == "memory":
            data = data.cache()
        if cache in CACHE_MODES:
            labels = _drain_tfds(data)
        else:
            name = _tfds_cache_file(cache, builder, source, config)
            data = data.cache(name)
            with _filling(name):
                labels = _drain_tfds(data)
        failed = info.splits[source].num_examples - len(labels)
        if failed > 0:
            bad.append(
                {"path": f"{name}/{source}", "reason": f"{failed} example(s) fail to decode"}
            )
        decoded[split] = (data, labels)

    # Without a validation split: a stratified share of train, as for folders.
    members = {split: sorted(labels) for split, (_, labels) in decoded.items()}
    if "val" not in sources and config.val_split > 0:
        train_labels = decoded["train"][1]
        by_class: dict[str, list[int]] = {label: [] for label in class_names}
        for index in sorted(train_labels):
            by_class[class_names[train_labels[index]]].append(index)
        members["train"], members["val"] = _stratified_split(
            by_class, config.val_split, config.seed
        )
        decoded["val"] = decoded["train"]

    policy = _policy(config)
    pipelines: dict[str, Any] = dict.fromkeys(SPLIT_NAMES)
    counts: dict[str, dict[str, int]] = {}
    for split, indices in members.items():
        data, labels = decoded[split]
        counted = Counter(labels[index] for index in indices)
        counts[split] = {label: counted.get(i, 0) for i, label in enumerate(class_names)}
        train = split == "train"
        pipelines[split] = _finish(
            _select(data, indices, len(labels)),
            len(class_names),
            config,
            train=train,
            buffer=config.shuffle_buffer
            or (len(indices) if cache == "memory" else min(len(indices), 2048)),
            policy=policy if train else None,
            count=len(indices) if cache != "none" else None,
        )
    return DataBundle(
        train=pipelines["train"],
        val=pipelines["val"],
        test=pipelines["test"],
        class_names=class_names,
        counts={split: counts[split] for split in SPLIT_NAMES if split in counts},
        bad=bad,
        ignored=[],
        source=f"tfds {name}",
        layout="tfds",
        image_size=config.image_size,
        channels=config.channels,
        augment=policy.to_dict(),
        cache=cache,
        cache_note=cache_note,
    )


def _drain_tfds(data: Any) -> dict[int, int]:
    """Runs `(index, image, label)` elements to the end (filling the cache): index -> label."""
    labels: dict[int, int] = {}
    for indices, batch in data.map(lambda index, image, label: (index, label)).batch(8192):
        labels.update(zip(indices.numpy().tolist(), batch.numpy().tolist(), strict=True))
    return labels


def _tfds_cache_file(cache: str, builder: Any, split: str, config: DataConfig) -> str:
    key = repr(
        (builder.name, str(builder.version), str(builder.data_dir), split)
        + (config.image_size, config.channels, config.interpolation, 1)
    )
    return _cache_path(cache, "zoo-tfds", hashlib.sha1(key.encode()).hexdigest()[:16])


def _feature_keys(info: Any, name: str) -> tuple[str, str, bool]:
    """The image and label feature names, and whether the image is stored encoded."""
    import tensorflow_datasets as tfds

    features = info.features
    keys = info.supervised_keys
    image_key = label_key = None
    if isinstance(keys, tuple) and len(keys) == 2 and all(isinstance(k, str) for k in keys):
        image_key, label_key = keys
    if image_key is None or image_key not in features:
        image_key = next(
            (key for key, feature in features.items() if isinstance(feature, tfds.features.Image)),
            None,
        )
    if label_key not in features or not isinstance(features[label_key], tfds.features.ClassLabel):
        label_key = next(
            (
                key
                for key, feature in features.items()
                if isinstance(feature, tfds.features.ClassLabel)
            ),
            None,
        )
    if image_key is None or label_key is None:
        raise UsageError(
            f"Dataset {name} is not an image classification dataset (no image and class-label "
            "features); pick another dataset."
        )
    image_feature = features[image_key]
    encoded = isinstance(image_feature, tfds.features.Image)
    shape = getattr(image_feature, "shape", None)
    if shape is None or len(shape) != 3 or shape[-1] not in (None, 1, 3, 4):
        raise UsageError(
            f"Dataset {name}'s {image_key!r} feature has shape {shape}, not (height, width, "
            "channels) images; pick an image classification dataset."
        )
    return image_key, label_key, encoded


def _prepare(builder: Any, name: str, config: DataConfig) -> None:
    """Downloads and prepares a dataset, or explains in one line how to."""
    import tensorflow_datasets as tfds

    root = (
        config.tfds_data_dir
        or os.environ.get("TFDS_DATA_DIR")
        or os.path.join("~", "tensorflow_datasets")
    )
    manual = getattr(builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", None)
    how = f"`tfds build {name} --data_dir {root}`"
    if manual:
        how = (
            f"a manual download: put its files in {os.path.join(root, 'downloads', 'manual')}, "
            f"then run {how}"
        )
    else:
        how = (
            f"{how} on a machine with internet access and copy the {root}/{builder.name} "
            "folder here"
        )
    intro = f"Dataset {name} is not prepared in {root}"
    offline_ok = getattr(builder, "ZOO_NEEDS_NO_DOWNLOAD", False)
    if not config.download and not offline_ok:
        raise DataUnavailableError(f"{intro} (downloads are off); prepare it with {how}.")
    if manual:
        raise DataUnavailableError(f"{intro}; it needs {how}.")
    if not offline_ok and not _online():
        raise DataUnavailableError(f"{intro} and this machine is offline; prepare it with {how}.")
    try:
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig())
    except ModuleNotFoundError as error:  # tfds 4.9.10 imports an undeclared importlib_resources
        raise ZooError(
            f"tensorflow-datasets needs the missing module {error.name} to prepare {name}; "
            f"install it with `pip install {error.name}`."
        ) from None
    except Exception as error:  # noqa: BLE001  (tfds raises anything from its many sources)
        raise DataUnavailableError(
            f"{intro} and could not be downloaded ({type(error).__name__}: {_short(error)}); "
            f"prepare it with {how}."
        ) from error


def _online(host: str = "storage.googleapis.com", timeout: float = 3.0) -> bool:
    """Whether tensorflow-datasets' download host is reachable.

    Offline, `download_and_prepare` retries for minutes before failing; this
    fails at once.
    """
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _unknown_dataset(name: str) -> str:
    import difflib

    import tensorflow_datasets as tfds

    base = name.split(":")[0].split("/")[0]
    try:
        known = tfds.list_builders(with_community_datasets=False)
    except Exception:  # noqa: BLE001  (the hint is optional)
        known = []
    close = difflib.get_close_matches(base, known, n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return (
        f"Unknown dataset {name!r} in tensorflow-datasets; `tfds.list_builders()` lists them.{hint}"
    )


def _short(error: Any, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- benchmark


def measure_throughput(
    data_dir: str | None = None,
    *,
    epochs: int = 3,
    image_size: tuple[int, int] | int = (160, 160),
    batch_size: int = 32,
    rounds: int = 3,
    classes: int = 10,
    images_per_class: int = 300,
    source_size: int = 256,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Images/s of `load_data` against `keras.utils.image_dataset_from_directory`.

    Both read the same images in the same process for `epochs` epochs (the
    `train/` folder of a folder with the split layout, else the folder), each
    timed from the call that builds the pipeline to the end of its last epoch:
    the zoo side includes its check pass and cache fill, Keras its file
    listing. Both decode, resize, shuffle and batch every image into `float32`
    batches with one-hot labels, without augmentation or validation split.

    Untimed first: every file is read once (both find them in the OS page
    cache) and each side runs once over a tiny folder (first-call set-up). The
    sides then alternate for `rounds` rounds, and the median round of each is
    reported, which keeps a busy machine's noise out of the ratio.

    Args:
        data_dir: Folder of class sub-folders, or of `train/`, ... folders
            of them; `None` writes the built-in shapes set as JPEG files to a
            temporary folder first (not timed).
        epochs: Passes over the data per round.
        image_size: `(height, width)` both pipelines resize to.
        batch_size: Images per batch.
        rounds: Timed runs of each side.
        classes: Classes of the generated folder.
        images_per_class: Images per class of the generated folder.
        source_size: Side of the generated JPEG files in pixels.
        seed: Seed of the generated images and of the shuffles.
        progress: Called with a line of progress (for stderr), if given.

    Returns:
        `data_dir`, `read_dir` (the folder both sides read; `None` for the
        generated one), `images` and `keras_images` (per epoch, of each
        side), `epochs`, `rounds`, `image_size`, `batch_size`, `zoo` and
        `keras` (each `pipeline`, `images_per_second` and `seconds` of the
        median round, `setup_seconds` (building the pipeline: for the zoo
        its check pass and cache fill) and `epoch_seconds` of that round,
        and `all_images_per_second`; or `error` when that side stopped on a
        bad file, as Keras does), and `ratio`: zoo images/s over Keras'
        images/s (`None` if a side failed).

    Raises:
        UsageError: Bad arguments or data (as `load_data`).
    """
    import statistics
    import tempfile
    import time

    import keras
    import tensorflow as tf

    from recipes import shapes

    if epochs < 1 or rounds < 1:
        raise UsageError(f"epochs and rounds must be at least 1. Received: {epochs}, {rounds}")
    size = _pair(image_size)
    say = progress or (lambda line: None)
    with tempfile.TemporaryDirectory(prefix="zoo-bench-data-") as scratch:
        folder = data_dir
        if folder is None:
            say(f"writing {classes * images_per_class} {source_size}px JPEG files ...")
            folder = str(
                shapes.write_folder(
                    os.path.join(scratch, "shapes"),
                    classes,
                    images_per_class,
                    source_size,
                    seed,
                    image_format="jpg",
                )
            )
        else:
            listing = _list_folder(folder)  # the usual one-line errors for a bad folder
            if listing.layout == "splits":  # both sides read train/ as class folders
                folder = os.path.join(folder, listing.split_dirs["train"])
        for parent, _, filenames in os.walk(folder):
            for filename in filenames:
                with open(os.path.join(parent, filename), "rb") as handle:
                    while handle.read(1 << 20):
                        pass
        tiny = str(shapes.write_folder(os.path.join(scratch, "warm-up"), 2, 4, 32, seed, "jpg"))

        def zoo_pipeline(root: str) -> Any:
            config = DataConfig(
                data_dir=root, image_size=size, batch_size=batch_size, val_split=0.0, seed=seed
            )
            return load_data(config).train

        def keras_pipeline(root: str) -> Any:
            return keras.utils.image_dataset_from_directory(
                root,
                label_mode="categorical",
                image_size=size,
                batch_size=batch_size,
                shuffle=True,
                seed=seed,
                verbose=False,
            )

        def run(build: Callable[[str], Any], root: str, passes: int) -> dict[str, Any]:
            started = time.perf_counter()
            pipeline = build(root)
            built = time.perf_counter()
            epoch_seconds, images = [], 0
            for _ in range(passes):
                begin, images = time.perf_counter(), 0
                for batch, _labels in pipeline:
                    images += int(batch.shape[0])
                epoch_seconds.append(round(time.perf_counter() - begin, 3))
            total = time.perf_counter() - started
            return {
                "seconds": round(total, 3),
                "images_per_second": round(images * passes / total, 1),
                "setup_seconds": round(built - started, 3),
                "epoch_seconds": epoch_seconds,
                "images": images,
            }

        sides = {"zoo": zoo_pipeline, "keras": keras_pipeline}
        for build in sides.values():
            run(build, tiny, 1)
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
        failed: dict[str, str] = {}
        for round_index in range(rounds):
            order = list(sides) if round_index % 2 == 0 else list(sides)[::-1]
            for name in order:
                if name in failed:
                    continue
                try:
                    results[name].append(run(sides[name], folder, epochs))
                except tf.errors.OpError as error:  # Keras stops at the first bad file
                    failed[name] = image_lib.decoder_message(error)
                    say(f"{name} failed: {failed[name]}")
                    continue
                say(
                    f"round {round_index + 1}/{rounds} {name}: "
                    f"{results[name][-1]['images_per_second']} images/s"
                )
    report: dict[str, Any] = {
        "data_dir": data_dir
        or f"generated: {classes} classes x {images_per_class} {source_size}px JPEG files",
        "read_dir": folder if data_dir is not None else None,
        "images": results["zoo"][0]["images"] if results["zoo"] else None,
        "keras_images": results["keras"][0]["images"] if results["keras"] else None,
        "epochs": epochs,
        "rounds": rounds,
        "image_size": list(size),
        "batch_size": batch_size,
    }
    pipelines = {
        "zoo": "recipes.data.load_data (check pass, cached decode)",
        "keras": "keras.utils.image_dataset_from_directory",
    }
    for name, message in failed.items():
        report[name] = {"pipeline": pipelines[name], "error": message}
    for name, runs in results.items():
        if name in failed:
            continue
        speeds = [entry["images_per_second"] for entry in runs]
        median = sorted(runs, key=lambda entry: entry["images_per_second"])[(len(runs) - 1) // 2]
        report[name] = {
            "pipeline": pipelines[name],
            "images_per_second": round(statistics.median(speeds), 1),
            "seconds": median["seconds"],
            "setup_seconds": median["setup_seconds"],
            "epoch_seconds": median["epoch_seconds"],
            "all_images_per_second": speeds,
        }
    report["ratio"] = (
        None
        if failed
        else round(report["zoo"]["images_per_second"] / report["keras"]["images_per_second"], 2)
    )
    return report
