"""Run directories whose answers are known, for the ensemble tests.

Each model is the softmax of the image's mean colour times a fixed kernel
(Keras' own layers, any input size), saved with its class names and a
configuration through `RunLayout` as `zoo train` would. The two kernels of
`KERNELS` are each wrong on one class, with little confidence, where the other
is right with much: each member gets 2 of 3 classes right, their average all 3.
"""

import keras
import numpy as np
from PIL import Image

from recipes.config import resolve_config
from recipes.run.layout import RunLayout

CLASSES = ["blue", "green", "red"]
COLOURS = {"blue": (30, 30, 220), "green": (30, 220, 30), "red": (220, 30, 30)}

# Rows: the input channels R, G, B; columns: the classes blue, green, red.
KERNELS = {
    "wrong_on_red": [[0, 5, 4], [0, 10, 0], [10, 0, 0]],  # red looks green to it
    "wrong_on_green": [[0, 0, 10], [5, 4, 0], [10, 0, 0]],  # green looks blue to it
}


def colour_model(kernel, size, classes=CLASSES, name="colours"):
    """Softmax of the mean colour (0..1) times `kernel`, for `size` x `size` images.

    The kernel's rows are the input channels: 3 for colour images, 1 for grey.
    """
    inputs = keras.Input((size, size, len(kernel)))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(len(classes), activation="softmax")
    model = keras.Model(inputs, dense(x), name=name)
    dense.set_weights([np.asarray(kernel, "float32"), np.zeros(len(classes), "float32")])
    return model


def colour_run(path, kernel, size, data_dir, classes=CLASSES, name="colours", **settings):
    """A finished run directory holding a colour model; returns its path."""
    config = resolve_config(
        {
            "task": "train",
            "arch": "resnet18",
            "classes": len(classes),
            "image_size": size,
            "data_dir": str(data_dir),
            "output": str(path),
            **settings,
        }
    )
    run = RunLayout.create(config, "colours")
    try:
        run.write_class_names(list(classes))
        run.save_model(colour_model(kernel, size, classes, name), RunLayout.MODEL)
    finally:
        run.unlock()
    return path


def colour_folder(root, classes=CLASSES, per_class=2, size=40):
    """A data folder with a `test/` split of plain-colour images; returns it."""
    for name in classes:
        folder = root / "test" / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            Image.new("RGB", (size, size), COLOURS[name]).save(folder / f"{index}.png")
    return root
