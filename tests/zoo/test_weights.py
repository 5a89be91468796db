"""zoo.weights: the Keras weights table, the cache, offline errors, import and loading.

No test touches the network: Keras' cache is a temporary `KERAS_HOME`, weight
files are made here from small builds, "downloads" come from `file://` URLs and
unreachable origins point at a closed local port.
"""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np
import pytest

import zoo
from tests.weights_table import imagenet_table, patch_entry
from zoo import weights as weights_lib
from zoo.errors import UnknownNameError, UsageError, WeightsUnavailableError

NAME = "mobilenet_v3_small"
SHAPE = (32, 32, 3)
UNREACHABLE = "http://127.0.0.1:9/keras-applications/"  # The discard port: refused at once.


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """A private Keras cache; the real `~/.keras` is never touched."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return tmp_path / "keras-home" / "models"


@pytest.fixture(scope="module")
def notop_file(tmp_path_factory):
    """A legacy-h5 weights file of `NAME` without its top, as Keras' files are made."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    model = zoo.build_model(NAME, weights=None, include_top=False, input_shape=SHAPE)
    path = tmp_path_factory.mktemp("weights") / "mobilenet_v3_small_notop.h5"
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)
    return path, [w.copy() for w in model.get_weights()]


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def no_download(monkeypatch):
    """Fails the test if anything tries to download."""
    import keras

    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected download: {args} {kwargs}")

    monkeypatch.setattr(keras.utils, "get_file", refuse)


def files_in(folder):
    return sorted(os.listdir(folder)) if folder.exists() else []


# --- the table ---------------------------------------------------------------------------


def test_table_covers_every_registered_imagenet_base():
    with_imagenet = {n for n in zoo.list_models() if "imagenet" in zoo.get_spec(n).weights}
    assert with_imagenet, "no registered base has ImageNet weights"
    assert set(imagenet_table()) == with_imagenet
    for name in with_imagenet:
        assert set(imagenet_table()[name]) == {"top", "notop"}


def test_table_entries_are_well_formed():
    for name, variants in imagenet_table().items():
        top, notop = variants["top"], variants["notop"]
        assert top.file != notop.file, name
        for entry in (top, notop):
            assert entry.file.endswith(".h5"), name
            assert entry.url.startswith("https://storage.googleapis.com/"), name
            if not name.startswith("nasnet"):  # Keras renames the NASNet files.
                assert entry.url.rsplit("/", 1)[1] == entry.file, name
            if name in ("mobilenet", "mobilenet_v2"):
                assert entry.hash is None  # Keras publishes none.
            else:
                assert re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{64}", entry.hash), name


def test_table_hashes_match_keras_hash_tables():
    from keras.src.applications import convnext, efficientnet, efficientnet_v2, mobilenet_v3, resnet

    table = imagenet_table()

    def hashes(name):
        return (table[name]["top"].hash, table[name]["notop"].hash)

    for name in ("resnet50", "resnet101", "resnet152"):
        assert hashes(name) == resnet.WEIGHTS_HASHES[name]
    for depth in (50, 101, 152):
        assert hashes(f"resnet{depth}_v2") == resnet.WEIGHTS_HASHES[f"resnet{depth}v2"]
    for variant in range(8):
        assert hashes(f"efficientnet_b{variant}") == efficientnet.WEIGHTS_HASHES[f"b{variant}"]
    for variant, key in [("b0", "b0"), ("b1", "b1"), ("b2", "b2"), ("b3", "b3")] + [
        (v, f"-{v}") for v in "sml"
    ]:
        assert hashes(f"efficientnet_v2_{variant}") == efficientnet_v2.WEIGHTS_HASHES[key]
    for size in ("small", "large"):
        assert (
            hashes(f"mobilenet_v3_{size}") == mobilenet_v3.WEIGHTS_HASHES[f"{size}_224_1.0_float"]
        )
    for size in ("tiny", "small", "base", "large", "xlarge"):
        assert hashes(f"convnext_{size}") == convnext.WEIGHTS_HASHES[f"convnext_{size}"]


@pytest.mark.parametrize(
    ("name", "constructor"), [("mobilenet", "MobileNet"), ("mobilenet_v2", "MobileNetV2")]
)
def test_table_is_what_keras_itself_downloads(name, constructor, monkeypatch):
    """The unhashed entries (alpha 1.0, 224) are exactly Keras' get_file arguments."""
    import keras
    from keras.src.utils import file_utils

    calls = []

    class Recorded(Exception):
        pass

    def record(fname, origin, **kwargs):
        calls.append((fname, origin, kwargs.get("file_hash"), kwargs.get("cache_subdir")))
        raise Recorded

    monkeypatch.setattr(file_utils, "get_file", record)
    for include_top in (True, False):
        with pytest.raises(Recorded):
            getattr(keras.applications, constructor)(
                include_top=include_top, weights="imagenet", input_shape=(224, 224, 3)
            )
    table = imagenet_table()[name]
    assert calls == [
        (table[variant].file, table[variant].url, table[variant].hash, "models")
        for variant in ("top", "notop")
    ]


