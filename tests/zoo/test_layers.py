"""The zoo's layers: the fused BatchNormalization against Keras' own, and the others."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.batchnorm import FusedBatchNormalization


def _pair(dtype, **options):
    """A Keras BatchNormalization and a fused one with the same weights."""
    rng = np.random.default_rng(0)
    gamma, beta = rng.normal(1.0, 0.1, 6), rng.normal(0.0, 0.1, 6)
    layers = (
        keras.layers.BatchNormalization(momentum=0.9, dtype=dtype, **options),
        FusedBatchNormalization(momentum=0.9, dtype=dtype, **options),
    )
    for layer in layers:
        layer.build((None, 5, 5, 6))
        layer.gamma.assign(gamma.astype("float32"))
        layer.beta.assign(beta.astype("float32"))
    return layers


def _train_step(layer, images):
    """Training-mode outputs and the gradients of a weighted sum of squares."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        outputs = tf.cast(layer(images, training=True), tf.float32)
        loss = tf.reduce_sum(outputs**2 * tf.range(6, dtype=tf.float32))
    return outputs, tape.gradient(loss, [images, layer.gamma, layer.beta])


@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1e-5), ("mixed_bfloat16", 2e-2)])
def test_fused_batch_norm_computes_what_keras_computes(dtype, tolerance):
    reference, fused = _pair(dtype, epsilon=1.001e-5)
    images = tf.constant(np.random.default_rng(1).normal(2.0, 3.0, (4, 5, 5, 6)), tf.float32)
    expected, expected_gradients = _train_step(reference, images)
    outputs, gradients = _train_step(fused, images)
    np.testing.assert_allclose(outputs, expected, atol=tolerance)
    for mine, theirs in zip(gradients, expected_gradients, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=tolerance, atol=tolerance * 10)
    np.testing.assert_allclose(fused.moving_mean, reference.moving_mean, rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance, reference.moving_variance, rtol=1e-5)
    inference = [tf.cast(layer(images, training=False), tf.float32) for layer in (reference, fused)]
    np.testing.assert_allclose(inference[1], inference[0], atol=tolerance)


def test_a_frozen_fused_batch_norm_runs_in_inference_mode():
    _, fused = _pair("float32")
    fused.trainable = False
    images = np.ones((2, 5, 5, 6), "float32")
    fused(images, training=True)
    np.testing.assert_array_equal(fused.moving_mean, np.zeros(6))


def test_what_the_kernel_cannot_do_falls_back_to_keras():
    reference, fused = _pair("float32", epsilon=1e-6)  # below the kernel's minimum
    images = np.random.default_rng(2).normal(size=(4, 5, 5, 6)).astype("float32")
    np.testing.assert_allclose(
        fused(images, training=True), reference(images, training=True), atol=1e-5
    )
    flat = FusedBatchNormalization()
    assert flat(np.ones((3, 4), "float32"), training=True).shape == (3, 4)


def test_built_models_use_it_and_save_with_it(tmp_path):
    model = zoo.build_model("resnet18", classes=3, input_shape=(32, 32, 3))
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(type(layer) is FusedBatchNormalization for layer in norms)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.get_layer(norms[0].name)) is FusedBatchNormalization
    images = np.random.default_rng(3).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(loaded(images), model(images), atol=1e-6)


def test_fast_layers_switch_both_ways():
    from zoo.fast_layers import use_fast_layers

    model = zoo.build_model("resnet18", classes=3, input_shape=(32, 32, 3))
    images = np.random.default_rng(4).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    fused_outputs = np.asarray(model(images))
    use_fast_layers(model, fast=False)
    kinds = {type(layer) for layer in model.layers if layer.name.endswith(("_bn", "_conv"))}
    assert kinds == {keras.layers.BatchNormalization, keras.layers.Conv2D}
    np.testing.assert_allclose(np.asarray(model(images)), fused_outputs, atol=1e-5)


def test_zero_padding_shortcut_subsamples_and_pads_channels():
    from zoo.layers import ZeroPaddingShortcut

    images = np.arange(2 * 5 * 5 * 3, dtype="float32").reshape(2, 5, 5, 3)
    layer = ZeroPaddingShortcut(8, 2)
    outputs = np.asarray(layer(images))
    assert outputs.shape == (2, 3, 3, 8) == layer.compute_output_shape((2, 5, 5, 3))
    np.testing.assert_array_equal(outputs[..., 2:5], images[:, ::2, ::2, :])
    assert not outputs[..., :2].any() and not outputs[..., 5:].any()
    assert ZeroPaddingShortcut.from_config(layer.get_config()).filters == 8


@pytest.mark.parametrize(
    ("side", "channels", "filters", "strides"),
    [(8, 16, 32, 2), (9, 16, 32, 2), (5, 3, 8, 2), (6, 16, 16, 2), (7, 16, 33, 3), (4, 3, 8, 1)],
)
def test_keras_layers_shortcut_is_exactly_the_zero_padding_layer(side, channels, filters, strides):
    from zoo.archs.resnet import zero_padding_shortcut
    from zoo.layers import ZeroPaddingShortcut

    inputs = keras.Input((side, side, channels))
    model = keras.Model(inputs, zero_padding_shortcut(inputs, filters, strides, "shortcut"))
    assert all(type(layer).__module__.startswith("keras.") for layer in model.layers)
    images = np.random.default_rng(5).normal(size=(2, side, side, channels)).astype("float32")
    expected = np.asarray(ZeroPaddingShortcut(filters, strides)(images))
    np.testing.assert_array_equal(np.asarray(model(images)), expected)
