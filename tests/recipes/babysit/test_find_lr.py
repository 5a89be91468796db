"""`zoo lr-find` and `--lr auto` on the real recipes: files, the recorded rate, resume."""

import json

import pytest
import yaml

from recipes.babysit.find_lr import lr_find
from recipes.config import load_preset, resolve_config
from recipes.training.auto_lr import RangeSettings
from recipes.training.train import train
from zoo.errors import UsageError

QUICK = RangeSettings(start=1e-5, end=10.0, steps=30)


def tiny(tmp_path, **settings):
    return resolve_config(
        load_preset("modern"),
        {
            "task": "train",
            "arch": "lenet5",
            "classes": 3,
            "image_size": 32,
            "shapes_per_class": 10,
            "batch_size": 8,
            "epochs": 1,
            "precision": "fp32",
            "output": str(tmp_path / "run"),
            **settings,
        },
    )


def test_lr_find_writes_the_curve_and_its_suggestion(tmp_path):
    result = lr_find(tiny(tmp_path), QUICK, tmp_path / "find")
    saved = json.loads((tmp_path / "find" / "lr_find.json").read_text())
    assert saved["suggestion"] == result["suggestion"] and result["method"] == "valley"
    assert 1e-5 < result["suggestion"] < 10.0
    assert (tmp_path / "find" / "lr_find.png").stat().st_size > 10_000
    assert result["explanation"].startswith("suggested learning rate")
    assert not (tmp_path / "run").exists()


def test_lr_find_refuses_a_used_folder_and_a_bad_range(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        lr_find(tiny(tmp_path), QUICK, tmp_path / "used")
    with pytest.raises(UsageError, match="below --end-lr"):
        lr_find(tiny(tmp_path), RangeSettings(1.0, 0.1, 30), tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_lr_auto_records_the_rate_and_a_resumed_run_keeps_it(tmp_path, interrupted_after):
    with interrupted_after(1):
        train(tiny(tmp_path, lr="auto", epochs=2))
    run = tmp_path / "run"
    chosen = yaml.safe_load((run / "config.yaml").read_text())["optim"]["lr"]
    found = json.loads((run / "lr_find.json").read_text())
    assert isinstance(chosen, float) and chosen == found["suggestion"]
    assert (run / "lr_find.png").is_file()
    assert json.loads((run / "sanity.json").read_text())["problems"] == []
    written = (run / "lr_find.json").read_bytes()
    result = train(tiny(tmp_path, lr="auto", epochs=2, resume=True))
    assert (run / "lr_find.json").read_bytes() == written  # no second test
    metrics = json.loads((run / "metrics.json").read_text())
    assert result.epochs == 2 and metrics["auto_lr"] == chosen == result.metrics["auto_lr"]
    assert metrics["expected_initial_loss"] == pytest.approx(1.0986, abs=1e-4)
    assert 0.5 < metrics["initial_loss"] / metrics["expected_initial_loss"] < 2