def test_list_weights_rows(models_dir):
    rows = weights_lib.list_weights()
    assert len(rows) == 2 * len(imagenet_table())
    row = next(r for r in rows if r["name"] == "resnet50" and r["variant"] == "notop")
    assert row == {
        "name": "resnet50",
        "variant": "notop",
        "file": "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "url": "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "hash": "4d473c1dd8becc155b73f8504c6f6626",
        "hash_algorithm": "md5",
        "cached": False,
        "path": str(models_dir / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    }
    assert weights_lib.cache_dir() == str(models_dir)


# --- imagenet_weights_path ---------------------------------------------------------------


def test_offline_and_not_cached_is_one_line_error(models_dir, monkeypatch):
    entry = imagenet_table()[NAME]["notop"]
    entry = patch_entry(monkeypatch, NAME, "notop", url=UNREACHABLE + entry.file)
    with pytest.raises(WeightsUnavailableError) as caught:
        weights_lib.imagenet_weights_path(NAME, include_top=False)
    message = str(caught.value)
    assert "\n" not in message
    assert entry.file in message
    assert entry.url in message
    assert str(models_dir) in message
    assert f"zoo weights import {NAME} FILE" in message
    assert files_in(models_dir) == []  # No partial file, no staging folder left.


def test_keras_download_lines_go_to_stderr(models_dir, tmp_path, monkeypatch, capsys):
    entry = imagenet_table()[NAME]["notop"]
    patch_entry(monkeypatch, NAME, "notop", url=UNREACHABLE + entry.file)
    with pytest.raises(WeightsUnavailableError):
        weights_lib.imagenet_weights_path(NAME, include_top=False)
    out, err = capsys.readouterr()
    assert out == ""
    assert f"Downloading data from {UNREACHABLE}{entry.file}" in err
    source = tmp_path / "served.h5"
    source.write_bytes(b"weights from the server")
    patch_entry(monkeypatch, NAME, "notop", url=source.as_uri(), hash=md5(source))
    weights_lib.imagenet_weights_path(NAME, include_top=False)
    out, err = capsys.readouterr()
    assert out == "" and "Downloading data from" in err


def test_build_never_falls_back_to_random_weights(models_dir, monkeypatch):
    entry = imagenet_table()[NAME]["notop"]
    patch_entry(monkeypatch, NAME, "notop", url=UNREACHABLE + entry.file)
    with pytest.raises(WeightsUnavailableError, match=re.escape(entry.file)):
        zoo.build_model(NAME, weights="imagenet", include_top=False, input_shape=SHAPE)


def test_cached_file_is_used_without_network(models_dir, notop_file, monkeypatch, no_download):
    path, _ = notop_file
    entry = patch_entry(monkeypatch, NAME, "notop", hash=md5(path), url=UNREACHABLE + "x.h5")
    models_dir.mkdir(parents=True)
    (models_dir / entry.file).write_bytes(path.read_bytes())
    found = weights_lib.imagenet_weights_path(NAME, include_top=False)
    assert found == str(models_dir / entry.file)
    assert weights_lib.imagenet_weights_path(NAME, include_top=False) == found  # memoised check


def test_efficientnet_imagenet_stem_divides_by_the_standard_deviation(
    models_dir, tmp_path, monkeypatch, no_download
):
    """Keras' files store the std as the stem's variance; the zoo model must divide by std."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    source = keras.applications.EfficientNetB0(weights=None, include_top=False, input_shape=SHAPE)
    stem = next(layer for layer in source.layers if isinstance(layer, keras.layers.Normalization))
    stem.set_weights([mean, std, np.array(1)])  # as in Keras' ImageNet file: std, not std**2
    path = tmp_path / "efficientnetb0_notop.h5"
    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, source)
    entry = patch_entry(monkeypatch, "efficientnet_b0", "notop", hash=md5(path))
    models_dir.mkdir(parents=True)
    (models_dir / entry.file).write_bytes(path.read_bytes())

    model = zoo.build_model(
        "efficientnet_b0", weights="imagenet", include_top=False, input_shape=SHAPE
    )
    normalization = next(
        layer for layer in model.layers if isinstance(layer, keras.layers.Normalization)
    )
    stem_output = keras.Model(model.input, normalization.output)
    images = np.random.default_rng(0).uniform(0, 255, size=(2, *SHAPE)).astype("float32")
    expected = (images / 255.0 - mean) / std
    np.testing.assert_allclose(np.asarray(stem_output(images)), expected, rtol=1e-5, atol=1e-5)


def test_cached_file_without_published_hash_is_used(models_dir, no_download):
    entry = imagenet_table()["mobilenet"]["top"]
    models_dir.mkdir(parents=True)
    (models_dir / entry.file).write_bytes(b"not checked: Keras has no hash for it")
    found = weights_lib.imagenet_weights_path("mobilenet_v1", include_top=True)  # an alias
    assert found == str(models_dir / entry.file)


def test_cached_file_with_wrong_hash_is_reported_not_redownloaded(models_dir, no_download):
    entry = imagenet_table()["resnet50"]["notop"]
    models_dir.mkdir(parents=True)
    cached = models_dir / entry.file
    cached.write_bytes(b"truncated download")
    with pytest.raises(WeightsUnavailableError) as caught:
        weights_lib.imagenet_weights_path("resnet50", include_top=False)
    message = str(caught.value)
    assert "\n" not in message
    assert str(cached) in message and entry.hash in message and entry.url in message
    assert "zoo weights fetch resnet50" in message
    assert cached.read_bytes() == b"truncated download"  # Left for the user to look at.


def test_download_goes_through_keras_get_file_and_checks_the_hash(
    models_dir, tmp_path, monkeypatch
):
    source = tmp_path / "served.h5"
    source.write_bytes(b"weights from the server")
    entry = patch_entry(monkeypatch, "resnet50", "top", url=source.as_uri(), hash=md5(source))
    path = weights_lib.imagenet_weights_path("resnet50", include_top=True)
    assert path == str(models_dir / entry.file)
    assert (models_dir / entry.file).read_bytes() == source.read_bytes()
    assert files_in(models_dir) == [entry.file]

    patch_entry(monkeypatch, "resnet50", "notop", url=source.as_uri(), hash="0" * 32)
    with pytest.raises(WeightsUnavailableError, match="hash does not match"):
        weights_lib.imagenet_weights_path("resnet50", include_top=False)
    assert files_in(models_dir) == [entry.file]  # The corrupt download never landed.


def test_names_without_imagenet_weights(models_dir):
    with pytest.raises(UsageError, match="no ImageNet weights"):
        weights_lib.imagenet_weights_path("resnet18", include_top=False)
    with pytest.raises(UnknownNameError, match="resnet50"):
        weights_lib.imagenet_weights_path("resnt50", include_top=False)


# --- fetch -------------------------------------------------------------------------------


def test_fetch_offline_is_the_same_one_line_error(models_dir, monkeypatch):
    entry = imagenet_table()["vgg16"]["top"]
    patch_entry(monkeypatch, "vgg16", "top", url=UNREACHABLE + entry.file)
    with pytest.raises(WeightsUnavailableError) as caught:
        weights_lib.fetch("vgg16", include_top=True)
    message = str(caught.value)
    assert "\n" not in message and entry.file in message and UNREACHABLE in message


def test_fetch_both_variants_then_nothing_to_do(models_dir, tmp_path, monkeypatch):
    for variant in ("top", "notop"):
        source = tmp_path / f"{variant}.h5"
        source.write_bytes(f"{variant} weights".encode())
        patch_entry(monkeypatch, "xception", variant, url=source.as_uri(), hash=md5(source))
    rows = weights_lib.fetch("xception")
    assert [(r["variant"], r["downloaded"], r["cached"]) for r in rows] == [
        ("top", True, True),
        ("notop", True, True),
    ]
    # Cached and valid now: fetching again downloads nothing.
    monkeypatch.setattr("keras.utils.get_file", lambda *a, **k: pytest.fail("downloaded"))
    assert [r["downloaded"] for r in weights_lib.fetch("xception", include_top=False)] == [False]


def test_fetch_replaces_a_cached_file_with_a_wrong_hash(models_dir, tmp_path, monkeypatch):
    source = tmp_path / "good.h5"
    source.write_bytes(b"good weights")
    entry = patch_entry(monkeypatch, "vgg19", "notop", url=source.as_uri(), hash=md5(source))
    models_dir.mkdir(parents=True)
    (models_dir / entry.file).write_bytes(b"bad")
    (row,) = weights_lib.fetch("vgg19", include_top=False)
    assert row["downloaded"] is True
    assert (models_dir / entry.file).read_bytes() == b"good weights"


# --- import_weights ----------------------------------------------------------------------


def test_import_with_wrong_hash_is_refused_and_copies_nothing(models_dir, notop_file):
    path, _ = notop_file
    with pytest.raises(UsageError) as caught:
        weights_lib.import_weights(NAME, path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and md5(path) in message and "nothing was copied" in message
    with pytest.raises(UsageError, match="nothing was copied"):
        weights_lib.import_weights(NAME, path, include_top=False)
    assert files_in(models_dir) == []


def test_import_round_trip_into_build_model(models_dir, notop_file, monkeypatch, no_download):
    path, saved = notop_file
    entry = patch_entry(monkeypatch, NAME, "notop", hash=md5(path), url=UNREACHABLE + "x.h5")
    destination = weights_lib.import_weights(NAME, path)  # top or no top: told by the hash
    assert destination == str(models_dir / entry.file)
    assert files_in(models_dir) == [entry.file]  # No temporary file left behind.
    assert (models_dir / entry.file).read_bytes() == path.read_bytes()
    row = next(r for r in weights_lib.list_weights() if r["path"] == destination)
    assert row["cached"] is True and row["variant"] == "notop"

    model = zoo.build_model(NAME, weights="imagenet", include_top=False, input_shape=SHAPE)
    loaded = model.get_weights()
    assert len(loaded) == len(saved)
    assert all(np.array_equal(a, b) for a, b in zip(loaded, saved, strict=True))


def test_import_sha256_entry_and_explicit_variant(models_dir, tmp_path, monkeypatch):
    source = tmp_path / "download.bin"
    source.write_bytes(b"convnext top weights")
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    entry = patch_entry(monkeypatch, "convnext_tiny", "top", hash=sha256)
    with pytest.raises(UsageError, match="nothing was copied"):
        weights_lib.import_weights("convnext_tiny", source, include_top=False)
    destination = weights_lib.import_weights("convnext-tiny", str(source), include_top=True)
    assert destination == str(models_dir / entry.file)
    assert files_in(models_dir) == [entry.file]


def test_import_missing_file(models_dir, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        weights_lib.import_weights("resnet50", tmp_path / "nope.h5")


def test_import_without_published_hash_checks_by_loading(models_dir, tmp_path, notop_file):
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    model = zoo.build_model("mobilenet", weights=None, include_top=False, input_shape=SHAPE)
    good = tmp_path / "mobilenet_notop.h5"
    with h5py.File(good, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)

    wrong, _ = notop_file  # MobileNetV3 weights, not MobileNet's
    with pytest.raises(UsageError, match="does not load into mobilenet"):
        weights_lib.import_weights("mobilenet", wrong)
    assert files_in(models_dir) == []

    destination = weights_lib.import_weights("mobilenet", good)
    assert os.path.basename(destination) == imagenet_table()["mobilenet"]["notop"].file


# --- load_weights_file -------------------------------------------------------------------


def test_load_weights_file_mismatch_is_usage_error(notop_file):
    path, _ = notop_file
    model = zoo.build_model(NAME, weights=None, include_top=True, classes=10, input_shape=SHAPE)
    with pytest.raises(UsageError) as caught:
        weights_lib.load_weights_file(model, path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and "do not match this architecture" in message


def test_load_weights_file_keras3_formats_by_content(tmp_path):
    source = zoo.build_model(NAME, weights=None, include_top=False, input_shape=SHAPE)
    saved = source.get_weights()
    source.save_weights(tmp_path / "a.weights.h5")
    renamed = tmp_path / "best-checkpoint.bin"  # Keras would refuse this name.
    renamed.write_bytes((tmp_path / "a.weights.h5").read_bytes())

    target = zoo.build_model(NAME, weights=None, include_top=False, input_shape=SHAPE)
    weights_lib.load_weights_file(target, renamed)
    assert all(np.array_equal(a, b) for a, b in zip(target.get_weights(), saved, strict=True))

    other = zoo.build_model(
        "mobilenet_v3_large", weights=None, include_top=False, input_shape=SHAPE
    )
    with pytest.raises(UsageError, match="does not fit mobilenet_v3_large") as caught:
        weights_lib.load_weights_file(other, renamed)
    assert "\n" not in str(caught.value)


def test_load_weights_file_rejects_non_weights_files(tmp_path):
    model = zoo.build_model(NAME, weights=None, include_top=False, input_shape=SHAPE)
    text = tmp_path / "notes.h5"
    text.write_text("not weights")
    with pytest.raises(UsageError, match="not a Keras weights file"):
        weights_lib.load_weights_file(model, text)
