"""Batch normalisation through TensorFlow's fused kernel, a training-time speed-up.

Every zoo model is built with `FusedBatchNormalization` in place of Keras'
`BatchNormalization`: the same weights, config and results, in one fused pass.
Model files are saved with Keras' own layer (`keras_batch_norm`), so they load
without the project; `fuse_batch_norm` turns a loaded model's layers back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
    for layer in _all_layers(model):
        if type(layer) is source:
            layer.__class__ = target
    return model


@contextlib.contextmanager
def keras_batch_norm(model: keras.Model) -> Iterator[keras.Model]:
    """Within the block, the model's BatchNorm layers are Keras' own (for saving).

    A model file then names `BatchNormalization`, which plain Keras loads;
    the weights are the same either way. The layers are fused again after.

    Args:
        model: A model whose BatchNorm layers may be fused.

    Yields:
        The model, with Keras' layers.
    """
    fused = [layer for layer in _all_layers(model) if type(layer) is FusedBatchNormalization]
    for layer in fused:
        layer.__class__ = keras.layers.BatchNormalization
    try:
        yield model
    finally:
        for layer in fused:
            layer.__class__ = FusedBatchNormalization


def _all_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
