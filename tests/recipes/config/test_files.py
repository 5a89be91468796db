"""Presets and YAML files: read safely, refused in one line when they are wrong."""

import time

import pytest
import yaml

from recipes.config import list_presets, load_config_file, load_preset
from recipes.config.files import parse_yaml, quoted
from zoo.errors import UnknownNameError, UsageError


def test_presets_are_listed():
    assert {"alexnet", "vgg", "googlenet", "resnet", "modern", "finetune"} <= set(list_presets())


def test_unknown_preset_suggests():
    with pytest.raises(UnknownNameError, match="resnet"):
        load_preset("resnt")


def test_config_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 4\noptimizer: sgd\n")
    assert load_config_file(str(path)) == {"epochs": 4, "optimizer": "sgd"}
    path.write_text("- not a mapping\n")
    with pytest.raises(UsageError, match="mapping"):
        load_config_file(str(path))
    with pytest.raises(UsageError, match="not found"):
        load_config_file(str(tmp_path / "missing.yaml"))


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UsageError, match="aliases") as info:
        load_config_file(str(path))
    assert "\n" not in str(info.value)


def test_invalid_yaml_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("epochs: [1, 2\n")
    with pytest.raises(UsageError, match="not valid YAML") as info:
        load_config_file(str(path))
    assert "\n" not in str(info.value)


def _alias_bomb(levels=10):
    """About a kilobyte of YAML whose aliases expand to 10**levels strings."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_search_space_files_and_option_values_refuse_aliases(tmp_path):
    from recipes.search.space import study_space

    path = tmp_path / "space.yaml"
    path.write_text(_alias_bomb())
    assert len(path.read_bytes()) < 1200
    with pytest.raises(UsageError, match="aliases") as info:
        study_space("train", ["lenet"], path=str(path))
    assert len(str(info.value)) < 300
    # The same parser reads YAML text, as a `KEY=VALUE` option gives it: on one line.
    one_line = "{" + _alias_bomb().strip().replace("\n", ", ") + "}"
    with pytest.raises(yaml.YAMLError, match="aliases"):
        parse_yaml(one_line)
    with pytest.raises(yaml.YAMLError, match="aliases"):
        parse_yaml("a: &x [1, 2]\nb: *x\n")
    assert parse_yaml("[1, {a: true}]") == [1, {"a": True}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epochs: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 32 levels"),
        ("a: " + "{a: " * 500 + "1" + "}" * 500 + "\n", "nested more than 32 levels"),
        ("epochs: " + "7" * 5000 + "\n", "an integer of thousands of digits"),
        ("epochs: 2024-02-31\n", "day is out of range"),
    ],
)
def test_files_python_cannot_hold_are_refused_in_one_short_line(tmp_path, text, message):
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message) as info:
        load_config_file(str(path))
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_quoted_values_stay_short_and_quick():
    level = ["x"] * 10
    for _ in range(9):  # shared lists, as aliases build them: 10**10 strings
        level = [level] * 10
    start = time.perf_counter()
    shown = quoted(level)
    assert time.perf_counter() - start < 1
    assert len(shown) == 80 and shown.startswith("[[[[[[[[[['x', 'x'") and shown.endswith("...")
    assert quoted("y" * 10**6) == repr("y" * 77)[:77] + "..."
    assert quoted(10**5000) == "<an integer of about 5001 digits>"
    assert quoted({"a": (1,), "b": None}) == "{'a': (1,), 'b': None}"
    assert quoted("line\nbreak") == "'line\\nbreak'"


def test_a_huge_value_makes_a_short_message(tmp_path):
    from recipes.config import flatten, resolve_config

    path = tmp_path / "run.yaml"
    path.write_text("optimizer: " + "z" * 500_000 + "\nmodel: [" + "1, " * 100_000 + "1]\n")
    settings = load_config_file(str(path))
    with pytest.raises(UsageError) as info:
        resolve_config(flatten(settings, str(path)))
    assert "Received:" in str(info.value) and len(str(info.value)) < 400
    with pytest.raises(UnknownNameError) as info:
        load_preset("q" * 100_000)
    assert len(str(info.value)) < 400
    with pytest.raises(UnknownNameError):
        load_preset("../presets/modern")  # a name, not a path


def test_quoted_is_the_one_of_zoo_errors():
    from zoo import errors

    assert quoted is errors.quoted
