"""The check pass: every file is judged, and decoded, exactly as training will read it.

Before training, every image file goes through one pass: a header check
(`recipes.data.files.quick_check`: name, format, size), then the training
decoder itself (`recipes.data.decode`). Bad files (empty, corrupt or
truncated, not an image, unsupported type, over the pixel limit) are left out
and listed with the reason; files TensorFlow cannot decode but Pillow can
(palette BMPs, ...) are normalised and listed as converted. An epoch never
meets a bad file. The same pass fills the cache (`memory` or a file path), so
later epochs decode nothing. `scan` runs the pass for `zoo data check`.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from recipes.config.files import quoted
from recipes.config.schema import DEFAULT_MAX_PIXELS
from recipes.data import files as file_checks
from recipes.data.bundle import median_size
from recipes.data.cache import filling, folder_cache_file
from recipes.data.decode import decode_and_resize, uint8_decoder
from recipes.data.headers import read_header
from recipes.data.listing import Listing, list_folder
from recipes.data.noise import quiet_c_libraries
from recipes.data.splits import too_few_to_split
from zoo.errors import UsageError, op_error_message, shorten

_CHECK_SIZE = (32, 32)  # `scan` resizes to this: the decode is the point, not the size
_CONVERT = "convert:"  # prefix of `_decode_failure` verdicts that mean "normalise it"


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
        raise UsageError(
            f"max_pixels must be a positive int. Received: max_pixels={quoted(max_pixels)}"
        )
    listing = list_folder(data_dir)
    checked = check_files(listing, _CHECK_SIZE, 3, "bilinear", max_pixels, cache="none")
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
    bad = sorted(listing.bad + checked.bad, key=lambda entry: entry["path"])
    return {
        "data_dir": str(data_dir),
        "layout": listing.layout,
        "classes": classes,
        "counts": counts if listing.layout == "splits" else counts.get("all", {}),
        "images": {
            "files": len(checked.items) + len(listing.bad),
            "usable": len(sizes),
            "bad": len(bad),
            "converted": len(checked.converted),
            "width": _stats(widths),
            "height": _stats(heights),
            "formats": dict(sorted(Counter(fmt for fmt, _ in described).items())),
            "modes": dict(sorted(Counter(mode for _, mode in described).items())),
        },
        "bad": bad,
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
    check = file_checks.check_file(path)
    if check.format is not None and check.mode is not None:
        return check.format, check.mode
    try:
        header = read_header(path)
    except OSError:
        header = None
    return (header.format if header else "unknown"), "unknown"


@dataclass
class Checked:
    """Every candidate file of a folder after the checks and the decode pass."""

    items: list[tuple[str, str, str]]  # (split, class, path), by index
    sizes: dict[int, tuple[int, int] | None]  # usable index -> decoded (height, width)
    overrides: dict[int, bytes]  # index -> Pillow-normalised PNG
    bad: list[dict[str, str]]
    ignored: list[dict[str, str]]
    converted: list[dict[str, str]]
    cached: Any = None  # dataset of (index, image uint8) over the usable files, or None
    headers: dict[int, tuple[int, int]] = field(default_factory=dict)  # (height, width) read

    def source_size(self) -> tuple[int, int] | None:
        """The usable images' median `(height, width)` before resizing, when known."""
        return median_size(self.sizes[index] or self.headers.get(index) for index in self.sizes)

    def good_by_class(self) -> dict[tuple[str, str], list[int]]:
        """The usable files' indices by `(split, class)`, in order."""
        grouped: dict[tuple[str, str], list[int]] = {}
        for index in sorted(self.sizes):
            split, name, _ = self.items[index]
            grouped.setdefault((split, name), []).append(index)
        return grouped


def check_files(
    listing: Listing,
    input_size: tuple[int, int],
    channels: int,
    interpolation: str,
    max_pixels: int,
    cache: str,
) -> Checked:
    """Checks every file and decodes every usable one with the training decoder.

    Names and headers are checked in Python (`files.quick_check`), pixels
    (`decode.decode_and_measure`) in the parallel `tf.data` pass, which with
    `cache` `memory` or a path also fills that cache (`Checked.cached` reads
    it). Only the files that fail get a closer look with Pillow, for the reason
    or a normalised copy. What C libraries print while decoding broken files
    (libjpeg's "Improper call to JPEG library ...") is kept off the terminal.

    Args:
        listing: The folder's files.
        input_size: `(height, width)` the images are decoded to.
        channels: 1 or 3.
        interpolation: The resize method.
        max_pixels: Images with more pixels are bad.
        cache: `memory`, `none` or a file cache path.

    Returns:
        Every file's verdict, the decoded sizes and the filled cache.

    Raises:
        ZooError: The file cache cannot be written or read.
    """
    items = [
        (split, name, path)
        for split, classes in listing.splits.items()
        for name, paths in classes.items()
        for path in paths
    ]
    checked = Checked(items, {}, {}, [], [], [])
    to_decode: list[int] = []
    for index, (_, _, path) in enumerate(items):
        check = file_checks.quick_check(path, max_pixels)
        if check.status == "ok":
            to_decode.append(index)
            if check.width and check.height:
                checked.headers[index] = (check.height, check.width)
        elif check.status == "ignored":
            checked.ignored.append({"path": path, "reason": check.reason})
        elif check.status == "bad":
            checked.bad.append({"path": path, "reason": check.reason})
        else:
            _convert(checked, index, check.reason)
    settings = (input_size, channels, interpolation)
    with quiet_c_libraries():
        main = _decode_files(checked, to_decode, settings, cache)
        for index in sorted(set(to_decode) - set(checked.sizes)):
            _judge_failure(checked, index, settings, max_pixels)
        checked.cached = main if cache != "none" else None
        if checked.overrides:
            _decode_converted(checked, settings, cache)
    checked.bad.sort(key=lambda entry: entry["path"])
    checked.converted.sort(key=lambda entry: entry["path"])
    return checked


