"""`zoo weights list|fetch|import`, through the real `zoo` group (errors: one line + exit code).

No network: a temporary `KERAS_HOME`, `file://` URLs and a closed local port.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from click.testing import CliRunner

import cli.main
from tests.weights_table import imagenet_table, patch_entry

UNREACHABLE = "http://127.0.0.1:9/keras-applications/"


@pytest.fixture(autouse=True)
def weights_command(monkeypatch):
    """Makes sure `zoo weights` is registered (cli/main.py's COMMANDS holds it)."""
    monkeypatch.setitem(
        cli.main.COMMANDS,
        "weights",
        (
            "cli.weights_cmd:weights_group",
            "Manage the ImageNet weights cache (list, fetch, import).",
        ),
    )


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return tmp_path / "keras-home" / "models"


def run(*args):
    return CliRunner().invoke(cli.main.cli, ["weights", *args])


def test_list_json_is_one_document(models_dir):
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2 * len(imagenet_table())
    assert {"name", "variant", "file", "url", "hash", "cached", "path"} <= set(rows[0])
    assert not any(row["cached"] for row in rows)
    assert all(row["path"].startswith(str(models_dir)) for row in rows)


def test_list_text_shows_the_cache(models_dir):
    models_dir.mkdir(parents=True)
    entry = imagenet_table()["resnet50"]["notop"]
    (models_dir / entry.file).write_bytes(b"x")
    result = run("list")
    assert result.exit_code == 0, result.output
    assert str(models_dir) in result.stdout
    assert "(1 of " in result.stdout
    line = next(x for x in result.stdout.splitlines() if entry.file in x)
    assert line.split()[:3] == ["resnet50", "notop", "yes"]


def test_import_then_list(models_dir, tmp_path, monkeypatch):
    source = tmp_path / "downloaded.h5"
    source.write_bytes(b"resnet50 notop weights")
    entry = patch_entry(
        monkeypatch, "resnet50", "notop", hash=hashlib.md5(source.read_bytes()).hexdigest()
    )
    result = run("import", "resnet50", str(source), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["path"] == str(models_dir / entry.file)
    assert document["variant"] == "notop" and document["cached"] is True
    assert (models_dir / entry.file).read_bytes() == source.read_bytes()

    listed = json.loads(run("list", "--json").stdout)
    assert [(r["name"], r["variant"]) for r in listed if r["cached"]] == [("resnet50", "notop")]


def test_import_text(models_dir, tmp_path, monkeypatch):
    source = tmp_path / "top.h5"
    source.write_bytes(b"vgg16 top weights")
    patch_entry(monkeypatch, "vgg16", "top", hash=hashlib.md5(source.read_bytes()).hexdigest())
    result = run("import", "vgg16", str(source), "--top")
    assert result.exit_code == 0, result.output
    assert "vgg16 (top)" in result.stdout and str(models_dir) in result.stdout


def test_import_wrong_hash_is_one_line_exit_2(models_dir, tmp_path):
    source = tmp_path / "something.h5"
    source.write_bytes(b"not the Keras file")
    result = run("import", "resnet50", str(source))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "nothing was copied" in result.stderr
    assert not models_dir.exists() or os.listdir(models_dir) == []


def test_import_unknown_name_is_exit_2(models_dir, tmp_path):
    source = tmp_path / "w.h5"
    source.write_bytes(b"x")
    result = run("import", "resnt50", str(source))
    assert result.exit_code == 2
    assert "resnet50" in result.stderr


def test_fetch_offline_is_one_line_exit_1(models_dir, monkeypatch):
    entry = imagenet_table()["xception"]["notop"]
    patch_entry(monkeypatch, "xception", "notop", url=UNREACHABLE + entry.file)
    result = run("fetch", "xception", "--no-top")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in result.output
    assert entry.file in lines[-1] and UNREACHABLE in lines[-1]
    assert "zoo weights import xception FILE" in lines[-1]


def test_fetch_json_keeps_stdout_clean(models_dir, tmp_path, monkeypatch):
    source = tmp_path / "served.h5"
    source.write_bytes(b"densenet121 top weights")
    entry = patch_entry(
        monkeypatch,
        "densenet121",
        "top",
        url=source.as_uri(),
        hash=hashlib.md5(source.read_bytes()).hexdigest(),
    )
    result = run("fetch", "densenet121", "--top", "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)  # Keras' progress went to stderr.
    assert row["downloaded"] is True and row["path"] == str(models_dir / entry.file)

    again = run("fetch", "densenet121", "--top")
    assert again.exit_code == 0, again.output
    assert "already cached" in again.stdout
