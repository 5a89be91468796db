"""`zoo train --strategy multihost` with real processes on loopback (Keras on JAX)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("jax")

TRAIN = [
    "train",
    "--arch", "lenet5", "--classes", "3", "--image-size", "32", "--shapes-per-class", "20",
    "--batch-size", "8", "--augment", "none", "--strategy", "multihost",
]  # fmt: skip


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, processes, index, port, **extra):
    scratch = tmp_path / f"tmp{index}"
    scratch.mkdir(exist_ok=True)
    return {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TMPDIR": str(scratch),  # where a process other than 0 keeps its scratch run
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": str(processes),
        "KERAS_DISTRIBUTION_PROCESS_ID": str(index),
        **extra,
    }


def _start(tmp_path, processes, args, port=None):
    port = port or _free_port()
    return [
        subprocess.Popen(
            [sys.executable, "-m", "cli.main", *TRAIN, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path, processes, index, port),
        )
        for index in range(processes)
    ]


def _finish(processes, timeout=400):
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=timeout))
    finally:
        for process in processes:
            process.kill()
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    return [stdout for stdout, _ in outputs]


def _weights(run_dir):
    # Read in a TensorFlow process: a model trained on JAX loads there (what zoo export does).
    script = (
        "import sys, numpy as np, keras, zoo\n"
        "m = keras.saving.load_model(sys.argv[1] + '/model.keras')\n"
        "np.savez(sys.argv[1] + '/weights.npz', *m.get_weights())\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([sys.executable, "-c", script, str(run_dir)], check=True, env=env, timeout=300)
    with np.load(run_dir / "weights.npz") as saved:
        return [saved[key] for key in sorted(saved.files, key=lambda k: int(k.split("_")[1]))]


@pytest.mark.slow
def test_two_processes_train_the_same_weights_as_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # fp32 on every CPU: with --precision auto an AVX512-BF16 CPU trains in bf16, whose
    # rounding differs between one process's batch of 8 and two processes' 4 + 4 (1.8e-3).
    fixed = ["--epochs", "2", "--precision", "fp32"]
    _finish(_start(tmp_path / "a", 1, [*fixed, "--output", str(one)]))
    outputs = _finish(_start(tmp_path / "b", 2, [*fixed, "--output", str(two)]))

    assert f"run: {two}" in outputs[0]
    assert "process 1 of 2: done; process 0 wrote the run directory" in outputs[1]
    assert not any((tmp_path / "b" / "tmp1").iterdir())  # process 1's scratch run is gone
    difference = max(
        float(np.abs(a - b).max()) for a, b in zip(_weights(one), _weights(two), strict=True)
    )
    assert difference < 1e-5
    scores_one = json.loads((one / "metrics.json").read_text())
    scores_two = json.loads((two / "metrics.json").read_text())
    for key in ("val_accuracy", "val_loss", "test_accuracy", "test_cross_entropy"):
        assert scores_two[key] == pytest.approx(scores_one[key], abs=1e-5), key


def _epochs_done(run_dir):
    try:
        return json.loads((run_dir / "state.json").read_text()).get("epochs_done", 0)
    except (OSError, ValueError):
        return 0


@pytest.mark.slow
def test_kill_9_of_one_process_then_both_resume(tmp_path):
    run = tmp_path / "run"
    args = ["--epochs", "5", "--shapes-per-class", "60", "--output", str(run)]
    processes = _start(tmp_path, 2, args)
    deadline = time.monotonic() + 300
    while _epochs_done(run) < 1 and time.monotonic() < deadline:
        assert all(process.poll() is None for process in processes), "a process ended early"
        time.sleep(0.1)
    assert _epochs_done(run) >= 1
    os.kill(processes[1].pid, signal.SIGKILL)
    # Process 0 waits for its lost peer: the launcher (here, the test) stops it too.
    os.kill(processes[0].pid, signal.SIGKILL)
    for process in processes:
        process.communicate(timeout=60)
    assert _epochs_done(run) < 5

    outputs = _finish(_start(tmp_path, 2, [*args, "--resume"]))
    assert f"run: {run}" in outputs[0]
    rows = (run / "history.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == [1, 2, 3, 4, 5]
    assert (run / "model.keras").is_file()


def _cli(tmp_path, env, *args, timeout=120):
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", *TRAIN, "--epochs", "1", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return out, time.monotonic() - started


def _error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_process_that_cannot_reach_the_coordinator_fails_within_the_timeout(tmp_path):
    env = _env(tmp_path, 2, 1, _free_port())
    run = tmp_path / "run"
    out, seconds = _cli(tmp_path, env, "--cluster-timeout", "2", "--output", str(run))
    assert out.returncode == 1, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    (line,) = _error_lines(out.stderr)
    assert "could not reach the coordinator" in line and "within 2 s" in line
    assert seconds < 90
    assert not run.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"KERAS_BACKEND": "tensorflow"}, "KERAS_BACKEND=jax"),
        ({"KERAS_DISTRIBUTION_PROCESS_ID": "5"}, "must be 0 to 1"),
    ],
)
def test_bad_set_ups_are_one_line_and_write_nothing(tmp_path, changes, message):
    env = {**_env(tmp_path, 2, 0, _free_port()), **changes}
    run = tmp_path / "run"
    out, _ = _cli(tmp_path, env, "--output", str(run))
    assert out.returncode == 2, out.stderr[-2000:]
    (line,) = _error_lines(out.stderr)
    assert message in line
    assert not run.exists()


@pytest.mark.slow
def test_two_processes_fine_tune_from_the_same_fitted_probe(tmp_path):
    # Each process fits the probe on the whole training split; process 0's head goes to both.
    run = tmp_path / "tuned"
    finetune = [
        sys.executable, "-m", "cli.main", "finetune", "--base", "resnet20", "--weights", "none",
        "--classes", "3", "--shapes-per-class", "20", "--batch-size", "8", "--epochs", "1",
        "--precision", "fp32", "--strategy", "multihost", "--output", str(run),
    ]  # fmt: skip
    port = _free_port()
    processes = [
        subprocess.Popen(
            finetune,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path, 2, index, port),
        )
        for index in range(2)
    ]
    _finish(processes)
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"probe_val_accuracy", "knn_val_accuracy"} <= set(metrics)
    assert metrics["val_accuracy"] >= metrics["probe_val_accuracy"] - 5e-5  # 4 places
    rows = (run / "history.csv").read_text().splitlines()[1:]
    assert [row.split(",")[:2] for row in rows] == [["1", "finetune"]]
