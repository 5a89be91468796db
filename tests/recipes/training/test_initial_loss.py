"""The initial-loss check: about ln(C) passes; confident outputs and one-class labels are caught."""

import math

import keras
import numpy as np
import tensorflow as tf

from recipes.training.initial_loss import initial_loss_check

NAMES = ["a", "b", "c", "d"]


def batches(labels, scale=1.0, seed=0):
    generator = np.random.default_rng(seed)
    images = (generator.uniform(0, 1, (len(labels), 8, 8, 3)) * scale).astype("float32")
    onehot = np.eye(len(NAMES), dtype="float32")[labels]
    return tf.data.Dataset.from_tensor_slices((images, onehot)).batch(16)


def model_with_batchnorm():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 3)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(len(NAMES))(x)
    return keras.Model(inputs, keras.layers.Activation("softmax")(x))


def test_an_untrained_model_is_near_ln_c_and_keeps_its_weights():
    model = model_with_batchnorm()
    before = [w.copy() for w in model.get_weights()]
    labels = np.tile(np.arange(4), 16)
    result = initial_loss_check(model, batches(labels), NAMES)
    assert result["expected_initial_loss"] == round(math.log(4), 4)
    assert 0.7 < result["ratio"] < 1.5
    assert result["problems"] == []
    assert result["images"] == 32 and result["label_counts"]["a"] == 8
    for saved, now in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, now)  # moving statistics too


def test_shuffled_labels_fed_as_one_class_are_caught():
    labels = np.zeros(64, dtype="int64")  # every label says "a"
    result = initial_loss_check(model_with_batchnorm(), batches(labels), NAMES)
    assert any("all 32 sampled training labels are 'a'" in line for line in result["problems"])


def test_confident_outputs_before_training_are_caught():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(len(NAMES))(x)  # no normalisation: raw 0..255 pixels in
    model = keras.Model(inputs, keras.layers.Activation("softmax")(x))
    labels = np.tile(np.arange(4), 8)
    result = initial_loss_check(model, batches(labels, scale=255.0), NAMES)
    assert result["ratio"] > 3
    assert any("preprocessing" in line for line in result["problems"])


def test_label_smoothing_keeps_ln_c_as_the_expectation():
    labels = np.tile(np.arange(4), 8)
    result = initial_loss_check(model_with_batchnorm(), batches(labels), NAMES, 0.1)
    assert result["expected_initial_loss"] == round(math.log(4), 4)
    assert result["problems"] == []
