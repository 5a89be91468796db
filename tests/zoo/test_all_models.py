"""Every registered architecture, through the one builder signature (timm's pattern)."""

import re

import keras
import numpy as np
import pytest

import zoo

BIG = 100_000_000


def _small_side(spec) -> int:
    return max(spec.min_size, 32)


def _flatten_top(name: str) -> bool:
    """Whether the classifier's size depends on the input size (a flatten, not a global pool)."""
    spec = zoo.get_spec(name)
    return (spec.head is not None and spec.head.pool == "flatten") or spec.family == "vgg"


@pytest.mark.parametrize("name", zoo.list_models())
def test_builds_small_as_classifier_and_as_feature_extractor(name):
    spec = zoo.get_spec(name)
    side = _small_side(spec)
    shape = (side, side, spec.channels)
    images = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")

    model = zoo.build_model(name, input_shape=shape)
    probabilities = np.asarray(model(images, training=False))
    assert probabilities.shape == (2, spec.classes)  # the paper's classes by default
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)
    if not _flatten_top(name):  # a global pool: the paper's count at any input size
        assert model.count_params() == spec.params

    features = zoo.build_model(name, include_top=False, pooling="avg", input_shape=shape)
    assert len(features.output_shape) == 2
    if spec.body_end is not None:  # the body ends right before the pooling
        assert features.layers[-2].name == spec.body_end
    block_ends = [layer for layer in features.layers if re.search(spec.block_pattern, layer.name)]
    assert len(block_ends) >= 2, "fine-tuning unfreezes whole blocks"
    assert np.asarray(features(images, training=False)).shape[0] == 2


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if zoo.get_spec(n).params > BIG else n
        for n in zoo.list_models()
        if _flatten_top(n)
    ],
)
def test_full_size_parameter_count(name):
    spec = zoo.get_spec(name)
    assert zoo.build_model(name).count_params() == spec.params


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "densenet121"])
def test_bases_count_what_keras_own_models_count(name):
    """An independent count: Keras' own constructor, not the zoo's registry."""
    constructors = {
        "resnet50": keras.applications.ResNet50,
        "mobilenet_v2": keras.applications.MobileNetV2,
        "densenet121": keras.applications.DenseNet121,
    }
    reference = constructors[name](weights=None).count_params()
    assert zoo.build_model(name).count_params() == reference == zoo.get_spec(name).params


def test_cifar_resnets_have_the_papers_layout():
    model = zoo.build_model("resnet20", classes=10, input_shape=(32, 32, 3))
    assert model.count_params() == 271_098
    assert model.get_layer("conv2_block3_out").output.shape[1:] == (32, 32, 16)
    assert model.get_layer("conv4_block3_out").output.shape[1:] == (8, 8, 64)
    weighted = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(weighted) == 19  # 6n + 1 convolutions and the classifier: 20 layers
