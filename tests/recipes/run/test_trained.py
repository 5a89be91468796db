"""Loading a trained model: run directories from the real recipe, checkpoints, bare files."""

import json
import shutil

import keras
import numpy as np
import pytest

import zoo
from recipes.run.trained import load_trained
from tests.trained_runs import SHAPES_CLASSES as CLASSES
from tests.trained_runs import train_run
from zoo.errors import UsageError


def tiny_model(classes=3, size=32, channels=3):
    inputs = keras.Input((size, size, channels))
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))


@pytest.fixture
def run(shapes_run, tmp_path):
    """A copy of the shared run, for the tests that change it."""
    shutil.copytree(shapes_run, tmp_path / "my-run")
    return tmp_path / "my-run"


def test_run_directory(shapes_run):
    trained = load_trained(shapes_run)
    assert trained.class_names == CLASSES
    assert trained.input_size == (32, 32)
    assert trained.channels == 3
    assert trained.interpolation == "bilinear"
    assert trained.name == "shapes"
    assert trained.run_dir == shapes_run
    model = keras.saving.load_model(shapes_run / "model.keras")
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(trained.model(images), model(images), atol=1e-6)


def test_the_runs_interpolation_and_a_grayscale_architecture(tmp_path):
    path = train_run(tmp_path / "run", arch="lenet5", interpolation="nearest", precision="fp32")
    trained = load_trained(str(path))
    assert (trained.input_size, trained.channels) == ((32, 32), 1)
    assert trained.interpolation == "nearest"


def test_zoo_architecture_with_custom_layers(tmp_path):
    model = zoo.build_model("lenet5", classes=3, input_shape=(32, 32, 1))
    model.save(tmp_path / "lenet.keras")
    trained = load_trained(tmp_path / "lenet.keras")
    images = np.full((1, 32, 32, 1), 128.0, "float32")
    np.testing.assert_allclose(trained.model(images), model(images), atol=1e-5)


def test_bare_file_without_class_names(tmp_path):
    tiny_model(classes=4, size=40, channels=1).save(tmp_path / "net.keras")
    trained = load_trained(tmp_path / "net.keras")
    assert trained.class_names == ["class_0", "class_1", "class_2", "class_3"]
    assert trained.input_size == (40, 40)
    assert trained.channels == 1
    assert trained.run_dir is None
    assert trained.name == "net"
    assert trained.output_dir == tmp_path


def test_bare_file_with_class_names_next_to_it(tmp_path):
    tiny_model().save(tmp_path / "net.keras")
    (tmp_path / "class_names.json").write_text(json.dumps(CLASSES))
    assert load_trained(tmp_path / "net.keras").class_names == CLASSES


def test_checkpoint_inside_a_run(run):
    (run / "model.keras").unlink()
    with pytest.raises(UsageError, match="has not finished.*best.keras"):
        load_trained(run)
    trained = load_trained(run / "best.keras")
    assert trained.run_dir == run
    assert trained.name == "my-run"
    assert trained.class_names == CLASSES


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[-1], "not a zoo run directory"),
        (lambda p: (p.write_text("hello"), p)[-1], "not a Keras model file"),
        (lambda p: (p.mkdir(), (p / "model.keras").write_text("junk"), p)[-1], "safe mode"),
    ],
    ids=["missing", "empty-dir", "text-file", "junk-model"],
)
def test_bad_paths_are_usage_errors(tmp_path, setup, message):
    path = setup(tmp_path / "thing")
    with pytest.raises(UsageError, match=message) as caught:
        load_trained(path)
    assert "\n" not in str(caught.value)


def test_lambda_layer_fails_safe_mode(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x)).save(tmp_path / "l.keras")
    with pytest.raises(UsageError, match="safe mode"):
        load_trained(tmp_path / "l.keras")


def test_class_names_of_another_model(run):
    (run / "class_names.json").write_text(json.dumps(["a", "b"]))
    with pytest.raises(UsageError, match="lists 2 classes but the model outputs 3"):
        load_trained(run)


def test_files_that_are_not_what_their_names_say_are_refused_before_reading(tmp_path):
    import os
    import zipfile

    from recipes.run.trained import MAX_CONFIG_BYTES

    zero = tmp_path / "zero.keras"
    os.symlink("/dev/zero", zero)
    with pytest.raises(UsageError, match="not a regular file"):
        load_trained(zero)
    fifo = tmp_path / "fifo.keras"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        load_trained(fifo)
    bomb = tmp_path / "bomb.keras"  # a config that inflates far beyond any model's
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (MAX_CONFIG_BYTES + 1))
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(UsageError, match="unpacks to more than"):
        load_trained(bomb)
