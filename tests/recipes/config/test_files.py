"""Presets and YAML files: read safely, refused in one line when they are wrong."""

import pytest

from recipes.config import list_presets, load_config_file, load_preset
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
