"""The convolution whose input gradient is a forward convolution: same results as Keras'.

The reference gradients are JAX's (XLA's CPU convolutions): TensorFlow's own
filter gradient of a strided 1x1 convolution aborts on AVX512 CPUs with oneDNN
(see `zoo.conv_gradient`), so it cannot be the reference for every case.
"""

import jax
import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.conv_gradient import FastGradientConv2D, conv2d_fast_input_gradient

CASES = [
    # (height, width, in, out, kernel, strides, padding)
    (2, 2, 16, 8, (3, 3), (1, 1), "SAME"),
    (3, 3, 8, 16, (3, 3), (2, 2), "SAME"),
    (5, 7, 4, 3, (3, 3), (2, 2), "VALID"),
    (7, 9, 4, 6, (5, 5), (3, 3), "SAME"),
    (8, 8, 4, 6, (4, 4), (2, 2), "SAME"),  # even kernel: uneven SAME padding
    (9, 6, 3, 5, (7, 7), (2, 2), "SAME"),
    (17, 17, 3, 4, (7, 7), (2, 2), "VALID"),
    (10, 10, 6, 4, (1, 1), (2, 2), "SAME"),  # ResNet's projection shortcut
    (14, 14, 6, 4, (1, 1), (2, 2), "VALID"),  # keras.applications' ResNet shortcut
    (9, 9, 6, 4, (1, 1), (3, 3), "SAME"),
    (1, 1, 8, 8, (3, 3), (1, 1), "SAME"),
    (11, 11, 3, 4, (3, 3), (4, 4), "VALID"),  # strided VALID that never reads the last rows
    (4, 5, 3, 4, (1, 3), (1, 2), "SAME"),
]


def _reference(images, kernel, upstream, strides, padding):
    """JAX's convolution and its gradients for `images` and `kernel`."""

    def convolve(x, w):
        return jax.lax.conv_general_dilated(
            x, w, strides, padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    outputs, pullback = jax.vjp(convolve, np.asarray(images), np.asarray(kernel))
    return outputs, pullback(np.asarray(upstream, dtype=outputs.dtype))


@pytest.mark.parametrize("case", CASES, ids=[str(case) for case in CASES])
def test_gradients_equal_a_reference(case):
    height, width, channels_in, channels_out, kernel_size, strides, padding = case
    rng = np.random.default_rng(0)
    images = tf.constant(rng.standard_normal((3, height, width, channels_in)), tf.float32)
    kernel = tf.constant(rng.standard_normal((*kernel_size, channels_in, channels_out)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch([images, kernel])
        got = conv2d_fast_input_gradient(images, kernel, strides, padding)
        upstream = tf.constant(rng.standard_normal(got.shape), tf.float32)
        loss = tf.reduce_sum(got * upstream)
    expected, expected_gradients = _reference(images, kernel, upstream, strides, padding)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    for want, have in zip(expected_gradients, tape.gradient(loss, [images, kernel]), strict=True):
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_strided_pointwise_layer_trains_repeatedly(precision):
    # The shape whose oneDNN filter gradient aborted now and then: many steps, one process.
    policy = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(precision)
    try:
        layer = FastGradientConv2D(4, 1, strides=2, padding="same")
        images = tf.constant(np.random.default_rng(2).standard_normal((3, 14, 14, 6)), tf.float32)
        for _ in range(30):
            with tf.GradientTape() as tape:
                tape.watch(images)
                loss = tf.reduce_sum(tf.cast(layer(images), tf.float32) ** 2)
            gradients = tape.gradient(loss, [images, *layer.trainable_weights])
    finally:
        keras.mixed_precision.set_dtype_policy(policy)
    outputs = tf.cast(layer(images), tf.float32)
    expected, _ = _reference(images, layer.kernel.numpy(), outputs, (2, 2), "SAME")
    tolerance = 1e-4 if precision == "float32" else 5e-2
    np.testing.assert_allclose(
        outputs - layer.bias.numpy(), expected, rtol=tolerance, atol=tolerance
    )
    assert all(np.isfinite(gradient.numpy()).all() for gradient in gradients)


def _pair(**options):
    reference = keras.layers.Conv2D(4, 3, **options)
    fast = FastGradientConv2D(4, 3, **options)
    reference.build((None, 6, 6, 3))
    fast.build((None, 6, 6, 3))
    fast.set_weights(reference.get_weights())
    return reference, fast


@pytest.mark.parametrize(
    "options",
    [{"strides": 2, "padding": "same"}, {"padding": "valid"}, {"dilation_rate": 2}],
    ids=["strided-same", "valid", "dilated-falls-back"],
)
def test_the_layer_trains_as_keras_conv2d(options):
    reference, fast = _pair(**options)
    images = tf.constant(np.random.default_rng(1).standard_normal((2, 6, 6, 3)), tf.float32)
    gradients = []
    for layer in (reference, fast):
        with tf.GradientTape() as tape:
            tape.watch(images)
            loss = tf.reduce_sum(tf.square(layer(images)))
        gradients.append(tape.gradient(loss, [images, *layer.trainable_weights]))
    for want, have in zip(*gradients, strict=True):
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-4)
    assert FastGradientConv2D.from_config(fast.get_config()).get_config() == fast.get_config()


def test_bfloat16_gradients_flow():
    policy = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        layer = FastGradientConv2D(4, 3, strides=2, padding="same")
        images = tf.ones((2, 6, 6, 3))
        with tf.GradientTape() as tape:
            tape.watch(images)
            outputs = layer(images)
            loss = tf.reduce_sum(tf.cast(outputs, tf.float32))
        input_gradient, kernel_gradient, _ = tape.gradient(loss, [images, *layer.trainable_weights])
    finally:
        keras.mixed_precision.set_dtype_policy(policy)
    assert outputs.dtype == tf.bfloat16
    assert kernel_gradient.dtype == tf.float32 and input_gradient.shape == images.shape
    assert np.isfinite(kernel_gradient.numpy()).all()


def test_zoo_models_are_built_with_it():
    model = zoo.build_model("resnet18", classes=3, input_shape=(32, 32, 3))
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convolutions and all(type(layer) is FastGradientConv2D for layer in convolutions)
