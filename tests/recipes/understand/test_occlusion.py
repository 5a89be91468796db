"""Occlusion: patches cover the whole image, and hiding what the class needs lowers its logit."""

import keras
import numpy as np
import pytest

from recipes.understand.occlusion import occlusion, patch_grid
from recipes.understand.subject import Subject


@pytest.mark.parametrize(("height", "width"), [(32, 32), (75, 40), (7, 9)])
def test_the_patches_cover_every_pixel(height, width):
    side, stride, corners = patch_grid(height, width)
    covered = np.zeros((height, width), dtype=bool)
    for top, left in corners:
        assert top + side <= height and left + side <= width
        covered[top : top + side, left : left + side] = True
    assert covered.all() and 1 <= stride <= side


def _brightness_model():
    """Logit 0 is the image's mean brightness, logit 1 its negative."""
    inputs = keras.Input((32, 32, 3))
    grey = keras.layers.Conv2D(1, 1, use_bias=False, name="grey")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(grey)
    logits = keras.layers.Dense(2, use_bias=False, name="logits")(pooled)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    model.get_layer("grey").set_weights([np.full((1, 1, 3, 1), 1 / 3, "float32")])
    model.get_layer("logits").set_weights([np.array([[1.0, -1.0]], "float32")])
    return model


def test_occluding_the_bright_square_lowers_the_brightness_logit():
    image = np.full((1, 32, 32, 3), 20.0, dtype="float32")
    image[0, 8:20, 10:22] = 250.0
    maps = occlusion(Subject(_brightness_model()), image, np.array([0], "int32"))
    assert maps.shape == (1, 32, 32)
    square = maps[0, 10:18, 12:20]
    background = maps[0, 26:, 26:]
    assert square.min() > 0 > background.max()
