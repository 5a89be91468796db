"""Model size and cost: parameter counts and multiply-adds of one forward pass."""

from __future__ import annotations

import math

import keras

_Shape = tuple[int | None, ...]


def count_params(model: keras.Model) -> tuple[int, int]:
    """Total and trainable parameter counts.

    Args:
        model: A built model.

    Returns:
        `(total, trainable)`.
    """
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return model.count_params(), int(trainable)


def count_macs(model: keras.Model) -> int:
    """Multiply-adds of one forward pass of one image.

    Counts the layers that dominate cost: convolutions (regular, depthwise,
    separable, transposed), dense layers (per position when applied to a map)
    and batch/layer normalisation is ignored, as is customary. Nested models
    are counted through.

    Args:
        model: A built functional or sequential model.

    Returns:
        The number of multiply-adds for a batch of one.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += count_macs(layer)
            continue
        for node_input, node_output in _node_shapes(layer):
            total += _layer_macs(layer, node_input, node_output)
    return total


def _node_shapes(layer: keras.layers.Layer) -> list[tuple[_Shape, _Shape]]:
    shapes = []
    for node in layer._inbound_nodes:  # each call of a shared layer costs again
        inputs = [t.shape for t in node.input_tensors]
        outputs = [t.shape for t in node.output_tensors]
        if inputs and outputs:
            shapes.append((inputs[0], outputs[0]))
    return shapes


def _positions(shape: _Shape) -> int:
    """Spatial positions of a `(batch, ..., channels)` shape."""
    return math.prod(d or 1 for d in shape[1:-1])


def _layer_macs(layer: keras.layers.Layer, input_shape: _Shape, output_shape: _Shape) -> int:
    if isinstance(layer, keras.layers.SeparableConv2D):
        in_channels = input_shape[-1]
        kernel = math.prod(layer.kernel_size)
        depthwise = _positions(output_shape) * in_channels * layer.depth_multiplier * kernel
        pointwise = _positions(output_shape) * in_channels * layer.depth_multiplier * layer.filters
        return depthwise + pointwise
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kernel = math.prod(layer.kernel_size)
        return _positions(output_shape) * output_shape[-1] * kernel
    if isinstance(layer, keras.layers.Conv2DTranspose):
        kernel = math.prod(layer.kernel_size)
        return _positions(input_shape) * input_shape[-1] * kernel * output_shape[-1]
    if isinstance(layer, keras.layers.Conv2D | keras.layers.Conv1D | keras.layers.Conv3D):
        kernel = math.prod(layer.kernel_size)
        per_output = kernel * input_shape[-1] // layer.groups
        return _positions(output_shape) * output_shape[-1] * per_output
    if isinstance(layer, keras.layers.Dense):
        return _positions(output_shape) * input_shape[-1] * output_shape[-1]
    return 0
