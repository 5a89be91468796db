"""Caches of decoded images: whether one fits in memory, where a file cache goes, its lock.

Decoded, resized images are cached as `uint8` (rounded; a quarter of the
memory of `float32`), so epochs after the first decode nothing. An in-memory
cache that, together with a training step's working set (`step_bytes`), would
take more than `MEMORY_SHARE` of the available memory is not made
(`plan_cache`): the images are decoded every epoch instead. A file cache
(`--cache PATH`) is named after the files and settings it holds and is filled
under a lock, so a second run waits for the first and a run killed while
filling it leaves nothing that blocks the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
from collections.abc import Iterator, Sequence

from zoo.errors import UsageError, ZooError, op_error_message

MEMORY_SHARE = 0.5
"""Largest share of the available memory an in-memory cache and one training step may take.

The rest is for TensorFlow itself, the model and optimizer state, and the
pipeline's prefetched batches.
"""

STEP_BYTES_PER_PIXEL = 96
"""Estimated bytes one training step holds per input pixel (per image, all channels).

The `float32` batch (12 bytes a pixel for RGB), its augmented copy, and the
activations kept for the backward pass, which grow with the image area: a
batch of 64 images at 1400x1400 took over 8 GB in one step, about 64 bytes a
pixel; the estimate rounds that up. Counted against the host's memory even
with an accelerator, where the step's input batches still pass through it.
"""

_CGROUP_MEMORY_LIMITS = (
    "/sys/fs/cgroup/memory.max",  # cgroup v2 ("max" when unlimited)
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroup v1
)
_FIX = "pass --cache with another path, or --cache none"


def plan_cache(
    cache: str,
    images: int,
    input_size: tuple[int, int],
    channels: int,
    available: int | None,
    *,
    batch_size: int,
) -> tuple[str, str]:
    """The cache to use, and why it is not the one asked for.

    An in-memory cache holds every image decoded as `uint8`; when it and a
    training step's working set would take more than `MEMORY_SHARE` of the
    available memory, the images are decoded every epoch instead.

    Args:
        cache: The cache asked for: `memory`, `none` or a file path.
        images: Images to cache (an upper bound will do).
        input_size: `(height, width)` of the cached images.
        channels: Channels of the cached images.
        available: Bytes of available memory, or `None` when unknown.
        batch_size: Images per training step (the largest one, when it varies).

    Returns:
        `(cache, note)`: `cache` itself and an empty note, or `none` and one
        line saying why.
    """
    if cache != "memory" or available is None:
        return cache, ""
    height, width = input_size
    needed = images * height * width * channels
    step = step_bytes(batch_size, input_size)
    if needed + step <= available * MEMORY_SHARE:
        return cache, ""
    return "none", (
        f"no in-memory cache: {images} images at {height}x{width} would take "
        f"{needed / 2**30:.1f} GiB and a training step of {batch_size} images about "
        f"{step / 2**30:.1f} GiB, over {MEMORY_SHARE:.0%} of the {available / 2**30:.1f} GiB "
        "of memory available, so they are decoded every epoch; use a smaller image size or "
        "batch size, or --cache PATH for speed"
    )


def step_bytes(batch_size: int, input_size: tuple[int, int]) -> int:
    """Estimated bytes of one training step's working set (see `STEP_BYTES_PER_PIXEL`).

    Args:
        batch_size: Images per step.
        input_size: `(height, width)` of the images.

    Returns:
        The bytes.
    """
    height, width = input_size
    return batch_size * height * width * STEP_BYTES_PER_PIXEL


def folder_cache_file(
    cache: str,
    paths: Sequence[tuple[int, str]],
    input_size: tuple[int, int],
    channels: int,
    interpolation: str,
) -> str:
    """A cache file name unique to the files (and their sizes and times) and the settings.

    A stale cache of other data or settings is never read back.

    Args:
        cache: The cache setting (a folder, or a file name prefix).
        paths: `(index, path)` of the files the cache holds.
        input_size: `(height, width)` of the cached images.
        channels: Their channels.
        interpolation: Their resize method.

    Returns:
        The cache's file name (without TensorFlow's suffixes).
    """
    digest = hashlib.sha1(repr((input_size, channels, interpolation, 1)).encode())
    for index, path in paths:
        try:
            stat = os.stat(path)
            digest.update(f"{index}\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode(
                "utf-8", "surrogateescape"))  # fmt: skip
        except OSError:
            digest.update(f"{index}\0{path}\0missing\n".encode("utf-8", "surrogateescape"))
    return cache_path(cache, "zoo-data", digest.hexdigest()[:16])


def cache_path(cache: str, stem: str, key: str) -> str:
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
def filling(name: str) -> Iterator[None]:
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
    import tensorflow as tf

    try:
        handle = open(f"{name}.lock", "a")
    except OSError as error:
        raise ZooError(
            f"Cannot write the data cache {name}: {error.strerror or error}; {_FIX}."
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
                f"The data cache {name} cannot be used ({op_error_message(error)}); "
                f"delete {name}.* and run again, or {_FIX}."
            ) from None


def available_memory() -> int | None:
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
