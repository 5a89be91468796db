"""Training from scratch end to end: run directory, resume after kill -9, errors."""

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from recipes.config import resolve_config
from recipes.run.layout import RunLayout
from recipes.training.fit import TrainingDiverged
from recipes.training.train import build_classifier, train
from zoo.errors import UsageError

TINY = {
    "task": "train",
    "arch": "lenet5",
    "classes": 4,
    "image_size": 32,
    "epochs": 2,
    "batch_size": 16,
    "optimizer": "adam",
    "lr": 0.003,
    "precision": "fp32",
}


def tiny(tmp_path, **overrides):
    return resolve_config({**TINY, "output": str(tmp_path / "run"), **overrides})


def test_train_writes_a_complete_run_directory(tmp_path):
    started = time.time()
    result = train(tiny(tmp_path))
    run = Path(result.run_dir)
    for name in (
        "config.yaml",
        "class_names.json",
        "history.csv",
        "metrics.json",
        "state.json",
        "best.keras",
        "model.keras",
    ):
        assert (run / name).is_file(), name
    assert not (run / "last.keras").exists()  # --keep-checkpoints best, the default
    assert (run / "logs").is_dir()
    released = RunLayout(run)
    released.lock()  # the finished run let go of its lock
    released.unlock()
    assert result.epochs == 2
    assert [row["epoch"] for row in result.history] == [1, 2]
    finished = [row["finished"] for row in result.history]
    assert started < finished[0] <= finished[1] <= time.time()
    assert "val_accuracy" in result.metrics
    assert len(json.loads((run / "class_names.json").read_text())) == 4

    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 4)
    assert model.layers[-1].dtype_policy.compute_dtype == "float32"
    probabilities = model.predict(np.zeros((1, 32, 32, 1), "float32"), verbose=0)
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)


def test_model_file_loads_with_plain_keras_after_import_zoo(tmp_path):
    run = Path(train(tiny(tmp_path, epochs=1)).run_dir)
    script = (
        "import sys, keras, zoo; "
        "model = keras.saving.load_model(sys.argv[1], safe_mode=True); "
        "print(model.output_shape)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(run / "model.keras")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(None, 4)"


def test_a_resnet_model_file_loads_in_a_process_that_never_imports_the_project(tmp_path):
    # fp32: emulated bf16 is slow on CPUs without it; bf16 files are covered below.
    run = Path(train(tiny(tmp_path, arch="resnet18", epochs=1, precision="fp32")).run_dir)
    script = (
        "import sys, keras, numpy; "
        "model = keras.saving.load_model(sys.argv[1], safe_mode=True); "
        "model.predict(numpy.zeros((1, 32, 32, 3)), verbose=0); "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('zoo', 'recipes')]; "
        "print(sorted({type(layer).__module__.split('.')[0] for layer in model.layers}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(run / "model.keras")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['keras']"


def test_a_bf16_run_saves_a_float32_model(tmp_path):
    # Mixed precision is a training setting: model.keras loads and predicts in float32.
    result = train(tiny(tmp_path, precision="bf16", epochs=1))
    assert result.precision == "bf16"
    model = keras.saving.load_model(Path(result.run_dir) / "model.keras")
    # The input layer computes nothing; its policy is the loading process's global one.
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert {layer.dtype_policy.name for layer in layers} == {"float32"}


def test_class_count_mismatch_is_refused(tmp_path):
    from recipes.data.shapes import write_folder

    folder = write_folder(tmp_path / "photos", num_classes=2, count_per_class=5, image_size=32)
    with pytest.raises(UsageError, match="--classes 3 does not match the data, which has 2"):
        train(tiny(tmp_path, data_dir=str(folder), classes=3))
    assert not (tmp_path / "run").exists()


def test_nan_stops_with_a_pointer_to_the_last_good_checkpoint(tmp_path):
    config = tiny(tmp_path, arch="resnet18", optimizer="sgd", lr=1e30, epochs=2, momentum=0.0)
    with pytest.raises(TrainingDiverged, match="NaN at epoch 1"):
        train(config)


def test_dropout_for_an_architecture_without_one(tmp_path):
    with pytest.raises(UsageError, match="no dropout"):
        train(tiny(tmp_path, arch="resnet18", dropout=0.3))
    assert not (tmp_path / "run").exists()  # built before the run directory is made


def test_resume_keeps_the_plateau_counters_and_the_weight_decay_exclusions(
    tmp_path, interrupted_after
):
    # A rate too small to change anything: validation accuracy never improves, so
    # the plateau schedule divides the rate at fixed epochs (here after 3 and 5).
    settings = {
        "epochs": 5,
        "optimizer": "momentum",
        "lr": 1e-9,
        "weight_decay": 0.5,
        "schedule": "plateau",
        "plateau_patience": 2,
        "keep_checkpoints": "last",  # read below
    }
    straight = train(tiny(tmp_path / "straight", **settings))
    with interrupted_after(2):
        train(tiny(tmp_path / "resumed", **settings))
    resumed = train(tiny(tmp_path / "resumed", resume=True, **settings))
    rates = [row["lr"] for row in straight.history]
    assert rates == pytest.approx([1e-9, 1e-9, 1e-9, 1e-10, 1e-10])
    assert [row["lr"] for row in resumed.history] == pytest.approx(rates)

    # The rebuilt optimizer still leaves biases undecayed: at a visible rate, one
    # zero-gradient step decays the kernels by lr * wd, while the biases move only
    # by their (tiny, restored) momentum.
    from recipes.training.devices import setup_devices
    from recipes.training.fit import compile_model
    from recipes.training.run_dir import restore_checkpoint

    config = tiny(tmp_path / "resumed", resume=True, **settings)
    model = build_classifier(config, 4, 32)
    compile_model(model, config, setup_devices(config.devices), 0.1, 1, 5, 4)
    run = RunLayout(Path(resumed.run_dir))
    assert restore_checkpoint(model, run) == 5
    model.optimizer.learning_rate = 0.1
    bias, kernel = model.get_layer("f6").bias, model.get_layer("f6").kernel
    before_bias, before_kernel = np.array(bias), np.array(kernel)
    zeros = [np.zeros(v.shape, "float32") for v in model.trainable_variables]
    model.optimizer.apply_gradients(zip(zeros, model.trainable_variables, strict=True))
    np.testing.assert_allclose(np.array(bias), before_bias, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.array(kernel), before_kernel * (1 - 0.1 * 0.5), atol=1e-8)


@pytest.mark.parametrize(
    ("keep", "kept"),
    [
        ("best", ["best.keras"]),
        ("last", ["last.keras"]),
        ("all", ["best.keras", "last.keras"]),
        ("none", []),
    ],
)
def test_a_finished_run_keeps_the_checkpoints_asked_for(tmp_path, keep, kept):
    run = Path(train(tiny(tmp_path, epochs=1, keep_checkpoints=keep)).run_dir)
    assert sorted(p.name for p in run.glob("*.keras")) == sorted([*kept, "model.keras"])
    assert RunLayout(run).config().run.keep_checkpoints == keep
    # Only last.keras, what training continues from, keeps the optimizer's state.
    assert {name: _saves_an_optimizer(run / name) for name in [*kept, "model.keras"]} == {
        name: name == "last.keras" for name in [*kept, "model.keras"]
    }
    if keep == "all":  # one epoch: the best model is the last, with or without its optimizer
        image = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 1)).astype("float32")
        best, last = (keras.saving.load_model(run / name) for name in ("best.keras", "last.keras"))
        np.testing.assert_allclose(best.predict(image, verbose=0), last.predict(image, verbose=0))


