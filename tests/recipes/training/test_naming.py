"""Default run names: the architecture for train, the data for finetune."""

import pytest

from recipes.config import resolve_config
from recipes.config.schema import DataSettings
from recipes.training.naming import data_name, run_name


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({}, "shapes"),
        ({"data_dir": "data/faces"}, "faces"),
        ({"data_dir": "data/faces/"}, "faces"),
        ({"data_dir": "~/photos/Pets & Cats"}, "Pets_Cats"),
        ({"data_dir": "faces/train"}, "faces-train"),
        ({"dataset": "tf_flowers"}, "tf_flowers"),
        ({"dataset": "imagenette/160px"}, "imagenette_160px"),
    ],
)
def test_the_data_is_named_by_its_folder_or_dataset(settings, name):
    assert data_name(DataSettings(**settings)) == name


def test_the_current_folder_is_named_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data_name(DataSettings(data_dir=".")) == tmp_path.name


def test_train_runs_are_named_after_the_model_and_finetune_runs_after_the_data():
    train = resolve_config({"arch": "resnet18", "data_dir": "data/faces"})
    assert run_name(train, "resnet18") == "resnet18"
    tuned = resolve_config({"task": "finetune", "base": "runs/textures-1", "data_dir": "x/faces"})
    assert run_name(tuned, "textures-1") == "faces"
    built_in = resolve_config({"task": "finetune", "base": "resnet18", "classes": 4})
    assert run_name(built_in, "resnet18") == "shapes"
