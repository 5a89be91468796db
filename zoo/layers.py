"""The zoo's own layers: input preprocessing, LRN, LeNet-5's C3, fused BatchNorm, the heads.

Every custom layer a zoo model can contain is defined (and registered for
`keras.saving`) here, so importing this module is all a saved model needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

_IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
_IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="keras_zoo")
class ImagePreprocessing(keras.layers.Layer):
    """Maps raw 0-255 images to what a network expects, inside the model.

    Keeping this in the model means a saved or exported model takes raw pixel
    values, and nothing normalises twice.

    Args:
        mode: `tf` ([-1, 1]), `caffe` (BGR minus ImageNet mean), `torch`
            ([0, 1] then ImageNet mean/std) or `scale` ([0, 1]).
        **kwargs: Standard layer arguments.
    """

    MODES = ("tf", "caffe", "torch", "scale")

    def __init__(self, mode: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}. Received: mode={mode!r}")
        self.mode = mode

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        x = tf.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "scale":
            return x / 255.0
        if self.mode == "caffe":
            return x[..., ::-1] - tf.constant(_CAFFE_MEAN_BGR, dtype=x.dtype)
        mean = tf.constant(_IMAGENET_MEAN_RGB, dtype=x.dtype)
        std = tf.constant(_IMAGENET_STD_RGB, dtype=x.dtype)
        return (x / 255.0 - mean) / std

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="keras_zoo")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (Krizhevsky et al., 2012, Sec. 3.3).

    `b = a / (k + alpha * sum(a^2 over n neighbouring channels)) ** beta`, with
    the paper's `k=2, n=5, alpha=1e-4, beta=0.75` as defaults. Caffe's LRN
    divides `alpha` by `n`; pass `alpha * n` to reproduce a Caffe model.

    Args:
        size: Number of neighbouring channels `n` (odd).
        bias: `k`.
        alpha: `alpha`, the scale of the sum of squares (not divided by `size`).
        beta: `beta`.
        **kwargs: Standard layer arguments.
    """

    def __init__(
        self,
        size: int = 5,
        bias: float = 2.0,
        alpha: float = 1e-4,
        beta: float = 0.75,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.size, self.bias, self.alpha, self.beta = size, bias, alpha, beta

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        x = tf.cast(inputs, tf.float32)
        y = tf.nn.local_response_normalization(
            x,
            depth_radius=self.size // 2,
            bias=self.bias,
            alpha=self.alpha,
            beta=self.beta,
        )
        return tf.cast(y, inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "size": self.size,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
        }


@keras.saving.register_keras_serializable(package="keras_zoo")
class PartiallyConnectedConv2D(keras.layers.Layer):
    """A 'valid' convolution whose output maps see only some input maps.

    Only the weights of the connections in `table` exist (LeNet-5's C3 has
    1,500 of them plus 16 biases, against 2,400 plus 16 fully connected).
    They are scattered into a full kernel for one ordinary convolution.

    Args:
        table: For each output map, the indices of the input maps it sees.
        kernel_size: Side of the square kernel.
        activation: Activation applied to the output.
        **kwargs: Standard layer arguments.
    """

    def __init__(
        self,
        table: Sequence[Sequence[int]],
        kernel_size: int,
        activation: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.table = [list(inputs) for inputs in table]
        self.kernel_size = kernel_size
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[-1]
        pairs = [(i, out) for out, inputs in enumerate(self.table) for i in inputs]
        if max(i for i, _ in pairs) >= channels:
            raise ValueError(
                f"The connection table needs {max(i for i, _ in pairs) + 1} input maps. "
                f"Received: input_shape={input_shape}"
            )
        # scatter[c, i, o] = 1 where connection c joins input map i to output map o.
        self._scatter = np.zeros((len(pairs), channels, len(self.table)), "float32")
        for c, (i, out) in enumerate(pairs):
            self._scatter[c, i, out] = 1.0
        # Glorot uniform, with the fans of the connections that exist.
        area = self.kernel_size**2
        fan_in, fan_out = area * len(pairs) / len(self.table), area * len(pairs) / channels
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, len(pairs)),
            initializer=keras.initializers.RandomUniform(-limit, limit),
        )
        self.bias = self.add_weight(name="bias", shape=(len(self.table),), initializer="zeros")

    def call(self, inputs: Any) -> Any:
        dtype = self.compute_dtype
        kernel = keras.ops.einsum(
            "hwc,cio->hwio",
            keras.ops.cast(self.kernel, dtype),
            keras.ops.cast(self._scatter, dtype),
        )
        outputs = keras.ops.conv(inputs, kernel, padding="valid")
        outputs = outputs + keras.ops.cast(self.bias, dtype)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        def side(n: int | None) -> int | None:
            return None if n is None else n - self.kernel_size + 1

        return (input_shape[0], side(input_shape[1]), side(input_shape[2]), len(self.table))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "table": self.table,
            "kernel_size": self.kernel_size,
            "activation": keras.activations.serialize(self.activation),
        }


