import json
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli

TINY = [
    "--arch",
    "lenet5",
    "--classes",
    "3",
    "--image-size",
    "32",
    "--epochs",
    "1",
    "--batch-size",
    "16",
    "--precision",
    "fp32",
]


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_train_json_is_the_only_thing_on_stdout(tmp_path):
    result = run("train", *TINY, "--output", str(tmp_path / "run"), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {"run_dir", "epochs", "seconds", "history", "metrics"} <= set(document)
    assert "val_accuracy" in document["metrics"]
    assert "test_accuracy" in document["metrics"]  # the built-in set has a test split
    assert document["epochs"] == 1


def test_config_file_and_flags(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("optimizer: sgd\nlr: 0.05\nepochs: 3\n")
    result = run("train", *TINY, "--config", str(config), "--output", str(tmp_path / "r"), "--json")
    assert result.exit_code == 0, result.output
    saved = (tmp_path / "r" / "config.yaml").read_text()
    assert "optimizer: sgd" in saved
    assert "epochs: 1" in saved  # the flag wins over the file
    assert "fingerprint:" in saved


def _one_line_error(result, code=2):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_unknown_preset():
    assert "Did you mean: resnet" in _one_line_error(run("train", *TINY, "--preset", "resnt"))


def test_unknown_arch():
    assert "resnet18" in _one_line_error(run("train", "--arch", "resnet17"))


def test_conflicting_data_flags(tmp_path):
    line = _one_line_error(run("train", *TINY, "--data", str(tmp_path), "--dataset", "cifar10"))
    assert "not both" in line


def test_bad_choice_is_one_line():
    line = _one_line_error(run("train", *TINY, "--optimizer", "adamax"))
    assert "--optimizer" in line


def test_missing_data_folder(tmp_path):
    line = _one_line_error(run("train", *TINY, "--data", str(tmp_path / "nope")))
    assert "nope" in line


def test_existing_run_directory_is_not_clobbered(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("x")
    line = _one_line_error(run("train", *TINY, "--output", str(tmp_path / "run")))
    assert "--resume" in line
    assert (tmp_path / "run" / "keep.txt").read_text() == "x"


def test_finetune_needs_classes():
    assert "--classes" in _one_line_error(run("finetune", "--base", "resnet50"))


def test_finetune_class_count_mismatch(tmp_path):
    from recipes.data.shapes import write_folder

    photos = write_folder(tmp_path / "photos", num_classes=2, count_per_class=4, image_size=32)
    line = _one_line_error(
        run(
            "finetune",
            "--base",
            "resnet18",
            "--weights",
            "none",
            "--classes",
            "5",
            "--image-size",
            "32",
            "--data",
            str(photos),
        )
    )
    assert "--classes 5 does not match the data, which has 2 classes" in line


def test_data_flags_reach_the_run_and_skipped_files_come_first(tmp_path):
    from recipes.data.shapes import write_folder

    photos = write_folder(tmp_path / "photos", num_classes=3, count_per_class=6, image_size=32)
    (photos / photos.iterdir().__next__().name / "broken.jpg").write_bytes(b"not a jpeg")
    (photos / "empty").mkdir()
    result = run(
        "train",
        *TINY,
        "--data",
        str(photos),
        "--drop-empty-classes",
        "--no-flip",
        "--mixup",
        "0.2",
        "--interpolation",
        "area",
        "--max-pixels",
        "100000",
        "--output",
        str(tmp_path / "run"),
    )
    assert result.exit_code == 0, result.output
    saved = (tmp_path / "run" / "config.yaml").read_text()
    for line in ("drop_empty_classes: true", "flip: false", "mixup: 0.2", "interpolation: area"):
        assert line in saved
    assert "dropped empty classes: empty" in result.stderr.splitlines()
    data = json.loads((tmp_path / "run" / "data.json").read_text())
    assert [Path(bad["path"]).name for bad in data["bad"]] == ["broken.jpg"]
    # The skipped file is reported before training; off a terminal, one line per epoch.
    lines = result.output.splitlines()
    skipped = [i for i, line in enumerate(lines) if line.startswith("skipped ")]
    epochs = [i for i, line in enumerate(lines) if line.startswith("epoch ")]
    assert len(skipped) == 1 and "broken.jpg" in lines[skipped[0]]
    assert [lines[i].split(" (")[0] for i in epochs] == ["epoch 1/1"]
    assert skipped[0] < epochs[0]
    # The closing lines in plain words; which loss is which under label smoothing.
    done, scores = result.stdout.splitlines()[-2:]
    assert done.startswith("1 epoch in ") and done.endswith(
        ", precision fp32, 1 device (default strategy)"
    )
    assert scores.startswith("scores: val_accuracy=") and "val_cross_entropy=" in scores
    assert scores.endswith(
        "(*_loss: the training objective, with label smoothing 0.1; *_cross_entropy: plain "
        "cross-entropy, the loss zoo evaluate reports)"
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"val_loss", "val_cross_entropy", "val_accuracy"} <= metrics.keys()


def test_dry_run_prints_each_value_with_its_origin_and_trains_nothing(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("optim:\n  batch_size: 8\n")
    args = ["train", "--arch", "lenet5", "--lr", "0.01", "--config", config, "--dry-run"]
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "--output", tmp_path / "run"]])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  lr: 0.01  # flag" in lines and "  arch: lenet5  # flag" in lines
    assert f"  batch_size: 8  # file {config}" in lines
    assert "  augment: auto  # preset modern" in lines
    assert "  seed: 0  # default" in lines
    assert not (tmp_path / "run").exists()
    result = CliRunner().invoke(cli, ["finetune", "--base", "resnet18", "--dry-run", "--json"])
    assert result.exit_code == 2  # checked like a real run: --classes is missing
    result = CliRunner().invoke(
        cli, ["finetune", "--base", "resnet18", "--classes", "4", "--dry-run", "--json"]
    )
    settings = json.loads(result.stdout)["settings"]
    assert settings["lr"] == {"value": 0.001, "origin": "preset finetune"}
    assert settings["image_size"]["resolved"] == 224  # resnet18's own, not null
    assert settings["precision"]["resolved"].split(":")[0] in ("bf16", "fp32")
    assert "method" in settings and "arch" not in settings  # only what finetune offers
    result = CliRunner().invoke(cli, ["train", "--arch", "lenet5", "--dry-run", "--json"])
    assert "head_epochs" not in json.loads(result.stdout)["settings"]


def test_shape_classes_pick_a_task_of_the_built_in_set(tmp_path):
    line = _one_line_error(run("train", "--arch", "lenet5", "--shape-classes", "star,rign"))
    assert "Did you mean: ring" in line
    line = _one_line_error(run("train", *TINY, "--shape-classes", "star,ring"))
    assert "--classes 3 does not match --shape-classes, which names 2" in line
    line = _one_line_error(
        run("train", "--arch", "lenet5", "--shape-classes", "star,ring", "--data", str(tmp_path))
    )
    assert "built-in set" in line
    assert not list(tmp_path.iterdir())
    base = tmp_path / "base"
    result = run("train", *TINY, "--shapes-per-class", "4", "--output", str(base))
    assert result.exit_code == 0, result.output
    result = run(
        "finetune", "--base", str(base), "--shape-classes", "ellipse,frame,pentagon,star",
        "--shapes-per-class", "4", "--head-epochs", "1", "--epochs", "1",
        "--output", str(tmp_path / "tuned"), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    names = json.loads((tmp_path / "tuned" / "class_names.json").read_text())
    assert names == ["ellipse", "frame", "pentagon", "star"]


def test_keep_checkpoints_is_a_run_setting_and_finetune_reads_its_classes_from_the_data(
    tmp_path,
):
    result = run("train", "--arch", "lenet5", "--keep-checkpoints", "none", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "  keep_checkpoints: none  # flag" in result.stdout.splitlines()
    assert "--keep-checkpoints [best|last|all|none]" in run("finetune", "--help").stdout
    from recipes.data.shapes import write_folder

    photos = write_folder(tmp_path / "photos", num_classes=2, count_per_class=2, image_size=16)
    result = run("finetune", "--base", "resnet18", "--data", str(photos), "--dry-run", "--json")
    assert result.exit_code == 0, result.output  # no --classes: the data has them
    settings = json.loads(result.stdout)["settings"]
    assert settings["classes"]["value"] is None
    assert settings["keep_checkpoints"] == {"value": "best", "origin": "default"}


def test_ctrl_c_says_how_to_continue_and_the_run_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    args = ["train", "--arch", "lenet5", "--classes", "3", "--image-size", "32"]
    args += ["--shapes-per-class", "60", "--epochs", "200", "--output", str(run)]
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        stderr=subprocess.PIPE,
        text=True,
        # A pytest-xdist worker ignores SIGINT, and a child inherits that: give it a terminal's.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300  # a loaded CI machine takes its time to start TensorFlow
    while not (run / "history.csv").is_file() and time.time() < deadline:
        time.sleep(0.2)
    assert (run / "history.csv").is_file(), "no epoch finished in time"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted after epoch ")
    assert last.endswith(f"--output {run} --resume") and "zoo train --arch lenet5" in last
    from recipes.config import load_preset, resolve_config
    from recipes.run.layout import RunLayout

    settings = {"task": "train", "arch": "lenet5", "classes": 3, "image_size": 32}
    settings.update(shapes_per_class=60, epochs=200, output=str(run), resume=True)
    reopened = RunLayout.reopen(resolve_config(load_preset("modern"), settings))
    reopened.unlock()  # resumable: from its checkpoint, or from epoch 1 when it had none
