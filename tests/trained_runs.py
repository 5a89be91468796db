"""Small trained-model artifacts the evaluate/predict/export/serve tests share."""

import json

import keras
import yaml

from zoo.layers import ImagePreprocessing

DEFAULT_CLASSES = ("cat", "dog", "bird")


def tiny_model(classes=3, size=32, channels=3):
    """A raw-pixel classifier with the zoo's preprocessing layer, as runs hold."""
    inputs = keras.Input((size, size, channels))
    x = ImagePreprocessing("tf")(inputs)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def make_run(directory, model=None, class_names=DEFAULT_CLASSES, config=None):
    """Writes a run directory (model.keras, class_names.json, config.yaml) like a trainer's."""
    model = model or tiny_model(len(class_names))
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / "model.keras")
    (directory / "class_names.json").write_text(json.dumps(list(class_names)))
    size = model.input_shape[1]
    config = config or {"arch": "tiny", "image_size": size, "interpolation": "bilinear"}
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    return model