@keras.saving.register_keras_serializable(package="keras_zoo")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Keras' `BatchNormalization`, computed by TensorFlow's fused kernel where it applies.

    The same weights, config and results as Keras' layer (up to rounding): the
    batch statistics are biased, the moving averages are updated as Keras does,
    and a layer with `trainable=False` runs in inference mode. Keras computes
    the normalisation as a chain of float32 element-wise ops around casts; the
    fused kernel (oneDNN on CPUs, cuDNN on GPUs) does it in one pass and takes
    bfloat16/float16 inputs as they are, which makes mixed-precision training
    of BatchNorm networks much faster. Masks, batch renormalisation,
    synchronized statistics, inputs that are not 4-D channels-last and an
    `epsilon` below the kernel's minimum fall back to Keras' computation.
    """

    _MIN_EPSILON = 1.001e-5  # the fused kernel's smallest epsilon

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        scale = self.gamma if self.scale else tf.ones((channels,), tf.float32)
        offset = self.beta if self.center else tf.zeros((channels,), tf.float32)
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, scale, offset, epsilon=self.epsilon, is_training=True
            )
            # The kernel returns the unbiased variance; Keras keeps the biased one.
            count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), tf.float32)
            variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
            self.moving_variance.assign(
                self.moving_variance * momentum + variance * (1.0 - momentum)
            )
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs,
                scale,
                offset,
                mean=self.moving_mean,
                variance=self.moving_variance,
                epsilon=self.epsilon,
                is_training=False,
            )
        return tf.cast(outputs, self.compute_dtype)

    def _fusable(self, inputs: Any, mask: Any) -> bool:
        return (
            mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and inputs.shape[-1] is not None
            and self.epsilon >= self._MIN_EPSILON
            and inputs.dtype in (tf.float32, tf.bfloat16, tf.float16)
        )


def fuse_batch_norm(model: keras.Model, fused: bool = True) -> keras.Model:
    """Makes every `BatchNormalization` layer of a model fused (or Keras' own again).

    The layers change class in place: `FusedBatchNormalization` adds no state
    and only replaces `call`, so weights, config and the graph stay as they
    are, and the model saves with the class it has.

    Args:
        model: A Keras model (nested models included).
        fused: `True` for `FusedBatchNormalization`, `False` for Keras' layer
            (what a plain-Keras model computes with, for comparisons).

    Returns:
        The same model.
    """
    source, target = keras.layers.BatchNormalization, FusedBatchNormalization
    if not fused:
        source, target = target, source
    for layer in model.layers:
        if type(layer) is source:
            layer.__class__ = target
        elif isinstance(layer, keras.Model):
            fuse_batch_norm(layer, fused)
    return model


def global_pool(x: keras.KerasTensor, pooling: str | None) -> keras.KerasTensor:
    """Applies the feature extractor's optional global pooling.

    Args:
        x: A 4-D feature map.
        pooling: `None` (keep the map), `"avg"` or `"max"`.

    Returns:
        The pooled (2-D) or unchanged tensor.
    """
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def classifier(x: keras.KerasTensor, classes: int, activation: str | None) -> keras.KerasTensor:
    """The final dense layer every top ends with, named `predictions` as in Keras."""
    return keras.layers.Dense(classes, activation=activation, name="predictions")(x)
