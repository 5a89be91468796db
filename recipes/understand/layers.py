"""Layers by path, into nested models: what the explanation and feature commands read.

A fine-tuned model holds its base as one nested model, so `model.get_layer`
cannot see `conv5_block3_out` inside it, and a nested layer's output is a
tensor of the base's own graph, disconnected from the outer model's input.
Here a layer is named by a path (`base/conv5_block3_out`), and a `Tap` runs the
model in stages around each nested model it enters: the outer layers up to
the nested call, the nested model (with its inner layer as a second output),
then the outer layers after it. The stages are sub-models that share the
model's layers and weights; the model itself is never changed.

The classifier's logits (before softmax) are what the explanations differentiate:
the input of a final softmax `Activation` (the zoo's models), or a final softmax
`Dense` layer's pre-activation, computed from its kernel and bias.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras

from zoo.errors import UsageError, closest, hint_for, shorten

SEPARATOR = "/"


@dataclass(frozen=True)
class LayerInfo:
    """One layer of a model, named by its path.

    Attributes:
        path: `name` or `outer/inner/...` for layers inside nested models.
        layer: The Keras layer.
        shape: The layer's output shape (batch first).
    """

    path: str
    layer: Any
    shape: tuple[Any, ...]

    @property
    def is_feature_map(self) -> bool:
        """Whether the output is a 4-D map `(batch, height, width, channels)`."""
        return len(self.shape) == 4


def _graph(model: Any) -> Any:
    # A Sequential model keeps its graph in a Functional model of the same layers.
    return getattr(model, "_functional", None) or model


def _call_node(model: Any, layer: Any) -> Any:
    """The node where `model`'s graph calls `layer`.

    A nested model also has the node of its own construction, and Keras
    gives `layer.input`/`layer.output` from that one, so the call is found
    among the nodes of `model`'s graph (Keras' `_nodes_by_depth`: no public API
    exposes the nodes of a graph).
    """
    nodes = {id(node) for level in _graph(model)._nodes_by_depth.values() for node in level}
    calls = [node for node in layer._inbound_nodes if id(node) in nodes]
    if len(calls) != 1:
        raise UsageError(
            f"{layer.name} is called {len(calls)} times in {model.name}; only layers "
            "called once can be explained or read."
        )
    return calls[0]


def _shape(tensor: Any) -> tuple[Any, ...]:
    return tuple(tensor.shape)


def _is_model(layer: Any) -> bool:
    return isinstance(layer, keras.Model)


def list_layers(model: Any, prefix: str = "") -> list[LayerInfo]:
    """Every layer with its path, nested models' layers after the nested model.

    Args:
        model: A built Keras model.
        prefix: Path of `model` inside its parents.

    Returns:
        The layers in the graph's order (input layers left out).
    """
    infos: list[LayerInfo] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        path = f"{prefix}{layer.name}"
        output = _call_node(model, layer).outputs[0]
        infos.append(LayerInfo(path, layer, _shape(output)))
        if _is_model(layer):
            infos.extend(list_layers(layer, prefix=f"{path}{SEPARATOR}"))
    return infos


def find_layer(model: Any, path: str) -> LayerInfo:
    """The layer at `path`.

    Raises:
        UsageError: No layer there; the message lists the closest paths and
            how to see them all.
    """
    infos = list_layers(model)
    for info in infos:
        if info.path == path:
            return info
    paths = [info.path for info in infos]
    names = {info.path.rsplit(SEPARATOR, 1)[-1]: info.path for info in infos}
    suggestions = []
    if len(path) <= 200:  # no layer path is longer; comparing a huge one would take minutes
        suggestions = closest(path, paths) or [names[name] for name in closest(path, names)]
    maps = [info.path for info in infos if info.is_feature_map]
    shown = ", ".join(maps[-6:])
    raise UsageError(
        f"{model.name} has no layer {shorten(repr(path), 80)}.{hint_for(suggestions)} Layers "
        "inside a nested "
        f"model are named by path ('outer/inner'); the model's last feature maps: {shown} "
        f"({len(paths)} layers in all; `--layer list` lists them)."
    )


def layer_listing(model: Any) -> list[dict[str, Any]]:
    """Every layer's path, type and output shape, for `--layer list`."""
    return [
        {"path": info.path, "type": type(info.layer).__name__, "shape": list(info.shape)}
        for info in list_layers(model)
    ]


def last_feature_map(model: Any) -> str:
    """Path of the last layer with a 4-D output (into a nested model when that is it).

    Raises:
        UsageError: The model has no 4-D feature map (no convolutions).
    """
    maps = [info for info in list_layers(model) if info.is_feature_map]
    if not maps:
        raise UsageError(
            f"{model.name} has no convolutional feature map (no layer with a 4-D output); "
            "class activation maps and filters need a convolutional network."
        )
    # A nested model's own output is also its last inner layer's: take the inner name.
    last = max(maps, key=lambda info: _top_level_index(model, info.path))
    inner = [info for info in maps if info.path.startswith(last.path + SEPARATOR)]
    return inner[-1].path if inner and inner[-1].shape == last.shape else last.path


