"""`zoo filters` and `zoo activations`."""

import keras
import pytest
from PIL import Image

from recipes.understand.filters import activations, filters
from zoo.errors import UsageError


def test_the_first_convolutions_filters_in_colour(shapes_run, tmp_path):
    result = filters(shapes_run, output_dir=tmp_path)
    assert result["layer"] == "conv1_conv" and result["colour"] == "rgb"
    assert result["filters"] == result["shown"] == 64
    assert result["png"] == str(tmp_path / "conv1_conv.png")
    width, height = Image.open(result["png"]).size
    assert width >= 400 and height >= 200


def test_a_deeper_convolution_is_drawn_as_the_mean_of_its_inputs(shapes_run, tmp_path):
    result = filters(shapes_run, layer="conv2_block1_1_conv", output_dir=tmp_path)
    assert result["colour"] == "mean"


def test_a_layer_that_is_not_a_convolution_is_refused(shapes_run, tmp_path):
    with pytest.raises(UsageError, match="not a 2-D convolution"):
        filters(shapes_run, layer="avg_pool", output_dir=tmp_path)


def test_a_model_without_convolutions_is_refused(tmp_path):
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs))
    keras.Model(inputs, outputs).save(tmp_path / "dense.keras")
    with pytest.raises(UsageError, match="no convolution layer"):
        filters(tmp_path / "dense.keras")


def test_filters_of_a_caffe_model_are_shown_in_rgb(tmp_path):
    from recipes.understand.filters import _feeds_bgr
    from recipes.understand.layers import first_convolution
    from zoo.layers import ImagePreprocessing

    inputs = keras.Input((8, 8, 3))
    x = ImagePreprocessing("caffe")(inputs)
    x = keras.layers.Conv2D(2, 3, name="conv")(x)
    model = keras.Model(inputs, x)
    assert _feeds_bgr(model, first_convolution(model))


def test_activation_maps_of_one_image(shapes_run, tmp_path):
    from recipes.data.shapes import write_folder

    image = next(
        write_folder(tmp_path / "photos", num_classes=3, count_per_class=1, image_size=32).rglob(
            "*.jpg"
        )
    )
    result = activations(shapes_run, str(image), output_dir=tmp_path)
    assert result["layer"] == "conv1_conv" and result["channels"] == 64 and result["shown"] == 64
    assert result["shape"][0] == result["shape"][1] and result["shape"][2] == 64
    assert Image.open(result["png"]).size[0] >= 600
    with pytest.raises(UsageError, match="not a map per channel"):
        activations(shapes_run, str(image), layer="avg_pool", output_dir=tmp_path)
