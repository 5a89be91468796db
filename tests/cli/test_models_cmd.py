import json

from click.testing import CliRunner

from cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_list_json_has_every_model():
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {"name", "family", "params", "classes", "input_size", "weights"} <= set(rows[0])
    names = {row["name"] for row in rows}
    assert {"resnet18", "inception_v3", "googlenet", "efficientnet_b0"} <= names
    classes = {row["name"]: row["classes"] for row in rows}
    assert classes["lenet5"] == classes["resnet20"] == 10
    assert classes["resnet18"] == classes["vgg16"] == 1000


def test_list_pattern_text():
    result = run("list", "vgg*")
    assert result.exit_code == 0
    assert "vgg16" in result.stdout
    assert "resnet50" not in result.stdout


def test_list_text_shows_the_default_classes():
    result = run("list", "lenet*")
    assert result.exit_code == 0
    header, row = result.stdout.splitlines()
    assert header.split()[:5] == ["name", "family", "params", "classes", "input"]
    assert row.split()[:5] == ["lenet5", "lenet", "60,850", "10", "32"]


def test_info_builds_the_papers_classes_by_default():
    # LeNet-5 reads digits: 10 outputs and the paper's 60,000 parameters below them.
    info = json.loads(run("info", "lenet5", "--json").stdout)
    assert (info["classes"], info["params"]) == (10, 60_850)
    info = json.loads(run("info", "lenet5", "--classes", "1000", "--json").stdout)
    assert (info["classes"], info["params"]) == (1000, 145_000)


def test_info_json_counts_params_and_macs():
    result = run("info", "resnet18", "--classes", "10", "--image-size", "64", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["input_shape"] == [64, 64, 3]
    assert info["params"] == info["trainable_params"] + 9_600  # BatchNorm moving statistics
    assert info["macs"] > 0
    assert info["preprocessing"] == "tf"
    for key in ("weights", "paper", "options"):
        assert key in info


def test_info_macs_of_resnet50_match_the_paper():
    result = run("info", "resnet50", "--json")
    macs = json.loads(result.stdout)["macs"]
    assert 3.8e9 < macs < 4.2e9  # "3.8 x 10^9 FLOPs" (multiply-adds) in He et al., Table 1


def test_info_macs_of_resnet18_match_the_paper():
    macs = json.loads(run("info", "resnet18", "--json").stdout)["macs"]
    assert abs(macs / 1.8e9 - 1) < 0.02  # "1.8 x 10^9" in He et al., Table 1


def test_unknown_name_is_one_line_exit_2():
    result = run("info", "resnt50")
    assert result.exit_code == 2
    assert "resnet50" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_too_small_input_is_one_line_exit_2():
    result = run("info", "inception_v3", "--image-size", "32")
    assert result.exit_code == 2
    assert "at least 75x75" in result.stderr


def test_unknown_command_suggests():
    result = run("lst")
    assert result.exit_code == 2
    assert "list" in result.stderr


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert "zoo" in result.stdout
