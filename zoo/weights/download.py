"""Getting ImageNet weights files into Keras' cache, or saying in one line how to."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import urllib.error
from typing import Any

from zoo.errors import WeightsUnavailableError, first_line
from zoo.registry import ArchSpec, WeightsFile
from zoo.weights.cache import (
    cache_dir,
    cached_path,
    hash_algorithm,
    hash_mismatch,
    row,
    variant_name,
    variants,
    with_imagenet,
)


def imagenet_weights_path(name: str | ArchSpec, *, include_top: bool) -> str:
    """The local path of an architecture's ImageNet weights file.

    The cache is checked first; only a file that is not there is downloaded
    (with `keras.utils.get_file`, into Keras' cache).

    Args:
        name: Registry name, alias or spec of an architecture with ImageNet weights.
        include_top: Whether the file with the ImageNet classifier is wanted.

    Returns:
        The path of the verified file in Keras' cache.

    Raises:
        UnknownNameError: The name is not registered.
        UsageError: The architecture has no ImageNet weights.
        WeightsUnavailableError: The file is not cached and cannot be
            downloaded, or the cached file's hash is wrong.
    """
    spec = with_imagenet(name)
    variant = variant_name(include_top)
    entry = spec.imagenet.variant(variant)
    path = cached_path(entry)
    if os.path.isfile(path):
        actual = hash_mismatch(path, entry)
        if actual is not None:
            raise WeightsUnavailableError(_mismatch_message(spec.name, variant, entry, actual))
        return path
    return _download(spec.name, variant, entry)


def fetch(name: str, include_top: bool | None = None) -> list[dict[str, Any]]:
    """Downloads an architecture's ImageNet weights into Keras' cache.

    A cached file with the right hash is kept; one with a wrong hash is
    replaced by a fresh download.

    Args:
        name: Registry name or alias with ImageNet weights.
        include_top: `True` or `False` for one variant; `None` for both.

    Returns:
        The `list_weights` rows of the files, with `downloaded` (whether this
        call downloaded the file).

    Raises:
        UnknownNameError: The name is not registered.
        UsageError: The architecture has no ImageNet weights.
        WeightsUnavailableError: A file could not be downloaded.
    """
    spec = with_imagenet(name)
    rows = []
    for variant in variants(include_top):
        entry = spec.imagenet.variant(variant)
        path = cached_path(entry)
        mismatch = os.path.isfile(path) and hash_mismatch(path, entry) is not None
        downloaded = mismatch or not os.path.isfile(path)
        if downloaded:
            note = "the cached copy's hash is wrong; " if mismatch else ""
            _download(spec.name, variant, entry, note=note)
        rows.append({**row(spec, variant), "downloaded": downloaded})
    return rows


def _download(name: str, variant: str, entry: WeightsFile, note: str = "") -> str:
    """Downloads one file with `keras.utils.get_file` and moves it into the cache.

    The download lands in a staging folder inside the cache, so an interrupted
    or corrupt download never takes the place of a file. Keras prints its
    "Downloading data from" line and progress bar on stdout; they go to stderr
    here, so stdout keeps only a command's own output (one JSON document with
    `--json`), even when the download fails.
    """
    import keras

    models = cache_dir()
    os.makedirs(models, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".download-", dir=models)
    try:
        try:
            with contextlib.redirect_stdout(sys.stderr):
                downloaded = keras.utils.get_file(
                    entry.file,
                    entry.url,
                    cache_subdir="models",
                    file_hash=entry.hash,
                    cache_dir=staging,
                )
        except KeyboardInterrupt:
            raise
        except Exception as error:  # noqa: BLE001  (urllib, socket and Keras' own errors)
            raise WeightsUnavailableError(
                _unavailable_message(name, variant, entry, note + _download_reason(error))
            ) from error
        destination = os.path.join(models, entry.file)
        os.replace(downloaded, destination)
        return destination
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _download_reason(error: BaseException) -> str:
    """A short reason for a failed download: the network's, not Keras' wrapper."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, urllib.error.HTTPError):
            return f"HTTP {cause.code} {cause.reason}"
        if isinstance(cause, urllib.error.URLError):
            return str(cause.reason)
        cause = cause.__cause__ or cause.__context__
    text = first_line(error, 300)
    if "hash does not match" in text:
        return "the downloaded file's hash does not match Keras'"
    return text


def _unavailable_message(name: str, variant: str, entry: WeightsFile, reason: str) -> str:
    return (
        f"ImageNet weights for {name} ({variant}) are not in the Keras cache and could not be "
        f"downloaded ({reason}): save {entry.url} as {entry.file} in {cache_dir()}, "
        f"or run `zoo weights import {name} FILE`."
    )


def _mismatch_message(name: str, variant: str, entry: WeightsFile, actual: str) -> str:
    algorithm = hash_algorithm(entry.hash or "")
    return (
        f"The cached ImageNet weights {cached_path(entry)} for {name} ({variant}) have "
        f"{algorithm} {actual}, not Keras' {entry.hash}: the file is incomplete or not "
        f"{entry.url}. Delete it and run `zoo weights fetch {name}`, or run "
        f"`zoo weights import {name} FILE` with the right file."
    )
