"""Usage errors that need a name or a path answer before TensorFlow loads: one line, exit 2."""

import subprocess
import sys
import time

import pytest

# TensorFlow and Keras made unimportable: a command that reached for them would fail.
NO_TENSORFLOW = """
import sys


class Refuse:
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ImportError(f"{name} was imported")


sys.meta_path.insert(0, Refuse())
from cli.main import cli

cli(sys.argv[1:], prog_name="zoo")
"""


def _zoo_without_tensorflow(*args, cwd):
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    return out, time.monotonic() - started


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from recipes.data.shapes import write_folder
    from recipes.run.layout import RunLayout

    root = tmp_path_factory.mktemp("usage")
    write_folder(root / "three", num_classes=3, count_per_class=2, image_size=16)
    (root / "used").mkdir()
    (root / "used" / RunLayout.CONFIG).write_text("task: train\n")
    (root / "used" / RunLayout.MODEL).write_bytes(b"")  # read only after the images are found
    return root


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--arch", "resnt20"], "Did you mean: resnet20"),
        (["info", "resnt50"], "Did you mean: resnet50"),
        (["train", "--arch", "resnet20", "--data", "nope"], "Data folder not found: nope"),
        (["train", "--arch", "resnet20", "--data", "three", "--classes", "5"], "pass --classes 3"),
        (["finetune", "--base", "runs/nope", "--classes", "3"], "runs/nope does not exist"),
        (["finetune", "--base", "resnt18", "--classes", "3"], "Did you mean: resnet18"),
        (["train", "--arch", "resnet20", "--resume"], "--resume needs --output"),
        (["train", "--arch", "resnet20", "--output", "used"], "pass --resume"),
        (["train", "--arch", "resnet20", "--output", "three", "--resume"], "not a zoo run"),
        (["evaluate", "runs/nope"], "runs/nope does not exist"),
        (["export", "runs/nope"], "runs/nope does not exist"),
        (["predict", "used", "missing.jpg"], "missing.jpg: no such file"),
        (["train", "--arch", "resnet20", "--dry-run", "--data", "nope"], "Data folder not found"),
    ],
)
def test_answered_without_tensorflow(folders, args, message):
    out, seconds = _zoo_without_tensorflow(*args, cwd=folders)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], lines
    assert seconds < 20  # no TensorFlow: well under a second on an idle machine


def test_zoo_list_needs_no_tensorflow(folders):
    out, _ = _zoo_without_tensorflow("list", "resnet2*", cwd=folders)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [line.split()[0] for line in out.stdout.splitlines()[1:]] == ["resnet20"]
