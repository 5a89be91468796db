import json

import keras
import numpy as np
import pytest

from recipes.artifacts import load_trained
from tests.trained_runs import make_run, tiny_model
from zoo.errors import UsageError

CLASSES = ["cat", "dog", "bird"]


def test_run_directory(tmp_path):
    model = make_run(tmp_path / "my-run")
    trained = load_trained(tmp_path / "my-run")
    assert trained.class_names == CLASSES
    assert trained.image_size == (32, 32)
    assert trained.channels == 3
    assert trained.interpolation == "bilinear"
    assert trained.name == "my-run"
    assert trained.run_dir == tmp_path / "my-run"
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(trained.model(images), model(images), atol=1e-6)


def test_config_image_size_as_pair_and_interpolation(tmp_path):
    config = {"base": "tiny", "image_size": [32, 32], "channels": 3, "interpolation": "nearest"}
    make_run(tmp_path / "run", config=config)
    trained = load_trained(str(tmp_path / "run"))
    assert trained.image_size == (32, 32)
    assert trained.interpolation == "nearest"


def test_zoo_architecture_with_custom_layers(tmp_path):
    import zoo

    model = zoo.build_model("resnet18", classes=3, input_shape=(32, 32, 3))
    make_run(tmp_path / "resnet", model=model)
    trained = load_trained(tmp_path / "resnet")
    images = np.full((1, 32, 32, 3), 128.0, "float32")
    np.testing.assert_allclose(trained.model(images), model(images), atol=1e-5)


def test_bare_file_without_class_names(tmp_path):
    tiny_model(classes=4, size=40, channels=1).save(tmp_path / "net.keras")
    trained = load_trained(tmp_path / "net.keras")
    assert trained.class_names == ["class_0", "class_1", "class_2", "class_3"]
    assert trained.image_size == (40, 40)
    assert trained.channels == 1
    assert trained.run_dir is None
    assert trained.name == "net"
    assert trained.output_dir == tmp_path


def test_bare_file_with_class_names_next_to_it(tmp_path):
    tiny_model().save(tmp_path / "net.keras")
    (tmp_path / "class_names.json").write_text(json.dumps(CLASSES))
    assert load_trained(tmp_path / "net.keras").class_names == CLASSES


def test_checkpoint_inside_a_run(tmp_path):
    make_run(tmp_path / "run")
    (tmp_path / "run" / "model.keras").rename(tmp_path / "run" / "best.keras")
    with pytest.raises(UsageError, match="has not finished.*best.keras"):
        load_trained(tmp_path / "run")
    trained = load_trained(tmp_path / "run" / "best.keras")
    assert trained.run_dir == tmp_path / "run"
    assert trained.name == "run"
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


def test_class_names_of_another_model(tmp_path):
    make_run(tmp_path / "run")
    (tmp_path / "run" / "class_names.json").write_text(json.dumps(["a", "b"]))
    with pytest.raises(UsageError, match="lists 2 classes but the model outputs 3"):
        load_trained(tmp_path / "run")
