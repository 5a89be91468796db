"""Layers by path into nested models, taps from the outer input, and the logits."""

import time

import keras
import numpy as np
import pytest

from recipes.understand.layers import (
    Tap,
    embedding_path,
    find_layer,
    find_logits,
    first_convolution,
    last_feature_map,
    layer_listing,
    logits_function,
)
from tests.recipes.understand.tiny_models import (
    flat_classifier,
    images,
    nested_classifier,
    sequential_classifier,
)
from zoo.errors import UsageError


def test_a_layer_inside_a_nested_model_is_read_from_the_outer_input():
    model = nested_classifier()
    weights = [w.copy() for w in model.get_weights()]
    batch = images()
    features, logits = Tap(model, "base/conv2")(batch)
    base = model.get_layer("base")
    expected = keras.Model(base.inputs, base.get_layer("conv2").output)(batch)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.softmax(logits), model(batch), rtol=1e-5, atol=1e-6)
    # The model is untouched: same layers, same weights.
    assert [layer.name for layer in model.layers] == [
        "image",
        "base",
        "head_pool",
        "head_logits",
        "probabilities",
    ]
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(
    ("build", "feature_map", "embedding"),
    [
        (nested_classifier, "base/conv2", "head_pool"),
        (flat_classifier, "conv2", "gap"),
        (sequential_classifier, "conv2", "gap"),
    ],
)
def test_defaults_find_the_last_feature_map_and_the_penultimate_features(
    build, feature_map, embedding
):
    model = build()
    assert last_feature_map(model) == feature_map
    assert embedding_path(model) == embedding
    assert first_convolution(model).path.endswith("conv1")


@pytest.mark.parametrize("build", [flat_classifier, sequential_classifier])
def test_the_logits_of_a_softmax_dense_layer_are_its_pre_activation(build):
    model = build()
    batch = images()
    assert find_logits(model).kind == "logits"
    logits = logits_function(model)(batch)
    np.testing.assert_allclose(keras.ops.softmax(logits), model(batch), rtol=1e-5, atol=1e-6)


def test_a_model_loaded_from_a_keras_file_is_tapped_like_the_original(tmp_path):
    model = nested_classifier()
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    batch = images()
    for first, second in zip(
        Tap(model, "base/conv1")(batch), Tap(loaded, "base/conv1")(batch), strict=True
    ):
        np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-6)


def test_an_unknown_layer_gets_the_closest_paths():
    with pytest.raises(UsageError) as error:
        find_layer(nested_classifier(), "base/conv3")
    message = str(error.value)
    assert "Did you mean: base/conv2" in message
    assert "'outer/inner'" in message and "--layer list" in message


def test_a_huge_layer_name_is_refused_at_once_and_not_echoed_whole():
    started = time.perf_counter()
    with pytest.raises(UsageError) as error:
        find_layer(nested_classifier(), "conv" * 32_768)
    assert len(str(error.value)) < 600 and time.perf_counter() - started < 5


def test_the_listing_names_every_layer_by_path():
    paths = [row["path"] for row in layer_listing(nested_classifier())]
    assert paths == [
        "base",
        "base/scale",
        "base/conv1",
        "base/pool1",
        "base/conv2",
        "head_pool",
        "head_logits",
        "probabilities",
    ]


def test_a_model_without_convolutions_gets_a_clear_message():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    with pytest.raises(UsageError, match="no convolutional feature map"):
        last_feature_map(model)
    with pytest.raises(UsageError, match="no convolution layer"):
        first_convolution(model)
