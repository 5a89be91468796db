"""The zoo's faster TensorFlow layers in place of Keras' own, and back.

Every zoo model trains with `FusedBatchNormalization` (`zoo.batchnorm`) in place
of Keras' `BatchNormalization` and `FastGradientConv2D` (`zoo.conv_gradient`)
in place of `Conv2D`: the same weights, config and results, computed faster.
The layers change class in place, since neither adds state: the weights, the
config and the graph stay as they are. Model files are saved with Keras' own
layers (`keras_layers`), so they load without the project; `use_fast_layers`
turns a loaded model's layers back. Both are TensorFlow kernels: on Keras' other
backends a model keeps Keras' layers. `float32_layers` gives a saved file
float32 layers whatever precision the model trained in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras

from zoo.batchnorm import FusedBatchNormalization
from zoo.conv_gradient import FastGradientConv2D

FAST_LAYERS: dict[type, type] = {
    keras.layers.BatchNormalization: FusedBatchNormalization,
    keras.layers.Conv2D: FastGradientConv2D,
}
"""Keras' layer class -> the zoo's faster one with the same weights and config."""


def use_fast_layers(model: keras.Model, fast: bool = True) -> keras.Model:
    """Makes a model's layers the zoo's faster ones (or Keras' own again).

    Only layers of exactly Keras' class change: subclasses keep their own
    computation. On a backend other than TensorFlow nothing changes.

    Args:
        model: A Keras model (nested models included).
        fast: `True` for the zoo's layers, `False` for Keras' (what a
            plain-Keras model computes with, for comparisons).

    Returns:
        The same model.
    """
    if keras.backend.backend() != "tensorflow":
        return model
    swaps = FAST_LAYERS if fast else {new: old for old, new in FAST_LAYERS.items()}
    for layer in _all_layers(model):
        target = swaps.get(type(layer))
        if target is not None:
            layer.__class__ = target
    return model


@contextlib.contextmanager
def keras_layers(model: keras.Model) -> Iterator[keras.Model]:
    """Within the block, the model's layers are Keras' own (for saving).

    A model file then names `BatchNormalization` and `Conv2D`, which plain
    Keras loads; the weights are the same either way. The layers are the zoo's
    again after.

    Args:
        model: A model whose layers may be the zoo's.

    Yields:
        The model, with Keras' layers.
    """
    originals = {new: old for old, new in FAST_LAYERS.items()}
    swapped = [layer for layer in _all_layers(model) if type(layer) in originals]
    for layer in swapped:
        layer.__class__ = originals[type(layer)]
    try:
        yield model
    finally:
        for layer in swapped:
            layer.__class__ = FAST_LAYERS[type(layer)]


@contextlib.contextmanager
def float32_layers(model: keras.Model) -> Iterator[keras.Model]:
    """Within the block, mixed-precision layers (16-bit compute, float32 weights) are float32.

    Mixed precision is a training setting: a file with `mixed_bfloat16` layers
    would predict in bfloat16 wherever it is loaded, slowly on CPUs without it.
    Saving inside the block writes float32 layers; the model is as it was after.

    Args:
        model: A model, nested models included.

    Yields:
        The model, its layers float32.
    """
    changed = []
    for layer in [model, *_all_layers(model)]:
        policy = layer.dtype_policy
        if policy.quantization_mode is None and policy.compute_dtype != policy.variable_dtype:
            changed.append((layer, policy))
            layer.dtype_policy = policy.variable_dtype
    try:
        yield model
    finally:
        for layer, policy in changed:
            layer.dtype_policy = policy


def _all_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
