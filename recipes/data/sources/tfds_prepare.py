"""Opening a tensorflow-datasets builder: known names, preparing offline, image features.

A dataset that is not prepared is downloaded and prepared when the machine is
online; otherwise one line says how to prepare it elsewhere. Offline,
`download_and_prepare` would retry for minutes before failing: the download
host is tried first, for a few seconds.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from typing import Any

from recipes.config.files import quoted
from zoo.errors import UnknownNameError, UsageError, ZooError, did_you_mean, shorten


class DataUnavailableError(ZooError):
    """A tensorflow-datasets dataset that is not prepared and cannot be downloaded."""


def open_builder(name: str, tfds_dir: str | None, download: bool) -> Any:
    """The prepared builder of a dataset name.

    Args:
        name: A tensorflow-datasets name (with optional config and version).
        tfds_dir: Its data folder, or `None` for tensorflow-datasets' own.
        download: Whether a dataset that is not prepared may be downloaded.

    Returns:
        The builder, prepared.

    Raises:
        UnknownNameError: No such dataset (the message lists the closest).
        DataUnavailableError: Not prepared, and it cannot be downloaded here.
        ZooError: tensorflow-datasets misses a module it needs.
    """
    import tensorflow_datasets as tfds

    import recipes.data.sources.tfds_shapes  # noqa: F401  (registers `zoo_shapes`)

    try:
        builder = tfds.builder(name, data_dir=tfds_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise UnknownNameError(_unknown_dataset(name)) from None
    except ModuleNotFoundError as error:
        raise ZooError(
            f"tensorflow-datasets needs the missing module {error.name}; install it with "
            f"`pip install {error.name}`."
        ) from None
    if not builder.is_prepared():
        _prepare(builder, name, tfds_dir, download)
    return builder


def feature_keys(info: Any, name: str) -> tuple[str, str, bool]:
    """The image and label feature names, and whether the image is stored encoded.

    Raises:
        UsageError: The dataset is not one of images with class labels.
    """
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


def _prepare(builder: Any, name: str, tfds_dir: str | None, download: bool) -> None:
    """Downloads and prepares a dataset, or explains in one line how to."""
    import tensorflow_datasets as tfds

    root = tfds_dir or os.environ.get("TFDS_DATA_DIR") or os.path.join("~", "tensorflow_datasets")
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
    if not download and not offline_ok:
        raise DataUnavailableError(f"{intro} (downloads are off); prepare it with {how}.")
    if manual:
        raise DataUnavailableError(f"{intro}; it needs {how}.")
    if not offline_ok and not _online():
        raise DataUnavailableError(f"{intro} and this machine is offline; prepare it with {how}.")
    try:
        # tensorflow-datasets prints its "Downloading and preparing" lines on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            builder.download_and_prepare(download_config=tfds.download.DownloadConfig())
    except ModuleNotFoundError as error:  # tfds 4.9.10 imports an undeclared importlib_resources
        raise ZooError(
            f"tensorflow-datasets needs the missing module {error.name} to prepare {name}; "
            f"install it with `pip install {error.name}`."
        ) from None
    except Exception as error:  # noqa: BLE001  (tfds raises anything from its many sources)
        raise DataUnavailableError(
            f"{intro} and could not be downloaded ({type(error).__name__}: {shorten(str(error))}); "
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
    import tensorflow_datasets as tfds

    base = name.split(":")[0].split("/")[0]
    try:
        known = tfds.list_builders(with_community_datasets=False)
    except Exception:  # noqa: BLE001  (the hint is optional)
        known = []
    hint = did_you_mean(base, known, n=3, cutoff=0.6)
    return (
        f"Unknown dataset {quoted(name)} in tensorflow-datasets; `tfds.list_builders()` "
        f"lists them.{hint}"
    )
