"""Batch normalisation through TensorFlow's fused kernel, a training-time speed-up.

Every zoo model is built with `FusedBatchNormalization` in place of Keras'
`BatchNormalization`: the same weights, config and results, in one fused pass.
`zoo.fast_layers` swaps the classes, both ways.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


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
    `epsilon` below the kernel's minimum fall back to Keras' computation, and
    so does every backend but TensorFlow.
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
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and inputs.shape[-1] is not None
            and self.epsilon >= self._MIN_EPSILON
            and inputs.dtype in (tf.float32, tf.bfloat16, tf.float16)
        )
