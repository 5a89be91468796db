"""Shell completion through click's own machinery, as the shell scripts call it."""

import os
import subprocess
import sys
import textwrap

import pytest
from click.shell_completion import ShellComplete

from cli.main import COMMANDS, cli
from tests.run_dirs import make_run
from zoo.names import ARCHITECTURES


def complete(line):
    """`(type, value)` of each completion of `line`, as bash's script receives them.

    Args:
        line: What is typed after `zoo `; a trailing space starts a new word.
    """
    words = line.split()
    incomplete = "" if line.endswith(" ") or not line else words.pop()
    items = ShellComplete(cli, {}, "zoo", "_ZOO_COMPLETE").get_completions(words, incomplete)
    return [(item.type, item.value) for item in items]


def plain(line):
    return [value for kind, value in complete(line) if kind == "plain"]


def test_bash_script_completes_sub_commands_without_tensorflow():
    script = textwrap.dedent(
        """
        import sys
        from cli.main import cli
        try:
            cli(prog_name="zoo")
        except SystemExit:
            pass
        print("tensorflow" in sys.modules, "keras" in sys.modules)
        """
    )
    env = {**os.environ, "_ZOO_COMPLETE": "bash_complete", "COMP_WORDS": "zoo ", "COMP_CWORD": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    lines = out.stdout.split()
    assert lines[:-2] == [f"plain,{name}" for name in sorted(COMMANDS)]
    assert lines[-2:] == ["False", "False"]


def test_sub_commands_and_their_options():
    assert plain("ex") == ["explain", "export"]
    assert plain("lr") == ["lr-find"]
    assert "--debug" in plain("--")
    assert "--dry-run" in plain("train --dr")
    assert plain("runs pr") == ["prune"]


def test_sub_command_short_help_comes_from_the_table():
    items = ShellComplete(cli, {}, "zoo", "_ZOO_COMPLETE").get_completions([], "tr")
    assert [(item.value, item.help) for item in items] == [("train", COMMANDS["train"][1])]


def test_architecture_names():
    assert plain("train --arch resnet1") == ["resnet101", "resnet101_v2", "resnet110",
                                             "resnet152", "resnet152_v2", "resnet18"]  # fmt: skip
    assert plain("train --arch ") == list(ARCHITECTURES)
    assert plain("train --arch ResNet-5") == ["resnet50", "resnet50_v2", "resnet56"]
    assert plain("search --arch resnet18,le") == ["resnet18,lenet5"]
    assert plain("info vgg1") == ["vgg16", "vgg19"]
    assert plain("weights fetch xc") == ["xception"]
    assert plain("bench train --arch zf") == ["zfnet"]


def test_base_is_a_name_a_run_or_any_path(tmp_path):
    assert complete("finetune --base mobilenet_v3") == [
        ("file", "mobilenet_v3"),
        ("plain", "mobilenet_v3_large"),
        ("plain", "mobilenet_v3_small"),
    ]
    make_run(tmp_path, "r18", finished=True)
    assert complete(f"finetune --base {tmp_path}/r") == [
        ("file", f"{tmp_path}/r"),
        ("plain", f"{tmp_path}/r18"),
    ]


def test_presets():
    assert plain("train --preset res") == ["resnet"]
    assert "modern" in plain("finetune --preset ")


def test_choices_of_schema_options():
    assert plain("train --optimizer ad") == ["adam", "adamw"]
    assert plain("train --schedule ") == ["constant", "step", "plateau", "cosine"]
    assert plain("finetune --precision bf") == ["bf16"]
    assert plain("evaluate x --tta ") == ["none", "flip", "crops"]


def test_words_or_files():
    assert complete("finetune --weights im") == [("file", "im"), ("plain", "imagenet")]
    assert complete("train --cache ./c") == [("file", "./c")]


def test_run_directories(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    make_run(runs, "resnet18-1", finished=True)
    make_run(runs, "resnet18-2", epochs_done=1)
    make_run(runs, "lenet5-1")
    (runs / "notes").mkdir()
    (tmp_path / "model.keras").write_bytes(b"m")
    (tmp_path / "photos").mkdir()
    root = str(tmp_path)
    assert complete(f"explain {root}/runs/res") == [
        ("file", f"{root}/runs/res"),
        ("plain", f"{root}/runs/resnet18-1"),
        ("plain", f"{root}/runs/resnet18-2"),
    ]
    # A folder of runs offers the runs in it; a .keras file is a model too.
    monkeypatch.chdir(tmp_path)
    assert plain("filters ") == [
        "model.keras",
        os.path.join("runs", "lenet5-1"),
        os.path.join("runs", "resnet18-1"),
        os.path.join("runs", "resnet18-2"),
    ]
    assert plain("plot runs/lenet5-1 runs/r") == ["runs/resnet18-1", "runs/resnet18-2"]
    assert plain("ensemble runs/l") == ["runs/lenet5-1"]
    # No run matches: only the shell's own file names.
    assert complete("explain pho") == [("file", "pho")]


def test_path_options_and_image_arguments(tmp_path):
    (tmp_path / "flowers").mkdir()
    prefix = f"{tmp_path}/fl"
    assert complete(f"train --data {prefix}") == [("dir", prefix)]
    assert complete(f"finetune --tfds-dir {prefix}") == [("dir", prefix)]
    assert complete(f"train --output {prefix}") == [("dir", prefix)]
    assert complete(f"train --config {prefix}") == [("file", prefix)]
    assert complete(f"embed run --data {prefix}") == [("dir", prefix)]
    assert complete(f"explain run {prefix}") == [("file", prefix)]
    assert complete(f"runs {prefix}") == [("dir", prefix)]
    assert complete(f"data check {prefix}") == [("file", prefix)]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_source_scripts(shell):
    env = {**os.environ, "_ZOO_COMPLETE": f"{shell}_source"}
    out = subprocess.run(
        [sys.executable, "-m", "cli.main"], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "_ZOO_COMPLETE" in out.stdout and f"{shell}_complete" in out.stdout
