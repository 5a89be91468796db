"""Weights files: importing Keras' ImageNet files obtained elsewhere, and loading any file.

`import_weights` copies a file into Keras' cache after checking its hash (or,
where Keras publishes none, that it loads); `load_weights_file` loads a Keras 3
`.weights.h5`, a legacy `.h5` or the weights of a `.keras` file into a model,
and refuses, in one line, a file whose layers do not fit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

from zoo.atomic import atomic_copy
from zoo.errors import UsageError, first_line
from zoo.weights.cache import (
    cache_dir,
    file_hash,
    hash_algorithm,
    variants,
    with_imagenet,
)

if TYPE_CHECKING:
    import keras

    from zoo.registry import ArchSpec


def import_weights(name: str, file: str | os.PathLike[str], include_top: bool | None = None) -> str:
    """Copies a local weights file into Keras' cache under Keras' file name.

    The file's hash is checked against Keras' before anything is copied; the
    copy is atomic (a temporary file, then a rename). For files without a
    published hash (MobileNet v1/v2) the file is checked by loading it into
    the architecture instead.

    Args:
        name: Registry name or alias with ImageNet weights.
        file: The local file, e.g. downloaded on another machine.
        include_top: Which variant the file is; `None` decides by its hash.

    Returns:
        The path of the file in the cache.

    Raises:
        UnknownNameError: The name is not registered.
        UsageError: The architecture has no ImageNet weights, the file does
            not exist, or it is not Keras' file (nothing is copied then).
    """
    spec = with_imagenet(name)
    source = os.fspath(file)
    if not os.path.isfile(source):
        raise UsageError(f"Weights file {source} does not exist. Received: file={source!r}")
    candidates = variants(include_top)
    digests: dict[str, str] = {}
    chosen = None
    for variant in candidates:
        expected = spec.imagenet.variant(variant).hash
        if expected is None:
            continue
        algorithm = hash_algorithm(expected)
        if algorithm not in digests:
            digests[algorithm] = file_hash(source, algorithm)
        if digests[algorithm] == expected:
            chosen = variant
            break
    if chosen is None:
        unhashed = [v for v in candidates if spec.imagenet.variant(v).hash is None]
        if not unhashed:
            raise UsageError(_import_mismatch_message(spec, source, candidates, digests))
        chosen = _variant_by_loading(spec, source, unhashed)
    destination = os.path.join(cache_dir(), spec.imagenet.variant(chosen).file)
    atomic_copy(source, destination)
    return destination


def load_weights_file(model: keras.Model, path: str | os.PathLike[str]) -> None:
    """Loads a weights file into a built model.

    Accepts Keras 3 `.weights.h5` files, legacy `.h5` files (Keras' ImageNet
    files, `model.save("x.h5")`) and the weights of a `.keras` model file; the
    format is read from the file's content, not its name.

    Args:
        model: The built model.
        path: The weights file.

    Raises:
        UsageError: The file does not exist, is not a Keras weights file, or
            its layers or weight shapes do not match the model.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UsageError(f"Weights file {path} does not exist. Received: weights={path!r}")
    reason = _load_or_reason(model, path)
    if reason is not None:
        raise UsageError(
            f"Weights file {path} does not fit {model.name}: its layers or weight shapes do "
            f"not match this architecture ({reason}). Use weights saved from {model.name} "
            "built with the same classes, include_top and input channels, or build with "
            "weights=None or 'imagenet'."
        )


def _load_or_reason(model: keras.Model, path: str) -> str | None:
    """Loads `path` into `model`; on failure, the reason on one short line.

    Keras 3 files place each weight by the class names of the layers on its
    path. Run files hold Keras' `BatchNormalization` (see `zoo.batchnorm`); a
    file saved straight from a zoo model holds the fused class: both load.
    Legacy `.h5` files go by layer order, where class names do not matter.
    """
    from zoo.fast_layers import keras_layers

    suffix = _weights_format(path)
    if suffix == ".h5":
        return _attempt(model, path, suffix)
    with keras_layers(model):
        reason = _attempt(model, path, suffix)
    if reason is not None and _attempt(model, path, suffix) is None:
        return None
    return reason


def _attempt(model: keras.Model, path: str, suffix: str) -> str | None:
    """One try at loading `path`: `None`, or why it failed."""
    reason = None
    # Keras warns, rather than fails, about parts of a .weights.h5 file it could
    # not place; those layers would keep random weights, so they are a failure here.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _with_suffix(path, suffix) as loadable:
                model.load_weights(loadable)
        except (ValueError, KeyError, IndexError, TypeError, OSError) as error:
            reason = first_line(error, 300)
    partial = [w for w in caught if "freshly-initialized" in str(w.message)]
    if reason is None and partial:
        reason = first_line(partial[0].message, 300)
    if reason is None:
        for warning in caught:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return reason


def _import_mismatch_message(
    spec: ArchSpec, source: str, candidates: tuple[str, ...], digests: dict[str, str]
) -> str:
    found = ", ".join(f"{algorithm} {digest}" for algorithm, digest in digests.items())
    entries = {v: spec.imagenet.variant(v) for v in candidates}
    expected = " or ".join(
        f"{entries[v].hash} ({v}: {entries[v].file} from {entries[v].url})" for v in candidates
    )
    return (
        f"{source} is not Keras' ImageNet weights file for {spec.name}: it has {found}, expected "
        f"{expected}; nothing was copied. Download the right file and import it again."
    )


def _variant_by_loading(spec: ArchSpec, source: str, unhashed: list[str]) -> str:
    """The variant whose architecture the (unhashed) file loads into."""
    from zoo.builder import build_model

    reasons = []
    for variant in unhashed:
        # The top of an ImageNet file has ImageNet's 1000 classes, whatever the spec's default.
        model = build_model(spec.name, classes=1000, weights=None, include_top=variant == "top")
        reason = _load_or_reason(model, source)
        if reason is None:
            return variant
        reasons.append(f"{variant}: {reason}")
    entries = {v: spec.imagenet.variant(v) for v in unhashed}
    files = " or ".join(f"{entries[v].file} from {entries[v].url}" for v in unhashed)
    raise UsageError(
        f"{source} does not load into {spec.name} ({'; '.join(reasons)}); Keras publishes no hash "
        f"for it, so the zoo checks it by loading: use {files}. Nothing was copied."
    )


def _weights_format(path: str) -> str:
    """The suffix Keras needs to load the file: `.keras`, `.weights.h5` or `.h5`."""
    if zipfile.is_zipfile(path):
        return ".keras"
    import h5py

    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as handle:
            if "layer_names" in handle.attrs or "model_weights" in handle:
                return ".h5"
        return ".weights.h5"
    raise UsageError(
        f"{path} is not a Keras weights file: expected a .weights.h5 file, a legacy .h5 "
        "file (like Keras' ImageNet files) or a .keras model file."
    )


@contextlib.contextmanager
def _with_suffix(path: str, suffix: str) -> Iterator[str]:
    """`path`, or a link to it ending in `suffix`: Keras picks the loader by name."""
    legacy = (
        suffix == ".h5" and path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5")
    )
    if legacy or (suffix != ".h5" and path.endswith(suffix)):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="zoo-weights-") as folder:
        alias = os.path.join(folder, "weights" + suffix)
        try:
            os.symlink(os.path.abspath(path), alias)
        except OSError:
            shutil.copyfile(path, alias)
        yield alias