def _saves_an_optimizer(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    with weights:
        return "optimizer" in weights


def test_an_interrupted_run_resumes_from_last_keras_whatever_it_keeps(tmp_path, interrupted_after):
    with interrupted_after(1):
        train(tiny(tmp_path, keep_checkpoints="none"))
    run = tmp_path / "run"
    assert (run / "last.keras").is_file()  # what --resume needs, kept while the run lasts
    assert not (run / "best.keras").exists()  # never written when it would not be kept
    result = train(tiny(tmp_path, keep_checkpoints="last", resume=True))  # may change
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert sorted(p.name for p in run.glob("*.keras")) == ["last.keras", "model.keras"]
    assert RunLayout(run).config().run.keep_checkpoints == "last"
    with pytest.raises(UsageError, match="has finished"):
        train(tiny(tmp_path, keep_checkpoints="none", resume=True))


def test_resuming_a_finished_run_is_refused(tmp_path):
    train(tiny(tmp_path, epochs=1))
    with pytest.raises(UsageError, match="has finished"):
        train(tiny(tmp_path, epochs=1, resume=True))


def _zoo(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        **kwargs,
    )


def _flags(run_dir, epochs):
    return [
        "train",
        "--arch",
        "lenet5",
        "--classes",
        "4",
        "--image-size",
        "32",
        "--epochs",
        str(epochs),
        "--batch-size",
        "16",
        "--precision",
        "fp32",
        "--optimizer",
        "adam",
        "--lr",
        "0.003",
        "--output",
        str(run_dir),
    ]


@pytest.mark.slow
def test_resume_after_kill_9_continues_from_the_last_epoch(tmp_path):
    run_dir = tmp_path / "run"
    process = _zoo(*_flags(run_dir, 6))
    state = run_dir / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if state.is_file() and json.loads(state.read_text())["epochs_done"] >= 1:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = json.loads(state.read_text())["epochs_done"]
    assert 1 <= done < 6
    assert not (run_dir / "model.keras").exists()

    again = _zoo(*_flags(run_dir, 6), "--resume", "--json")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-3000:]
    result = json.loads(out)
    assert [row["epoch"] for row in result["history"]] == [1, 2, 3, 4, 5, 6]
    assert (run_dir / "model.keras").is_file()

    changed = _zoo(*_flags(run_dir, 6)[:-2], "--lr", "0.1", "--output", str(run_dir), "--resume")
    out, err = changed.communicate(timeout=120)
    assert changed.returncode == 2
    assert "changed: lr" in err
    assert "Traceback" not in err


def test_no_validation_split_trains_and_follows_training_accuracy(tmp_path):
    result = train(tiny(tmp_path, val_split=0, epochs=2, schedule="plateau"))
    assert "val_accuracy" not in result.history[0]
    assert not any(key.startswith("val_") for key in result.metrics)
    assert "test_accuracy" in result.metrics  # the built-in set's test split
    state = json.loads((Path(result.run_dir) / "state.json").read_text())
    assert state["best"] == max(row["accuracy"] for row in result.history)
