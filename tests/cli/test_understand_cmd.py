"""`zoo plot`, `filters`, `activations`, `explain`, `neighbors`, `embed` on the command line."""

import json

import pytest
from click.testing import CliRunner

from cli.main import cli as zoo_cli


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from recipes.data.shapes import write_folder

    return write_folder(
        tmp_path_factory.mktemp("photos"), num_classes=3, count_per_class=3, image_size=32
    )


def invoke(*args):
    return CliRunner().invoke(zoo_cli, [str(a) for a in args])


def test_each_command_prints_the_paths_it_wrote(shapes_run, photos, tmp_path):
    image = sorted((photos / "circle").iterdir())[0]
    commands = [
        ("plot", shapes_run, "--output", tmp_path / "curves.png"),
        ("filters", shapes_run, "--output", tmp_path / "filters"),
        ("activations", shapes_run, image, "--output", tmp_path / "activations"),
        (
            "explain",
            shapes_run,
            image,
            "--method",
            "gradcam,saliency",
            "--output",
            tmp_path / "explain",
        ),
        ("neighbors", shapes_run, image, "--data", photos, "--k", "2", "--output", tmp_path / "nn"),
        (
            "embed",
            shapes_run,
            "--data",
            photos,
            "--max-images",
            "6",
            "--output",
            tmp_path / "embed",
        ),
    ]
    for command in commands:
        result = invoke(*command)
        assert result.exit_code == 0, (command[0], result.output)
        paths = result.stdout.split()
        assert paths, command[0]
        for path in paths:
            assert str(tmp_path) in path and (tmp_path / path).exists(), (command[0], path)


def test_json_is_one_document(shapes_run, photos, tmp_path):
    image = sorted((photos / "square").iterdir())[0]
    result = invoke("explain", shapes_run, image, "--json", "--output", tmp_path)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["target"] == "logits"
    assert document["methods"]["gradcam"]["files"][0]["image"] == str(image)


def test_layer_list_names_layers_by_path(finetuned_run):
    result = invoke("filters", finetuned_run, "--layer", "list")
    assert result.exit_code == 0, result.output
    paths = [line.split()[0] for line in result.stdout.splitlines()]
    assert "base_features/conv1_conv" in paths and "head_logits" in paths


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (
            ("explain", "{run}", "{image}", "--layer", "conv5_blok2_out"),
            "Did you mean: conv5_block2_out",
        ),
        (("explain", "{run}", "{image}", "--class", "hexagon"), "circle, square, triangle"),
        (("explain", "{run}", "{image}", "--method", "gradcan"), "Did you mean: gradcam"),
        (("neighbors", "{run}", "{image}", "--data", "{missing}"), "is not a folder"),
        (("plot", "{missing}"), "not a zoo run directory"),
    ],
)
def test_bad_input_is_one_line(shapes_run, photos, tmp_path, args, text):
    image = sorted((photos / "circle").iterdir())[0]
    values = {"run": shapes_run, "image": image, "missing": tmp_path / "missing"}
    result = invoke(*(arg.format(**values) for arg in args))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], result.stderr
