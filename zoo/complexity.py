"""Model size and cost: parameter counts and multiply-adds of one forward pass."""

from __future__ import annotations

import math
from typing import Any

import keras

from zoo.layers import PartiallyConnectedConv2D

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
    separable, transposed, and LeNet-5's partially connected C3, by the
    connections it has), dense layers (per position when applied to a map);
    batch/layer normalisation is ignored, as is customary. Nested models are
    counted through.

    Args:
        model: A built functional or sequential model.

    Returns:
        The number of multiply-adds for a batch of one.
    """
    return sum(macs_by_layer(model).values())


def macs_by_layer(model: keras.Model) -> dict[str, int]:
    """Multiply-adds of one forward pass of one image, per layer, as `count_macs` counts them.

    Only the calls that are part of the model's own graph count: a layer
    called again in another graph (VGG16's top, rewired through Keras' layers
    to add dropout) costs once, and a shared layer costs once per call.

    Args:
        model: A built functional or sequential model.

    Returns:
        Layer name -> multiply-adds, in the model's layer order; the layers of
        a nested model are named `model/layer`. Layers that cost nothing map to 0.
    """
    calls = _calls_in_graph(model)
    macs: dict[str, int] = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            nested = macs_by_layer(layer)
            macs.update({f"{layer.name}/{name}": value for name, value in nested.items()})
            continue
        nodes = calls.get(id(layer), []) if calls else layer._inbound_nodes
        macs[layer.name] = sum(_layer_macs(layer, *shapes) for shapes in _node_shapes(nodes))
    return macs


def _calls_in_graph(model: keras.Model) -> dict[int, list[Any]]:
    """The calls of each layer on the paths from the model's inputs to its outputs.

    Returns `{}` where the model has no graph to walk (a subclassed model).
    """
    try:
        stack, inputs = list(model.outputs), {id(t) for t in model.inputs}
    except (AttributeError, ValueError):
        return {}
    calls: dict[int, list[Any]] = {}
    seen: set[tuple[int, int]] = set()
    while stack:
        tensor = stack.pop()
        history = getattr(tensor, "_keras_history", None)
        if id(tensor) in inputs or history is None:
            continue
        operation, node_index, _ = history
        if (id(operation), node_index) in seen:
            continue
        seen.add((id(operation), node_index))
        node = operation._inbound_nodes[node_index]
        calls.setdefault(id(operation), []).append(node)
        stack.extend(node.input_tensors)
    return calls


def _node_shapes(nodes: list[Any]) -> list[tuple[_Shape, _Shape]]:
    shapes = []
    for node in nodes:
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
    if isinstance(layer, PartiallyConnectedConv2D):  # only the connections that exist
        return _positions(output_shape) * math.prod(layer.kernel.shape)
    if isinstance(layer, keras.layers.Dense):
        return _positions(output_shape) * input_shape[-1] * output_shape[-1]
    return 0
