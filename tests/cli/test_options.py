"""cli.options: `--arch-option KEY=VALUE` read as safe YAML."""

import json

from click.testing import CliRunner

from cli.main import cli


def alias_bomb(levels=30):
    """YAML of a few hundred bytes that a loader with aliases expands to 2**levels items."""
    parts = ["&a0 [1, 1]", *(f"&a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, levels))]
    return "[" + ", ".join(parts) + "]"


def run(*options):
    return CliRunner().invoke(cli, ["train", "--arch", "lenet5", "--dry-run", *options])


def test_arch_option_values_are_yaml():
    result = run("--arch-option", "lrn=true", "--arch-option", "width=0.5", "--json")
    assert result.exit_code == 0, result.output
    options = json.loads(result.stdout)["settings"]["arch_options"]["value"]
    assert options == {"lrn": True, "width": 0.5}  # a bool and a float, not the strings


def test_arch_option_alias_bomb_is_refused_before_it_expands():
    result = run("--arch-option", f"lrn={alias_bomb()}")
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert "\n" not in message and len(message) < 400
    assert "anchors and aliases" in message and "--arch-option" in message


def test_arch_option_nesting_too_deep_is_refused():
    result = run("--arch-option", "lrn=" + "[" * 100 + "]" * 100)
    assert result.exit_code == 2 and "nested more than" in result.stderr


def test_arch_option_text_that_is_not_yaml_stays_text():
    result = run("--arch-option", "lrn=a: b: c", "--json")
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert settings["arch_options"]["value"] == {"lrn": "a: b: c"}