def _decode_files(
    checked: Checked, to_decode: list[int], settings: tuple[Any, ...], cache: str
) -> Any:
    """The parallel decode pass over the files that passed the header check; fills the cache."""
    import tensorflow as tf

    decode = uint8_decoder(*settings)
    paths = [os.fsencode(checked.items[index][2]) for index in to_decode]
    main = tf.data.Dataset.from_tensor_slices(
        (tf.constant(to_decode, tf.int64), tf.constant(paths, tf.string))
    )
    main = main.map(
        lambda index, path: (index, *decode(tf.io.read_file(path))),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).ignore_errors()
    if cache == "none":  # the sizes are for `scan`, which does not cache
        checked.sizes.update(_drain(main))
        return main
    main = main.map(lambda index, image, size: (index, image))
    if cache == "memory":
        main = main.cache()
        checked.sizes.update(_drain(main))
        return main
    name = folder_cache_file(cache, [(i, checked.items[i][2]) for i in to_decode], *settings)
    main = main.cache(name)
    with filling(name):
        checked.sizes.update(_drain(main))
    return main


def _judge_failure(
    checked: Checked, index: int, settings: tuple[Any, ...], max_pixels: int
) -> None:
    """Says why a file failed the decode pass: bad (with the reason), or to be normalised."""
    path = checked.items[index][2]
    check = file_checks.check_file(path, max_pixels)
    if check.status == "bad":
        checked.bad.append({"path": path, "reason": check.reason})
    elif check.status == "convert":
        _convert(checked, index, check.reason)
    else:
        reason = _decode_failure(path, *settings)
        if reason.startswith(_CONVERT):
            _convert(checked, index, reason[len(_CONVERT) :])
        else:
            checked.bad.append({"path": path, "reason": reason})


def _decode_converted(checked: Checked, settings: tuple[Any, ...], cache: str) -> None:
    """Decodes the Pillow-normalised files and adds them to the cache."""
    extra = _bytes_dataset(checked.overrides, *settings)
    if cache != "none":
        extra = extra.map(lambda index, image, size: (index, image)).cache()
    extra_sizes = _drain(extra)
    for index in sorted(set(checked.overrides) - set(extra_sizes)):
        path = checked.items[index][2]
        checked.bad.append({"path": path, "reason": "corrupt image (fails to decode)"})
        del checked.overrides[index]
    checked.sizes.update(extra_sizes)
    if checked.cached is not None:
        checked.cached = checked.cached.concatenate(extra)


def _bytes_dataset(
    overrides: dict[int, bytes], input_size: tuple[int, int], channels: int, interpolation: str
) -> Any:
    import tensorflow as tf

    decode = uint8_decoder(input_size, channels, interpolation)
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


def _convert(checked: Checked, index: int, reason: str) -> None:
    """Normalises a file with Pillow for the decoder, or lists it as bad when Pillow fails too."""
    path = checked.items[index][2]
    try:
        checked.overrides[index] = file_checks.pillow_png(path)
    except OSError as error:
        reason = f"corrupt or truncated image ({shorten(str(error), 200)})"
        checked.bad.append({"path": path, "reason": reason})
        return
    checked.converted.append({"path": path, "reason": reason})


def _decode_failure(
    path: str, input_size: tuple[int, int], channels: int, interpolation: str
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
        decode_and_resize(contents, input_size, channels, interpolation)
    except tf.errors.OpError as error:
        message = op_error_message(error, 160)
    try:
        file_checks.pillow_png(path)
    except OSError as error:
        return f"corrupt or truncated image ({message}; Pillow: {shorten(str(error), 200)})"
    return f"{_CONVERT}TensorFlow cannot decode it ({message}); normalised with Pillow"


def _problems(listing: Listing, counts: dict[str, dict[str, int]]) -> list[str]:
    problems: list[str] = []
    classes = sorted({name for per_class in counts.values() for name in per_class})
    for split, per_class in counts.items():
        for name in classes:
            if name not in per_class:
                problems.append(f"{listing.where(split)} has no folder for class {name!r}")
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
            too_few_to_split(name, count) for name, count in per_class.items() if count == 1
        )
    return problems


def _stats(values: list[int]) -> dict[str, float | int | None]:
    if not values:
        return {"min": None, "max": None, "mean": None}
    return {"min": min(values), "max": max(values), "mean": round(sum(values) / len(values), 1)}
