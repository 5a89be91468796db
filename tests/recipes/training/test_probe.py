"""The linear probe and the kNN baseline, checked against scikit-learn on the same features."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from recipes.training.probe import NEIGHBOURS, fit_probe, pooled_features


def _blobs(classes, per_class, dim=12, seed=0, spread=1.5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, dim)) + 20  # far from zero, unevenly scaled
    scales = rng.uniform(0.5, 8, dim)
    x = np.concatenate(
        [centres[c] + rng.normal(0, spread, (per_class, dim)) for c in range(classes)]
    )
    return x * scales, np.repeat(np.arange(classes), per_class)


def _batches(x, y, classes, weights=None):
    parts = (x.astype("float32"), tf.one_hot(y, classes))
    if weights is not None:
        parts += (weights.astype("float32"),)
    return tf.data.Dataset.from_tensor_slices(parts).batch(7)


def identity(images, training=False):
    return images


@pytest.mark.parametrize("classes", [2, 4])
def test_the_probe_predicts_as_scikit_learns_logistic_regression(classes):
    x, y = _blobs(classes, 30)
    vx, vy = _blobs(classes, 10, seed=1)
    probe = fit_probe(identity, [_batches(x, y, classes)], _batches(vx, vy, classes), None, classes)

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    reference = LogisticRegression(C=probe.strength, max_iter=2000).fit((x - mean) / scale, y)
    expected = reference.predict_proba((vx - mean) / scale)
    logits = vx @ probe.kernel + probe.bias
    got = np.exp(logits - logits.max(axis=1, keepdims=True))
    got /= got.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=2e-3)
    assert probe.scores["probe_val_accuracy"] == pytest.approx(
        (reference.predict((vx - mean) / scale) == vy).mean(), abs=1e-4
    )
    assert probe.kernel.shape == (12, classes) and probe.images == len(y)


def test_the_knn_baseline_is_scikit_learns_on_the_plain_view():
    x, y = _blobs(3, 20, spread=6)
    tx, ty = _blobs(3, 15, seed=2, spread=6)
    noisy = x + np.random.default_rng(3).normal(0, 50, x.shape)  # an "augmented" view
    probe = fit_probe(
        identity, [_batches(x, y, 3), _batches(noisy, y, 3)], None, _batches(tx, ty, 3), 3
    )
    knn = KNeighborsClassifier(n_neighbors=NEIGHBOURS, metric="cosine").fit(x, y)
    assert probe.scores["knn_test_accuracy"] == pytest.approx(
        (knn.predict(tx) == ty).mean(), abs=1e-4
    )
    assert probe.strength == 1.0  # no validation split: scikit-learn's default strength
    assert probe.images == 2 * len(y)


def test_a_class_without_training_images_is_never_predicted():
    x, y = _blobs(3, 10)
    keep = y != 2
    probe = fit_probe(identity, [_batches(x[keep], y[keep], 3)], None, None, 3)
    assert ((x @ probe.kernel + probe.bias).argmax(axis=1) != 2).all()


def test_padding_images_of_weight_zero_are_left_out():
    x, y = _blobs(2, 5)
    weights = np.array([1.0] * 8 + [0.0] * 2)
    features, labels = pooled_features(identity, _batches(x, y, 2, weights))
    assert len(features) == len(labels) == 8
