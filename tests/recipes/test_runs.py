import multiprocessing
import os

import pytest

from recipes.config import RunConfig
from recipes.runs import RunDirectory, atomic_write_text
from zoo.errors import UsageError


def test_generated_directories_never_collide(tmp_path):
    config = RunConfig(arch="resnet18")
    first = RunDirectory.create(config, "resnet18", root=str(tmp_path))
    second = RunDirectory.create(config, "resnet18", root=str(tmp_path))
    assert first.path != second.path
    assert (first.path / "config.yaml").is_file()


def test_existing_output_is_not_clobbered(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.keras").write_text("precious")
    with pytest.raises(UsageError, match="--resume"):
        RunDirectory.create(RunConfig(arch="resnet18", output=str(tmp_path / "run")), "x")
    assert (tmp_path / "run" / "model.keras").read_text() == "precious"


def _try_lock(path, queue):
    run = RunDirectory(path)
    try:
        run.lock()
        queue.put("locked")
    except UsageError as error:
        queue.put(str(error))


def test_a_second_process_is_refused_while_the_lock_is_held(tmp_path):
    run = RunDirectory.create(RunConfig(arch="resnet18", output=str(tmp_path / "r")), "x")
    queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_try_lock, args=(run.path, queue))
    process.start()
    process.join(60)
    message = queue.get(timeout=5)
    assert "in use by another zoo process" in message
    assert str(os.getpid()) in message
    run.unlock()


def test_resume_refuses_a_changed_config(tmp_path):
    out = str(tmp_path / "r")
    run = RunDirectory.create(RunConfig(arch="resnet18", output=out), "x")
    run.write_json("state.json", {"epochs_done": 1, "phase": "train", "best": 0.5})
    (run.path / "last.keras").write_text("x")
    run.unlock()
    with pytest.raises(UsageError, match="changed: lr"):
        RunDirectory.reopen(RunConfig(arch="resnet18", output=out, lr=0.5, resume=True))
    again = RunDirectory.reopen(RunConfig(arch="resnet18", output=out, resume=True))
    again.unlock()


def test_resume_needs_a_run(tmp_path):
    with pytest.raises(UsageError, match="not a zoo run directory"):
        RunDirectory.reopen(RunConfig(arch="resnet18", output=str(tmp_path), resume=True))


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_history_round_trip(tmp_path):
    run = RunDirectory.create(RunConfig(arch="resnet18", output=str(tmp_path / "r")), "x")
    rows = [
        {"epoch": 1, "phase": "train", "loss": 1.5},
        {"epoch": 2, "phase": "train", "loss": 1.0},
    ]
    run.write_history(rows)
    assert run.history() == rows
    run.unlock()


def test_copy_file_is_a_whole_atomic_copy(tmp_path):
    run = RunDirectory(tmp_path)
    (tmp_path / "last.keras").write_bytes(b"model bytes" * 1000)
    run.copy_file("last.keras", "best.keras")
    assert (tmp_path / "best.keras").read_bytes() == b"model bytes" * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras", "last.keras"]
