"""Grad-CAM, Grad-CAM++ and Score-CAM on nested, flat and Sequential models."""

import keras
import numpy as np
import pytest

from recipes.understand.cam import grad_cam, grad_cam_plus_plus, score_cam
from recipes.understand.subject import Subject
from tests.recipes.understand.tiny_models import (
    SIZE,
    flat_classifier,
    images,
    nested_classifier,
    reference_grad_cam,
    sequential_classifier,
)

TARGETS = np.array([0, 1, 2, 1], dtype="int32")


def _nested_reference():
    model = nested_classifier()
    base = model.get_layer("base")
    features_of = keras.Model(base.inputs, base.get_layer("conv2").output)

    def logits_of(feature_map):
        return model.get_layer("head_logits")(model.get_layer("head_pool")(feature_map))

    return model, features_of, logits_of


def _flat_reference(build):
    model = build()
    features_of = keras.Model(model.inputs, model.get_layer("conv2").output)
    dense = model.get_layer("predictions")

    def logits_of(feature_map):
        pooled = model.get_layer("gap")(feature_map)
        return keras.ops.matmul(pooled, dense.kernel) + dense.bias

    return model, features_of, logits_of


@pytest.mark.parametrize(
    "make",
    [
        _nested_reference,
        lambda: _flat_reference(flat_classifier),
        lambda: _flat_reference(sequential_classifier),
    ],
    ids=["nested", "flat", "sequential"],
)
def test_grad_cam_agrees_with_a_per_image_reference(make):
    model, features_of, logits_of = make()
    batch = images()
    maps = grad_cam(Subject(model), batch, TARGETS)
    assert maps.shape == (len(batch), SIZE, SIZE)
    references = np.stack(
        [
            reference_grad_cam(features_of, logits_of, image, target)
            for image, target in zip(batch, TARGETS, strict=True)
        ]
    )
    assert maps.std() > 0
    np.testing.assert_allclose(maps, references, rtol=1e-4, atol=1e-5 * references.max())
    for ours, reference in zip(maps, references, strict=True):
        if reference.std() > 0:
            assert np.corrcoef(ours.ravel(), reference.ravel())[0, 1] > 0.99


def test_each_image_of_a_batch_gets_its_own_map():
    model = nested_classifier()
    batch = images()
    subject = Subject(model)
    together = grad_cam(subject, batch, TARGETS)
    alone = np.concatenate(
        [grad_cam(subject, batch[i : i + 1], TARGETS[i : i + 1]) for i in range(len(batch))]
    )
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-6)
    assert not np.allclose(together[0], together[1])


@pytest.mark.parametrize("method", [grad_cam_plus_plus, score_cam])
def test_the_other_cam_methods_give_non_negative_maps_of_the_input_size(method):
    batch = images()
    maps = method(Subject(flat_classifier()), batch, TARGETS)
    assert maps.shape == (len(batch), SIZE, SIZE)
    assert np.isfinite(maps).all() and (maps >= 0).all()
    assert maps.std() > 0
