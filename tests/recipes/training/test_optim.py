import keras
import numpy as np
import pytest

from recipes.config.schema import OptimSettings
from recipes.training.optim import SGDWithL2, WarmupStep, learning_rate, make_optimizer


def _at(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_cosine_warms_up_then_decays_to_zero_over_the_phase():
    schedule = learning_rate(OptimSettings(schedule="cosine", warmup_epochs=1), 0.1, 10, 10)
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)  # Keras' own
    assert _at(schedule, 0) == pytest.approx(0.0)
    assert _at(schedule, 5) == pytest.approx(0.05)
    assert _at(schedule, 10) == pytest.approx(0.1)
    assert _at(schedule, 55) == pytest.approx(0.05, rel=1e-3)
    assert _at(schedule, 100) == pytest.approx(0.0, abs=1e-7)
    plain = learning_rate(OptimSettings(schedule="cosine"), 0.1, 10, 10)
    assert _at(plain, 0) == pytest.approx(0.1)
    assert _at(plain, 50) == pytest.approx(0.05, rel=1e-3)


def test_step_schedule_divides_every_step_size():
    schedule = WarmupStep(peak=0.1, step_size=10, factor=0.1)
    assert _at(schedule, 9) == pytest.approx(0.1)
    assert _at(schedule, 10) == pytest.approx(0.01)
    assert _at(schedule, 25) == pytest.approx(0.001)


def test_schedules_round_trip_through_config():
    schedule = WarmupStep(0.1, 10, 0.5, 5)
    again = WarmupStep.from_config(schedule.get_config())
    assert _at(again, 50) == pytest.approx(_at(schedule, 50))


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("sgd", keras.optimizers.SGD),
        ("momentum", keras.optimizers.SGD),
        ("nesterov", keras.optimizers.SGD),
        ("rmsprop", keras.optimizers.RMSprop),
        ("adam", keras.optimizers.Adam),
        ("adamw", keras.optimizers.AdamW),
    ],
)
def test_optimizers(name, cls):
    optimizer = make_optimizer(OptimSettings(optimizer=name, weight_decay=1e-4), 0.1)
    assert isinstance(optimizer, cls)
    if name == "nesterov":
        assert optimizer.nesterov and optimizer.momentum == 0.9
    if name == "sgd":
        assert optimizer.momentum == 0.0


def test_weight_decay_skips_biases_and_norm_scales():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    optimizer = make_optimizer(OptimSettings(optimizer="momentum", weight_decay=0.5), 0.1)
    kernel_before = np.array(model.layers[0].kernel)
    bias = model.layers[0].bias
    bias.assign(np.ones(2, "float32"))
    zero = [np.zeros_like(np.array(v)) for v in model.trainable_variables]
    optimizer.apply_gradients(zip(zero, model.trainable_variables, strict=True))
    np.testing.assert_allclose(np.array(bias), 1.0)  # not decayed
    np.testing.assert_allclose(
        np.array(model.layers[0].kernel), kernel_before * (1 - 0.05), rtol=1e-5
    )


def test_learning_rate_kinds():
    assert learning_rate(OptimSettings(schedule="constant"), 0.1, 10, 5) == 0.1
    assert learning_rate(OptimSettings(schedule="plateau"), 0.1, 10, 5) == 0.1
    cosine = learning_rate(OptimSettings(schedule="cosine"), 0.1, 10, 5)
    assert isinstance(cosine, keras.optimizers.schedules.CosineDecay)
    assert isinstance(learning_rate(OptimSettings(schedule="step"), 0.1, 10, 5), WarmupStep)


def test_warmup_is_cut_to_leave_the_last_epoch_to_the_schedule():
    schedule = learning_rate(OptimSettings(schedule="cosine", warmup_epochs=5), 0.1, 10, 2)
    assert schedule.warmup_steps == 10


def test_sgd_weight_decay_is_the_papers_l2_through_momentum():
    """AlexNet's rule: v = 0.9 v - lr * (g + wd * w); w += v (here with g = 0)."""
    lr, wd, momentum, steps = 0.01, 5e-4, 0.9, 300
    variable = keras.Variable(np.ones((1,), "float32"), name="kernel")
    optimizer = make_optimizer(
        OptimSettings(optimizer="momentum", momentum=momentum, weight_decay=wd), lr
    )
    for _ in range(steps):
        optimizer.apply_gradients([(np.zeros((1,), "float32"), variable)])
    w, v = 1.0, 0.0
    for _ in range(steps):
        v = momentum * v - lr * wd * w
        w += v
    np.testing.assert_allclose(np.array(variable), [w], rtol=1e-5)
    assert w < 1.0 - 10 * lr * wd * steps * 0.9  # about 10x a decoupled decay's effect


def test_sgd_with_l2_keeps_its_exclusions_through_serialization():
    optimizer = make_optimizer(OptimSettings(optimizer="nesterov", weight_decay=1e-4), 0.1)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(restored, SGDWithL2)
    assert restored.l2 == 1e-4 and restored.nesterov
    bias = keras.Variable(np.ones((2,), "float32"), name="bias")
    restored.apply_gradients([(np.zeros((2,), "float32"), bias)])
    np.testing.assert_array_equal(np.array(bias), 1.0)


def test_constant_schedule_warms_up_too():
    schedule = learning_rate(OptimSettings(schedule="constant", warmup_epochs=1), 0.1, 10, 3)
    assert _at(schedule, 0) == pytest.approx(0.01)
    assert _at(schedule, 9) == pytest.approx(0.1)
    assert _at(schedule, 29) == pytest.approx(0.1)
