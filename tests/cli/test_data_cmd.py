"""`zoo data check` and `zoo bench data`."""

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from cli import main as cli_main
from cli.bench_cmd import bench_data_command
from cli.data_cmd import data_group
from zoo.errors import UsageError


def _folder(root, counts, size=(20, 16)):
    root.mkdir(parents=True, exist_ok=True)
    for label, (name, count) in enumerate(sorted(counts.items())):
        (root / name).mkdir(exist_ok=True)
        for index in range(count):
            pixels = np.full((size[1], size[0], 3), 40 + 90 * label + index, np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index}.jpg")
    return root


@pytest.fixture
def zoo(monkeypatch):
    """Runs `zoo ...` through the real entry point, with `data` wired in."""
    monkeypatch.setitem(
        cli_main.COMMANDS, "data", ("cli.data_cmd:data_group", "Check image folders.")
    )

    def run(*args):
        return CliRunner().invoke(cli_main.cli, list(args))

    return run


def test_check_json(tmp_path):
    root = _folder(tmp_path / "d", {"cat": 3, "dog": 2})
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    (root / "dog" / "notes.txt").write_text("x")
    result = CliRunner().invoke(data_group, ["check", str(root), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["classes"] == ["cat", "dog"]
    assert report["counts"] == {"cat": 3, "dog": 2}
    assert report["images"]["usable"] == 5 and report["images"]["width"]["max"] == 20
    assert [entry["path"].endswith("broken.jpg") for entry in report["bad"]] == [True]
    assert report["bad"][0]["reason"]
    assert any(entry["path"].endswith("notes.txt") for entry in report["ignored"])
    assert report["empty_classes"] == [] and report["problems"] == []


def test_check_text_lists_classes_and_bad_files(zoo, tmp_path):
    root = _folder(tmp_path / "d", {"cat": 2, "dog": 2})
    (root / "dog" / "empty.jpg").write_bytes(b"")
    (root / "bird").mkdir()
    result = zoo("data", "check", str(root))
    assert result.exit_code == 2, result.output
    assert "3 classes, 4 usable images of 5 files (1 bad" in result.stdout
    assert "empty.jpg: empty file" in result.stdout
    assert "training would refuse" in result.stdout and "bird" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "class folder bird has no usable image" in lines[0]


def test_check_split_layout_counts_per_split(tmp_path):
    _folder(tmp_path / "d" / "train", {"a": 2, "b": 2})
    _folder(tmp_path / "d" / "val", {"a": 1, "b": 1})
    result = CliRunner().invoke(data_group, ["check", str(tmp_path / "d"), "--json"])
    report = json.loads(result.stdout)
    assert report["counts"] == {"train": {"a": 2, "b": 2}, "val": {"a": 1, "b": 1}}
    text = CliRunner().invoke(data_group, ["check", str(tmp_path / "d")]).stdout
    assert "train" in text and "val" in text


def test_check_text_names_folders_next_to_train_that_are_not_used(tmp_path):
    _folder(tmp_path / "d" / "train", {"a": 2, "b": 2})
    _folder(tmp_path / "d", {"c": 2})
    result = CliRunner().invoke(data_group, ["check", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "folders not used (only train/, val/" in result.stdout
    assert "are read): c/\n" in result.stdout


def test_check_text_says_which_class_is_too_small_to_split(zoo, tmp_path):
    root = _folder(tmp_path / "d", {"cat": 3, "dog": 1})
    result = zoo("data", "check", str(root))
    assert result.exit_code == 2, result.output
    assert "training would refuse" in result.stdout
    assert "Class 'dog' has only 1 usable image" in result.stdout
    assert "Training would refuse" in result.stderr and "'dog'" in result.stderr


def test_check_exits_2_like_a_linter_with_one_json_document(zoo, tmp_path):
    root = _folder(tmp_path / "d", {"cat": 3})
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    (root / "dog").mkdir()
    (root / "dog" / "empty.png").write_bytes(b"")
    result = zoo("data", "check", str(root), "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)  # exactly one document, nothing else
    assert report["problems"] == [
        "class folder dog has no usable image",
        "1 class(es) with usable images; training needs at least 2",
    ]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(
        "class folder dog has no usable image (and 1 more in the report)."
    )


def _within(seconds, function, *args):
    """`function(*args)` in a thread, failing when it has not returned within `seconds`."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=function(*args)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return result["value"]


def test_check_reports_a_fifo_as_bad_without_opening_it(zoo, tmp_path):
    root = _folder(tmp_path / "d", {"cat": 2, "dog": 2})
    os.mkfifo(root / "cat" / "pipe.png")
    result = _within(120, zoo, "data", "check", str(root), "--json")
    assert result.exit_code == 0, result.output  # trains: the pipe is skipped
    report = json.loads(result.stdout)
    assert report["counts"] == {"cat": 2, "dog": 2}
    assert [entry["path"].endswith("pipe.png") for entry in report["bad"]] == [True]
    assert "named pipe (FIFO)" in report["bad"][0]["reason"]
    assert report["images"]["files"] == 5 and report["images"]["bad"] == 1


def test_check_max_pixels(tmp_path):
    root = _folder(tmp_path / "d", {"a": 1, "b": 1})
    result = CliRunner().invoke(data_group, ["check", str(root), "--max-pixels", "100", "--json"])
    report = json.loads(result.stdout)
    assert {entry["reason"].split(":")[0] for entry in report["bad"]} == {"too large"}


def test_missing_folder_exits_2_with_one_line(zoo, tmp_path):
    result = zoo("data", "check", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0]


def test_no_usable_image_exits_2_after_the_report(zoo, tmp_path):
    root = tmp_path / "d"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.jpg").write_bytes(b"")
    result = zoo("data", "check", str(root), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["bad"][0]["reason"] == "empty file (0 bytes)"
    assert "no usable image" in result.stderr


def test_error_raised_without_the_entry_point(tmp_path):
    result = CliRunner().invoke(data_group, ["check", str(tmp_path / "nowhere")])
    assert isinstance(result.exception, UsageError)


def test_bench_data_json(tmp_path):
    root = _folder(tmp_path / "d", {"a": 6, "b": 6}, size=(40, 40))
    args = [str(root), "--epochs", "2", "--rounds", "1", "--image-size", "16", "--json"]
    result = CliRunner().invoke(bench_data_command, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["images"] == 12 and report["keras_images"] == 12 and report["epochs"] == 2
    for side in ("zoo", "keras"):
        assert report[side]["images_per_second"] > 0
        assert len(report[side]["epoch_seconds"]) == 2
    assert report["ratio"] == pytest.approx(
        report["zoo"]["images_per_second"] / report["keras"]["images_per_second"], rel=0.02
    )


def test_bench_data_generates_a_folder_and_prints_a_table():
    args = ["--epochs", "1", "--rounds", "1", "--image-size", "16", "--images", "4"]
    args += ["--source-size", "32"]
    result = CliRunner().invoke(bench_data_command, args)
    assert result.exit_code == 0, result.output
    assert "40 images (zoo), 40 images (keras) from generated" in result.stdout
    assert "| zoo: recipes.data.load_data" in result.stdout
    assert "| keras: keras.utils.image_dataset_from_directory" in result.stdout
    assert "speed-up" in result.stdout


def test_importing_the_commands_does_not_import_tensorflow():
    code = "import sys, cli.data_cmd; print('tensorflow' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "False"


def test_bench_data_reports_keras_failing_on_a_bad_file(tmp_path):
    root = _folder(tmp_path / "d", {"a": 3, "b": 3})
    (root / "a" / "empty.jpg").write_bytes(b"")
    args = [str(root), "--epochs", "1", "--rounds", "1", "--image-size", "16", "--json"]
    result = CliRunner().invoke(bench_data_command, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["zoo"]["images_per_second"] > 0 and report["images"] == 6
    assert "error" in report["keras"] and report["ratio"] is None


def test_c_library_messages_stay_off_the_terminal(tmp_path):
    """libjpeg and TensorFlow's decoder print to file descriptor 2 on broken JPEGs."""
    import io
    import os

    root = _folder(tmp_path / "d", {"a": 3, "b": 3})
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        buffer, "JPEG"
    )
    (root / "a" / "truncated.jpg").write_bytes(buffer.getvalue()[:600])
    completed = subprocess.run(
        [sys.executable, "-m", "cli.main", "data", "check", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert completed.returncode == 0, completed.stderr
    assert "truncated.jpg: corrupt or truncated" in completed.stdout
    assert completed.stderr == "", completed.stderr
