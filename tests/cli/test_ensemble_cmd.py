"""`zoo ensemble` on runs whose answers are known, and the commands that take its output."""

import json

import pytest
from click.testing import CliRunner

from cli.main import cli as zoo_cli
from tests.colour_runs import KERNELS, colour_folder, colour_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble-cmd")
    data = colour_folder(root / "data")
    return {
        "root": root,
        "data": data,
        "small": colour_run(root / "small", KERNELS["wrong_on_red"], 32, data),
        "large": colour_run(root / "large", KERNELS["wrong_on_green"], 48, data),
    }


def invoke(*args):
    return CliRunner().invoke(zoo_cli, [str(a) for a in args])


def assert_one_line_error(result, text):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert text in lines[0]


def test_text_then_evaluate_predict_and_export_take_the_ensemble(runs, tmp_path):
    output = tmp_path / "ensemble"
    result = invoke("ensemble", runs["small"], runs["large"], "--output", output)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"member    {runs['small']}")
    assert "32x32" in lines[0] and "66.67%" in lines[0]
    assert lines[1].startswith(f"member    {runs['large']}") and "48x48" in lines[1]
    assert lines[2].startswith(f"ensemble  {output}")
    assert "100.00%" in lines[2] and "+33.33 points over the best member" in lines[2]
    assert lines[3] == f"test split of folder {runs['data'] / 'test'}: 6 images"

    evaluated = invoke("evaluate", output, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["accuracy"] == 1.0
    predicted = invoke("predict", output, runs["data"] / "test" / "red" / "0.png", "--json")
    assert predicted.exit_code == 0, predicted.output
    assert json.loads(predicted.stdout)["predictions"][0]["class"] == "red"
    exported = invoke("export", output, "--out", tmp_path / "saved", "--name", "colours")
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "saved" / "colours" / "1" / "saved_model.pb").is_file()


def test_json_is_one_document(runs, tmp_path):
    output = tmp_path / "ensemble"
    args = ["--output", output, "--data", runs["data"], "--batch-size", 4, "--json"]
    result = invoke("ensemble", runs["large"], runs["small"], *args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["accuracy"] == 1.0
    assert [m["input_size"] for m in document["members"]] == [[48, 48], [32, 32]]
    # Equally accurate: the lower loss is the better.
    assert document["best_member"] == min(document["members"], key=lambda m: m["loss"])["run"]
    assert document["gain"] == pytest.approx(1 / 3)
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["members"] == document["members"]


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("one run", "at least two runs"),
        ("other classes", "have different classes (only in"),
        ("not a run", "is not a zoo run directory"),
        ("existing output", "already exists and is not empty"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(runs, tmp_path, case, text):
    output = tmp_path / "ensemble"
    args = [runs["small"], runs["large"]]
    if case == "one run":
        args = [runs["small"]]
    elif case == "other classes":
        other = ["blue", "green", "yellow"]
        args[1] = colour_run(tmp_path / "other", KERNELS["wrong_on_red"], 32, runs["data"], other)
    elif case == "not a run":
        args[1] = runs["data"]
    else:
        output.mkdir()
        (output / "notes.txt").write_text("mine")
    result = invoke("ensemble", *args, "--output", output)
    assert_one_line_error(result, text)
    if case == "existing output":
        assert [path.name for path in output.iterdir()] == ["notes.txt"]
    else:
        assert not output.exists()
