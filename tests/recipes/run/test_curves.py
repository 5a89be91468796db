"""Training curves: written at the end of every run, redrawn and compared by `zoo plot`."""

import shutil

import pytest
from PIL import Image

from recipes.run.curves import draw_curves, plot_runs
from recipes.run.layout import RunLayout
from zoo.errors import UsageError

CURVES_SIZE = (1100, 420)


def test_every_finished_run_has_its_curves(shapes_run, finetuned_run):
    for run in (shapes_run, finetuned_run):
        assert Image.open(run / "curves.png").size == CURVES_SIZE


def test_plot_redraws_one_run_and_compares_several(shapes_run, finetuned_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(shapes_run, run)
    (run / "curves.png").unlink()
    single = plot_runs([str(run)])
    assert single["png"] == str(run / "curves.png") and single["runs"] == [
        {"run": str(run), "epochs": 1}
    ]
    both = plot_runs([str(run), str(finetuned_run)])
    assert both["png"] == str(run / "curves-compare.png")
    assert Image.open(both["png"]).size == CURVES_SIZE
    chosen = plot_runs([str(run)], output=str(tmp_path / "mine.png"))
    assert chosen["png"] == str(tmp_path / "mine.png")


def test_phases_and_a_learning_rate_of_zero_are_drawn(tmp_path):
    rows = [
        {
            "epoch": 1,
            "phase": "head",
            "lr": 0.0,
            "loss": 2.0,
            "accuracy": 0.3,
            "val_loss": 1.9,
            "val_accuracy": 0.35,
        },
        {
            "epoch": 2,
            "phase": "head",
            "lr": 1e-3,
            "loss": 1.5,
            "accuracy": 0.5,
            "val_loss": 1.6,
            "val_accuracy": 0.45,
        },
        {
            "epoch": 3,
            "phase": "finetune",
            "lr": 1e-5,
            "loss": 1.0,
            "accuracy": 0.7,
            "val_loss": 1.2,
            "val_accuracy": 0.6,
        },
    ]
    path = draw_curves([("run", rows)], tmp_path / "curves.png")
    assert Image.open(path).size == CURVES_SIZE


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    with pytest.raises(UsageError, match="not a zoo run directory"):
        plot_runs([str(tmp_path)])
    run = RunLayout(tmp_path)
    (tmp_path / RunLayout.CONFIG).write_text("task: train\n")
    assert run.history() == []
    with pytest.raises(UsageError, match="no completed epoch"):
        plot_runs([str(tmp_path)])
