"""Keras' weights cache: where it is, which files it holds, and their hashes."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from zoo.errors import UsageError
from zoo.registry import WEIGHT_VARIANTS, ArchSpec, WeightsFile, get_spec, list_models


def keras_home() -> str:
    """Keras' home directory, as Keras resolves it.

    `$KERAS_HOME` when set, else `~/.keras` (`/tmp/.keras` when the home
    directory is not writable). Read at every call, unlike Keras, which reads
    it once at import time.

    Returns:
        The directory (it need not exist yet).
    """
    if "KERAS_HOME" in os.environ:
        home = os.path.expanduser(os.environ["KERAS_HOME"])
    else:
        base = os.path.expanduser("~")
        if not os.access(base, os.W_OK):
            base = "/tmp"
        home = os.path.join(base, ".keras")
    # keras.utils.get_file uses /tmp/.keras when the home exists but is read-only.
    if os.path.isdir(home) and not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return os.path.abspath(home)


def cache_dir() -> str:
    """The directory holding Keras' weights files: `keras_home()/models`."""
    return os.path.join(keras_home(), "models")


def hash_algorithm(file_hash: str) -> str:
    """`"sha256"` for a 64-digit hash, else `"md5"`, as `keras.utils.get_file` decides."""
    return "sha256" if len(file_hash) == 64 else "md5"


def file_hash(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """The hex digest of a file.

    Args:
        path: The file.
        algorithm: `"sha256"` or `"md5"`.

    Returns:
        The lower-case hex digest.
    """
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def with_imagenet(name: str | ArchSpec) -> ArchSpec:
    """The spec of an architecture that has ImageNet weights.

    Raises:
        UnknownNameError: The name is not registered.
        UsageError: The architecture has no ImageNet weights.
    """
    spec = name if isinstance(name, ArchSpec) else get_spec(name)
    if spec.imagenet is None:
        raise UsageError(
            f"{spec.name} has no ImageNet weights; build it with weights=None, or pick a "
            f"base that has them (`zoo weights list`). Received: name={name!r}"
        )
    return spec


def variant_name(include_top: bool) -> str:
    """`top` or `notop`."""
    return "top" if include_top else "notop"


def variants(include_top: bool | None) -> tuple[str, ...]:
    """Both variants for `None`, else the one asked for."""
    return WEIGHT_VARIANTS if include_top is None else (variant_name(include_top),)


def cached_path(entry: WeightsFile) -> str:
    """Where a file is, or would be, in the cache."""
    return os.path.join(cache_dir(), entry.file)


def list_weights() -> list[dict[str, Any]]:
    """Every ImageNet weights file the zoo knows, and whether it is cached.

    Returns:
        One row per architecture and variant, sorted: `name`, `variant`
        (`top` or `notop`), `file`, `url`, `hash` (`None` where Keras publishes
        none), `hash_algorithm`, `cached` (the file is in the cache; its hash is
        checked when it is used) and `path` (where it is or would be).
    """
    specs = [get_spec(name) for name in list_models()]
    return [
        row(spec, variant)
        for spec in specs
        if spec.imagenet is not None
        for variant in WEIGHT_VARIANTS
    ]


def row(spec: ArchSpec, variant: str) -> dict[str, Any]:
    """The `list_weights` row of one file."""
    entry = spec.imagenet.variant(variant)
    path = cached_path(entry)
    return {
        "name": spec.name,
        "variant": variant,
        "file": entry.file,
        "url": entry.url,
        "hash": entry.hash,
        "hash_algorithm": hash_algorithm(entry.hash) if entry.hash else None,
        "cached": os.path.isfile(path),
        "path": path,
    }


# (path, size, mtime_ns, expected hash) of cached files already checked, so a
# large file is hashed once per process, not at every build.
_VERIFIED: set[tuple[str, int, int, str]] = set()


def hash_mismatch(path: str, entry: WeightsFile) -> str | None:
    """A cached file's actual hash when it differs from Keras', else `None`."""
    if entry.hash is None:
        return None
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns, entry.hash)
    if key in _VERIFIED:
        return None
    actual = file_hash(path, hash_algorithm(entry.hash))
    if actual != entry.hash:
        return actual
    _VERIFIED.add(key)
    return None
