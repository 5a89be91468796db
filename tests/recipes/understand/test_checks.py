"""The model-randomisation test and the deletion/insertion AUCs."""

import keras
import numpy as np
import pytest

from recipes.understand.cam import grad_cam
from recipes.understand.checks import faithfulness, randomisation_test, reinitialise, spearman
from recipes.understand.subject import Subject
from tests.recipes.understand.tiny_models import images, nested_classifier


def test_spearman_ranks_and_its_edge_cases():
    values = np.arange(16.0).reshape(4, 4)
    assert spearman(values, values**3) == pytest.approx(1.0)
    assert spearman(values, -values) == pytest.approx(-1.0)
    assert spearman(values, np.zeros((4, 4))) == 0.0
    assert spearman(np.ones((4, 4)), values) is None


def test_reinitialising_draws_frozen_weights_again_and_keeps_moving_statistics():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inputs, x)
    model.trainable = False
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.full(4, 0.3, "float32"))
    bn.gamma.assign(np.full(4, 2.0, "float32"))
    kernel = keras.ops.convert_to_numpy(model.get_layer("conv").kernel).copy()
    reinitialise(model.get_layer("conv"))
    reinitialise(bn)
    assert not np.allclose(keras.ops.convert_to_numpy(model.get_layer("conv").kernel), kernel)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(bn.gamma), np.ones(4))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(bn.moving_mean), np.full(4, 0.3, "float32")
    )


def test_randomising_the_model_changes_grad_cam_and_leaves_the_model_alone():
    model = nested_classifier()
    weights = [w.copy() for w in model.get_weights()]
    subject = Subject(model)
    batch = images()
    targets = np.array([0, 1, 2, 0], "int32")
    maps = grad_cam(subject, batch, targets)
    result = randomisation_test(subject, grad_cam, batch, targets, maps)
    assert [level["layers"] for level in result["levels"]] == [1, 2, 3]
    assert [level["from_layer"] for level in result["levels"]] == [
        "head_logits",
        "base/conv2",
        "base/conv1",
    ]
    assert result["levels"][-1]["spearman"] < 0.9
    assert result["flagged"] is False and result["verdict"] == "passes"
    assert len(result["maps"]) == 3 and result["maps"][0].shape == maps.shape
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_deletion_and_insertion_aucs_against_a_random_map():
    model = nested_classifier()
    subject = Subject(model)
    batch = images(2)
    targets = np.array([0, 1], "int32")
    maps = grad_cam(subject, batch, targets)
    scores = faithfulness(subject, batch, targets, maps)
    assert set(scores) == {
        "deletion_auc",
        "insertion_auc",
        "random_deletion_auc",
        "random_insertion_auc",
        "faithful",
        "verdict",
    }
    for name, value in scores.items():
        if name not in ("faithful", "verdict"):
            assert 0.0 <= value <= 1.0
    assert scores == faithfulness(subject, batch, targets, maps)


def _left_half_classifier():
    """Class 0's logit is the sum of the image's left half: only those pixels matter."""
    inputs = keras.Input((8, 8, 3))
    dense = keras.layers.Dense(2, activation="softmax")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    weights = np.zeros((8, 8, 3, 2), "float32")
    weights[:, :4, :, 0] = 4.0 / (8 * 4 * 3 * 128)
    dense.set_weights([weights.reshape(-1, 2), np.zeros(2, "float32")])
    return model


def test_a_map_worse_than_random_is_flagged_and_a_blank_one_is_undetermined():
    subject = Subject(_left_half_classifier())
    batch = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    targets = np.zeros(2, "int32")
    right_half = np.zeros((2, 8, 8), "float32")
    right_half[:, :, 4:] = 1.0 + np.random.default_rng(1).random((2, 8, 4))
    scores = faithfulness(subject, batch, targets, right_half)
    assert scores["deletion_auc"] > scores["random_deletion_auc"]
    assert scores["faithful"] is False and scores["verdict"].startswith("flagged: deletes slower")
    left_half = right_half[:, :, ::-1]
    assert (
        faithfulness(subject, batch, targets, left_half)["deletion_auc"]
        < (scores["random_deletion_auc"])
    )
    blank = faithfulness(subject, batch, targets, np.zeros((2, 8, 8), "float32"))
    assert blank["verdict"] == "undetermined: the maps are blank"
    convolutional = Subject(nested_classifier())
    batch = images(2)
    blank_maps = np.zeros_like(grad_cam(convolutional, batch, targets))
    randomised = randomisation_test(convolutional, grad_cam, batch, targets, blank_maps)
    assert randomised["verdict"] == "undetermined: the trained model's maps are blank"
