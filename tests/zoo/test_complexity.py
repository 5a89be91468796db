"""Counting parameters and multiply-adds."""

from __future__ import annotations

import keras

from zoo.archs.lenet import C3_TABLE
from zoo.complexity import count_macs, count_params, macs_by_layer
from zoo.layers import PartiallyConnectedConv2D


def test_convolutions_and_dense_layers() -> None:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(5, name="dense")(x)
    macs = macs_by_layer(keras.Model(inputs, outputs))
    assert macs["conv"] == 8 * 8 * 4 * 3 * 3 * 3
    assert macs["pool"] == macs["gap"] == 0
    assert macs["depthwise"] == 4 * 4 * 4 * 3 * 3
    assert macs["dense"] == 4 * 5


def test_a_shared_layer_costs_once_per_call() -> None:
    inputs = keras.Input((6,))
    dense = keras.layers.Dense(6, name="shared")
    model = keras.Model(inputs, dense(dense(inputs)))
    assert count_macs(model) == 2 * 36


def test_calls_outside_the_model_cost_nothing() -> None:
    # A layer also called in another graph (as VGG16's top is, to add dropout).
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(3, name="dense")
    keras.Model(inputs, dense(inputs))
    rewired = keras.Model(inputs, dense(keras.layers.Dropout(0.5)(inputs)))
    assert count_macs(rewired) == 12


def test_nested_models_are_counted_through() -> None:
    inner_inputs = keras.Input((4,))
    inner = keras.Model(inner_inputs, keras.layers.Dense(2, name="d")(inner_inputs), name="inner")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="top")(inner(inputs)))
    macs = macs_by_layer(model)
    assert (macs["inner/d"], macs["top"]) == (8, 6)
    assert count_macs(model) == 14


def test_partially_connected_convolution_counts_its_connections() -> None:
    inputs = keras.Input((14, 14, 6))
    model = keras.Model(inputs, PartiallyConnectedConv2D(C3_TABLE, 5, name="c3")(inputs))
    assert count_macs(model) == 10 * 10 * 1_500  # LeNet-5's C3: 1,500 weights per position
    total, trainable = count_params(model)
    assert total == trainable == 1_516
