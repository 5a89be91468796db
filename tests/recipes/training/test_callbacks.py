"""Callbacks: the plateau warm-up, counters that survive a resume, progress per epoch."""

import keras
import numpy as np
import pytest

from recipes.training.callbacks import (
    EpochLine,
    EpochRateTensorBoard,
    LinearWarmup,
    PhaseProgbar,
    ResumablePlateau,
    current_learning_rate,
)


def _fit(callbacks, epochs=1, lr=0.1, batches=4):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(lr), "categorical_crossentropy")
    x = np.zeros((8 * batches, 3), "float32")
    y = keras.utils.to_categorical(np.zeros(8 * batches), 2)
    model.fit(x, y, batch_size=8, epochs=epochs, callbacks=callbacks, verbose=0)
    return model


class _Rates(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def test_linear_warmup_rises_to_the_peak_then_leaves_the_rate_alone():
    rates = _Rates()
    model = _fit([LinearWarmup(0.1, 4), rates], epochs=2)
    assert rates.rates[:4] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    assert rates.rates[4:] == pytest.approx([0.1] * 4)
    model.optimizer.learning_rate = 0.01  # e.g. a plateau drop
    model.fit(
        np.zeros((8, 3), "float32"),
        keras.utils.to_categorical(np.zeros(8), 2),
        callbacks=[LinearWarmup(0.1, 4)],  # a resumed run past its warm-up
        verbose=0,
    )
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.01)


def test_plateau_counters_are_restored_after_keras_resets_them():
    plateau = ResumablePlateau(
        monitor="loss", patience=5, state={"best": 0.25, "wait": 3.0, "cooldown_counter": None}
    )
    plateau.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    plateau.on_train_begin()
    assert plateau.best == 0.25 and plateau.wait == 3.0
    assert plateau.state() == {"best": 0.25, "wait": 3.0, "cooldown_counter": 0.0}
    fresh = ResumablePlateau(monitor="val_accuracy", mode="max")
    fresh.on_train_begin()
    assert fresh.state()["best"] is None  # -inf is not JSON


def test_epoch_line_is_one_line_per_epoch(capsys):
    _fit([EpochLine(3, "train")], epochs=3)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3 (train) ") and "loss: " in lines[0]


def test_the_progress_bar_names_the_phase_of_each_epoch(capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
    x, y = np.zeros((16, 3), "float32"), keras.utils.to_categorical(np.zeros(16), 2)
    fit = dict(batch_size=8, verbose=1)
    model.fit(x, y, epochs=2, callbacks=[PhaseProgbar("head", total=3)], **fit)
    model.fit(x, y, initial_epoch=2, epochs=3, callbacks=[PhaseProgbar("finetune")], **fit)
    out = capsys.readouterr().out
    epochs = [line for line in out.splitlines() if line.startswith("Epoch ")]
    assert epochs == ["Epoch 1/3 (head)", "Epoch 2/3 (head)", "Epoch 3/3 (finetune)"]
    assert "2/2" in out and "loss: " in out  # the bar itself, steps and scores


def test_tensorboard_logs_the_rate_each_epoch_trained_at(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    model.compile(keras.optimizers.SGD(schedule), "mse")
    started = []

    class EpochStart(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started.append(current_learning_rate(self.model.optimizer))

    x, y = np.ones((16, 2), "float32"), np.ones((16, 1), "float32")
    board = EpochRateTensorBoard(log_dir=str(tmp_path), write_graph=False)
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[EpochStart(), board])
    events = EventAccumulator(str(tmp_path / "train"), size_guidance={"tensors": 0}).Reload()
    logged = [
        float(keras.ops.convert_to_numpy(tensor.tensor_proto.float_val[0]))
        if tensor.tensor_proto.float_val
        else float(np.frombuffer(tensor.tensor_proto.tensor_content, "float32")[0])
        for tensor in events.Tensors("epoch_learning_rate")
    ]
    assert started == pytest.approx([0.1, 0.05, 0.025])  # 4 steps an epoch, halved every 4
    assert logged == pytest.approx(started)
