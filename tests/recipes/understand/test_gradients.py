"""Saliency, SmoothGrad and integrated gradients."""

import keras
import numpy as np
import tensorflow as tf

from recipes.understand.gradients import (
    integrated_attributions,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from recipes.understand.layers import logits_function
from recipes.understand.subject import Subject
from tests.recipes.understand.tiny_models import SIZE, images, nested_classifier

TARGETS = np.array([2, 0, 1], dtype="int32")


def test_saliency_is_each_images_own_input_gradient():
    model = nested_classifier()
    batch = images(3)
    logits = logits_function(model)
    expected = []
    for image, target in zip(batch, TARGETS, strict=True):
        single = tf.constant(image[None])
        with tf.GradientTape() as tape:
            tape.watch(single)
            score = logits(single)[0, target]
        expected.append(np.abs(tape.gradient(score, single)[0].numpy()).max(axis=-1))
    np.testing.assert_allclose(
        saliency(Subject(model), batch, TARGETS), np.stack(expected), rtol=1e-4, atol=1e-7
    )


def test_integrated_gradients_add_up_to_the_change_of_the_logit():
    model = nested_classifier()
    batch = images(3)
    attributions = integrated_attributions(Subject(model), batch, TARGETS)
    logits = keras.ops.convert_to_numpy(logits_function(model)(batch))
    black = keras.ops.convert_to_numpy(logits_function(model)(np.zeros_like(batch)))
    rows = np.arange(len(batch))
    change = logits[rows, TARGETS] - black[rows, TARGETS]
    np.testing.assert_allclose(attributions.sum(axis=(1, 2, 3)), change, rtol=0.05, atol=1e-3)
    maps = integrated_gradients(Subject(model), batch, TARGETS)
    assert maps.shape == (3, SIZE, SIZE) and (maps >= 0).all()


def test_smoothgrad_is_deterministic_for_a_seed_and_smoother_than_saliency():
    subject = Subject(nested_classifier())
    batch = images(2)
    targets = TARGETS[:2]
    first = smoothgrad(subject, batch, targets, seed=4)
    np.testing.assert_array_equal(first, smoothgrad(subject, batch, targets, seed=4))
    assert first.shape == (2, SIZE, SIZE)
    raw = saliency(subject, batch, targets)

    def roughness(maps):  # mean jump between neighbouring pixels, relative to the map's scale
        return np.abs(np.diff(maps, axis=2)).mean() / maps.mean()

    assert roughness(first) < roughness(raw)