def _top_level_index(model: Any, path: str) -> int:
    name = path.split(SEPARATOR, 1)[0]
    return next(index for index, layer in enumerate(model.layers) if layer.name == name)


def first_convolution(model: Any) -> LayerInfo:
    """The first convolution layer (into nested models).

    Raises:
        UsageError: The model has no convolution.
    """
    for info in list_layers(model):
        if isinstance(info.layer, keras.layers.Conv2D | keras.layers.DepthwiseConv2D):
            return info
    raise UsageError(
        f"{model.name} has no convolution layer (Conv2D); learned filters and "
        "activation maps need a convolutional network."
    )


@dataclass(frozen=True)
class Logits:
    """Where a classifier's logits are in its graph.

    Attributes:
        tensor: A tensor of the outer graph: the logits, or the input of a
            final softmax Dense layer.
        finish: Turns that tensor's value into the logits.
        kind: `logits`, or `probabilities` when no logits could be found
            (a final layer other than softmax Activation/Dense).
        dense: The classifier's Dense layer, when there is one.
    """

    tensor: Any
    finish: Callable[[Any], Any]
    kind: str
    dense: Any | None


def find_logits(model: Any) -> Logits:
    """Finds the logits of a classifier ending in softmax, without changing it."""
    output = model.outputs[0]
    last = _producer(model, output)
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    if isinstance(last, keras.layers.Activation) and activation == "softmax":
        tensor = _call_node(model, last).input_tensors[0]
        producer = _producer(model, tensor)
        dense = producer if isinstance(producer, keras.layers.Dense) else None
        return Logits(tensor, lambda value: value, "logits", dense)
    if isinstance(last, keras.layers.Dense) and activation == "softmax":

        def pre_activation(value: Any) -> Any:
            logits = keras.ops.matmul(value, keras.ops.cast(last.kernel, value.dtype))
            return logits + keras.ops.cast(last.bias, value.dtype) if last.use_bias else logits

        return Logits(_call_node(model, last).input_tensors[0], pre_activation, "logits", last)
    dense = last if isinstance(last, keras.layers.Dense) else None
    return Logits(output, lambda value: value, "probabilities", dense)


def _producer(model: Any, tensor: Any) -> Any:
    """The layer of `model` whose call made `tensor`, or `None` for an input."""
    for layer in model.layers:
        if any(output is tensor for output in _call_node(model, layer).outputs):
            return layer
    return None


def embedding_path(model: Any) -> str:
    """Path of the penultimate features: what the classifier's Dense layer reads.

    Falls back to the last feature map (pooled by the reader) when the model
    has no Dense classifier.
    """
    dense = find_logits(model).dense
    if dense is not None:
        producer = _producer(model, _call_node(model, dense).input_tensors[0])
        if producer is not None and not isinstance(producer, keras.layers.InputLayer):
            return producer.name
    return last_feature_map(model)


def logits_function(model: Any) -> Callable[[Any], Any]:
    """Images -> the classifier's logits (see `find_logits`), in inference mode."""
    logits = find_logits(model)
    run = _part(_graph(model).inputs[0], logits.tensor)
    return lambda images: logits.finish(run(images))


class Tap:
    """A model run that also returns one layer's output: images -> (layer output, logits).

    Args:
        model: A built Keras classifier.
        path: The layer, by path.
    """

    def __init__(self, model: Any, path: str) -> None:
        self.info = find_layer(model, path)
        self.logits = find_logits(model)
        self._run = _stages(model, path.split(SEPARATOR), self.logits.tensor)

    def __call__(self, images: Any) -> tuple[Any, Any]:
        """Runs the model in inference mode.

        Args:
            images: A batch of raw images, as the model takes them.

        Returns:
            `(layer output, logits)` for the batch.
        """
        features, top = self._run(images)
        return features, self.logits.finish(top)


def _stages(model: Any, segments: list[str], top: Any) -> Callable[[Any], tuple[Any, Any]]:
    """Images -> (the output of the layer at `segments`, the value of `top`)."""
    layer = next(item for item in model.layers if item.name == segments[0])
    node = _call_node(model, layer)
    source = _graph(model).inputs[0]
    if len(segments) == 1:
        both = keras.Model(source, [node.outputs[0], top])
        return lambda images: tuple(both(images, training=False))
    inner = _stages(layer, segments[1:], _graph(layer).outputs[0])
    before = _part(source, node.input_tensors[0])
    after = _part(node.outputs[0], top)

    def run(images: Any) -> tuple[Any, Any]:
        features, nested_output = inner(before(images))
        return features, after(nested_output)

    return run


def _part(start: Any, end: Any) -> Callable[[Any], Any]:
    """The graph from tensor `start` to tensor `end` as a function (identity when equal)."""
    if start is end:
        return lambda value: value
    part = keras.Model(start, end)
    return lambda value: part(value, training=False)
