"""The summary printed before epoch 1: the data (loud for the built-in set), model, settings."""

from recipes.config import load_preset, resolve_config
from recipes.data.shapes import write_folder
from recipes.training.summary import run_summary
from recipes.training.train import prepare_train


def prepared(**settings):
    config = resolve_config(
        load_preset("modern"),
        {"task": "train", "arch": "lenet5", "classes": 3, "shapes_per_class": 8, **settings},
    )
    return prepare_train(config)


def test_the_built_in_set_is_announced_loudly_with_the_settings():
    lines = run_summary(prepared(image_size=32))
    assert lines[0].startswith("NOTE: no --data or --dataset given: training on the built-in set")
    assert "train 18, val 6, test 6; 3 classes; input 32x32 px (--image-size)" in lines[1]
    assert lines[2].startswith("model: lenet5, ") and "preset modern" in lines[2]
    assert "adamw lr 0.001 (cosine after 1 warm-up epoch(s)), batch 64, 30 epochs" in lines[3]


def test_a_folder_is_named_and_the_default_size_is_said_to_be_the_models(tmp_path):
    folder = write_folder(tmp_path / "photos", num_classes=3, count_per_class=4, image_size=32)
    lines = run_summary(prepared(data_dir=str(folder)))
    assert lines[0].startswith("data: ") and str(folder) in lines[0]
    assert "input 32x32 px (the model's default)" in lines[1]
