"""`zoo evaluate`, `predict`, `export` and `serve` on a run trained by the real recipe."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from PIL import Image

from cli.main import cli as zoo_cli
from tests.trained_runs import SHAPES_CLASSES as CLASSES

COLOURS = {"circle": (220, 30, 30), "square": (30, 220, 30), "triangle": (30, 30, 220)}
SIZE = 32


def image_folder(root, classes, per_class=2):
    for name in classes:
        for index in range(per_class):
            path = root / "test" / name / f"{index}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (SIZE, SIZE), COLOURS.get(name, (90, 90, 90))).save(path)
    return root


@pytest.fixture
def run_dir(shapes_run):
    return shapes_run


def invoke(*args):
    return CliRunner().invoke(zoo_cli, [str(a) for a in args])


def assert_one_line_error(result, code, text):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert text in lines[0]
    assert "Traceback" not in result.output


def test_predict_json_is_one_document(run_dir, tmp_path):
    image = tmp_path / "red.png"
    Image.new("RGB", (SIZE, SIZE), COLOURS["circle"]).save(image)
    result = invoke("predict", run_dir, image, tmp_path / "missing.png", "--top-k", "2", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["predictions"][0]["class"] in CLASSES
    assert len(document["predictions"][0]["top_k"]) == 2
    assert document["bad"][0]["reason"] == "no such file or folder"
    assert "skipped" in result.stderr


def test_predict_text(run_dir, tmp_path):
    image = tmp_path / "triangle.png"
    Image.new("RGB", (SIZE, SIZE), COLOURS["triangle"]).save(image)
    result = invoke("predict", run_dir, image)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{image}: ")


def test_export_json_then_refuse_existing_version(run_dir, tmp_path):
    out = tmp_path / "saved_models"
    result = invoke("export", run_dir, "--out", out, "--name", "colours", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["checks"]["savedmodel"]["max_abs_diff"] < 1e-5
    again = invoke("export", run_dir, "--output", out, "--name", "colours", "--version", "1")
    assert_one_line_error(again, 2, "already exists; pass --overwrite")
    replaced = invoke(
        "export", run_dir, "--output", out, "--name", "colours", "--version", "1", "--overwrite"
    )
    assert replaced.exit_code == 0, replaced.output
    assert "exported colours version 1" in replaced.stdout


@pytest.mark.parametrize("command", ["evaluate", "predict", "export"])
def test_not_a_run_directory(tmp_path, command):
    (tmp_path / "empty").mkdir()
    extra = {"evaluate": ["--data", tmp_path], "predict": [tmp_path / "x.png"], "export": []}
    result = invoke(command, tmp_path / "empty", *extra[command])
    assert_one_line_error(result, 2, "is not a zoo run directory")


@pytest.mark.parametrize("command", ["predict", "export"])
def test_bad_model_file(tmp_path, command):
    (tmp_path / "model.keras").write_text("this is not a zip archive")
    image_folder(tmp_path / "images", CLASSES)  # readable images: the model is what is wrong
    extra = {"predict": [tmp_path / "images"], "export": []}
    result = invoke(command, tmp_path / "model.keras", *extra[command])
    assert_one_line_error(result, 2, "could not be loaded as a Keras model in safe mode")


def test_serve_without_versions(tmp_path):
    result = invoke("serve", tmp_path, "--port", "0")
    assert_one_line_error(result, 2, "holds no model version")


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max-request-mb", "inf", "not in the range"),
        ("--max-request-mb", "nan", "nan is not a number"),
        ("--request-timeout", "inf", "not in the range"),
        ("--request-timeout", "nan", "nan is not a number"),
    ],
)
def test_serve_limits_are_finite(tmp_path, flag, value, message):
    assert_one_line_error(invoke("serve", tmp_path, flag, value), 2, message)


def test_evaluate_json(run_dir, tmp_path):
    data = image_folder(tmp_path / "data", CLASSES)
    result = invoke("evaluate", run_dir, "--data", data, "--json", "--output", tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["images"] == 6
    assert (tmp_path / "out" / "evaluation-test.json").is_file()


def test_evaluate_text(run_dir, tmp_path):
    data = image_folder(tmp_path / "data", CLASSES)
    result = invoke("evaluate", run_dir, "--data", data, "--tta", "flip", "--output", tmp_path)
    assert result.exit_code == 0, result.output
    assert "top-1" in result.stdout and "macro avg" in result.stdout
    loss = next(line for line in result.stdout.splitlines() if line.startswith("loss "))
    assert loss.endswith(
        "(plain cross-entropy; metrics.json's *_loss includes label smoothing 0.1)"
    )


def test_evaluate_mismatched_class_names(run_dir, tmp_path):
    data = image_folder(tmp_path / "data", ["circle", "square", "purple"])
    result = invoke("evaluate", run_dir, "--data", data)
    assert_one_line_error(result, 2, "do not match the model's")


@pytest.mark.slow
def test_tflite_export_keeps_the_interpreter_s_notice_off_stderr(run_dir, tmp_path):
    # A fresh process: the interpreter announces its CPU delegate once per process.
    command = [sys.executable, "-m", "cli.main", "export", str(run_dir), "--out", str(tmp_path)]
    out = subprocess.run(
        [*command, "--format", "tflite", "--json"], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["checks"]["tflite"]["max_abs_diff"] < 1e-4
    assert "XNNPACK" not in out.stderr and "TensorFlow Lite" not in out.stderr


def test_help_shows_run_as_an_argument_and_says_what_a_format_export_makes():
    evaluate_help = CliRunner().invoke(zoo_cli, ["evaluate", "--help"]).output
    rows = [line.strip() for line in evaluate_help.splitlines()]
    assert "RUN" not in rows and "evaluate [OPTIONS] RUN" in evaluate_help  # not an option row
    export_help = " ".join(CliRunner().invoke(zoo_cli, ["export", "--help"]).output.split())
    assert "tflite and onnx make a new version" in export_help
