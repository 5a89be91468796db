"""The learning-rate range test: the sweep, the stop, the restored weights, the suggestions."""

import math

import keras
import numpy as np
import pytest

from recipes.training.lr_plot import draw_range_test
from recipes.training.lr_range import RangeTest, range_test, suggest
from zoo.errors import UsageError


def separable_batches(classes=3, size=32, batches=4, seed=0):
    generator = np.random.default_rng(seed)
    centres = generator.normal(0, 3, (classes, 8))
    data = []
    for _ in range(batches):
        labels = generator.integers(0, classes, size)
        points = centres[labels] + generator.normal(0, 1, (size, 8))
        data.append((points.astype("float32"), np.eye(classes, dtype="float32")[labels]))
    return data


def small_model(classes=3):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(classes)]
    )
    model.add(keras.layers.Activation("softmax"))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return model


def test_the_rate_grows_exponentially_and_the_weights_come_back():
    model = small_model()
    before = [w.copy() for w in model.get_weights()]
    test = range_test(model, separable_batches(), start=1e-5, end=1e2, steps=60)
    for saved, now in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, now)
    ratios = np.diff(np.log(test.rates))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-6)
    assert test.rates[0] == pytest.approx(1e-5)
    assert len(test.rates) == len(test.losses) == len(test.smoothed)


def test_it_stops_once_the_loss_blows_up_and_suggests_a_rate_before_that():
    test = range_test(small_model(), separable_batches(), start=1e-5, end=1e3, steps=100)
    assert test.stopped_early and len(test.rates) < 100
    assert max(test.smoothed) > 3 * min(test.smoothed)
    assert test.method == "valley"
    assert set(test.suggestions) == {"valley", "steep", "minimum"}
    assert test.rates[0] < test.suggestion < test.rates[-1]
    assert "valley" in test.explanation() and "diverged" in test.explanation()


def test_suggestions_on_a_known_curve():
    rates = list(np.logspace(-6, 1, 100))
    # Flat, then down steepest around 1e-3, a minimum near 1e-1, then up.
    logs = np.log10(rates)
    losses = list(2.0 - 1.5 / (1 + np.exp(-(logs + 3) * 3)) + np.maximum(0, logs + 1) ** 2)
    found = suggest(rates, losses)
    assert 3e-4 < found["steep"] < 3e-3
    assert 1e-4 < found["valley"] < 1e-1
    assert 3e-3 < found["minimum"] < 3e-2


def test_bad_ranges_are_refused():
    model = small_model()
    for start, end, steps in ((1e-3, 1e-3, 100), (0, 1, 100), (1e-3, 1e-4, 100), (1e-5, 1, 3)):
        with pytest.raises(UsageError):
            range_test(model, separable_batches(), start=start, end=end, steps=steps)


def test_the_picture_marks_the_suggestion(tmp_path):
    rates = list(np.logspace(-6, 0, 50))
    losses = [2 - math.tanh(10 * r) for r in rates]
    test = RangeTest(rates, losses, losses, 1e-6, 1.0, False)
    test.suggestions = suggest(rates, losses)
    test.method, test.suggestion = "valley", test.suggestions["valley"]
    path = draw_range_test(test, tmp_path / "lr_find.png", "a test")
    assert (tmp_path / "lr_find.png").stat().st_size > 10_000
    assert path.endswith("lr_find.png")
