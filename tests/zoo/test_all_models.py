"""Every registered architecture, through the one builder signature (timm's pattern)."""

import re

import numpy as np
import pytest

import zoo

BIG = 100_000_000


def _small_side(spec) -> int:
    return max(spec.min_size, 32)


@pytest.mark.parametrize("name", zoo.list_models())
def test_builds_small_with_new_head_and_as_feature_extractor(name):
    spec = zoo.get_spec(name)
    side = _small_side(spec)
    shape = (side, side, spec.channels)
    images = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")

    model = zoo.build_model(name, classes=7, input_shape=shape)
    probabilities = np.asarray(model(images, training=False))
    assert probabilities.shape == (2, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)

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
    ],
)
def test_full_size_parameter_count(name):
    spec = zoo.get_spec(name)
    assert zoo.build_model(name).count_params() == spec.params


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("inception_v3", 23_851_784),
        ("nasnet_mobile", 5_326_716),
        ("vgg16", 138_357_544),
        ("vgg19", 143_667_240),
        ("resnet50", 25_636_712),
    ],
)
def test_issue_counts_are_the_registered_ones(name, params):
    assert zoo.get_spec(name).params == params


def test_nasnet_large_count_is_the_registered_one():
    assert zoo.get_spec("nasnet_large").params == 88_949_818
