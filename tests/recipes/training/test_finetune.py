"""Fine-tuning: the two phases, what gets unfrozen, bases of every kind, errors."""

from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from recipes.config import resolve_config
from recipes.training.finetune import (
    build_finetune_model,
    finetune,
    load_base,
    nested_base,
    unfreeze_top,
)
from zoo.errors import UsageError, WeightsUnavailableError


def _config(**settings):
    base = {
        "task": "finetune",
        "classes": 3,
        "image_size": 32,
        "batch_size": 16,
        "precision": "fp32",
        "optimizer": "adam",
        "lr": 0.003,
    }
    return resolve_config({**base, **settings})


def test_unfreeze_top_blocks_keeps_batchnorm_frozen():
    base = zoo.build_model("resnet18", include_top=False, input_shape=(32, 32, 3))
    pattern = zoo.get_spec("resnet18").block_pattern
    unfreeze_top(base, "1", pattern)
    trainable = {layer.name for layer in base.layers if layer.trainable and layer.weights}
    assert trainable, "the last block is trainable"
    assert all(name.startswith("conv5_block2") for name in trainable)
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
        for layer in base.layers
    )

    unfreeze_top(base, "all", pattern)
    assert base.get_layer("conv1_conv").trainable
    unfreeze_top(base, "3layers", pattern)
    weighted = [layer for layer in base.layers if layer.trainable and layer.weights]
    assert [layer.name for layer in weighted] == ["conv5_block2_2_conv"]  # the others are BN


def test_new_head_on_a_frozen_base_called_in_inference_mode():
    base = load_base(_config(base="resnet18", weights="none"), 32)
    model = build_finetune_model(base, classes=3, dropout=0.2)
    assert model.output_shape == (None, 3)
    assert not nested_base(model).trainable
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]
    assert model.get_layer("probabilities").dtype_policy.compute_dtype == "float32"


def test_a_base_without_pretrained_weights_needs_a_decision():
    with pytest.raises(UsageError, match="no pretrained weights"):
        load_base(_config(base="resnet18"), 32)


def test_imagenet_weights_offline_fail_with_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    from tests.weights_table import imagenet_table, patch_entry

    for variant, entry in imagenet_table()["mobilenet_v3_small"].items():
        patch_entry(
            monkeypatch, "mobilenet_v3_small", variant, url=f"http://127.0.0.1:9/{entry.file}"
        )
    with pytest.raises(WeightsUnavailableError) as info:
        load_base(_config(base="mobilenet_v3_small"), 32)
    assert "\n" not in str(info.value)
    assert "zoo weights import" in str(info.value)


@pytest.mark.slow
def test_finetune_a_run_directory_then_its_result(tmp_path, shapes_run):
    from recipes.data.shapes import write_folder

    photos = write_folder(tmp_path / "photos", num_classes=3, count_per_class=16, image_size=32)
    result = finetune(
        _config(
            data_dir=str(photos),
            base=str(shapes_run),
            head_epochs=1,
            epochs=1,
            unfreeze="1",
            output=str(tmp_path / "finetune"),
        )
    )
    assert [row["phase"] for row in result.history] == ["head", "finetune"]
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert result.history[1]["lr"] == pytest.approx(0.003 / 100)  # the default: lr / 100
    model = keras.saving.load_model(Path(result.run_dir) / "model.keras")
    base = nested_base(model)
    assert base.get_layer("conv5_block2_2_conv").trainable
    assert not base.get_layer("conv1_conv").trainable
    probabilities = model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0)
    assert probabilities.shape == (2, 3)

    # A fine-tuned run is a base too: its nested base gets the next new head.
    again = finetune(
        _config(
            data_dir=str(photos),
            base=result.run_dir,
            head_epochs=1,
            unfreeze="none",
            output=str(tmp_path / "again"),
        )
    )
    reloaded = keras.saving.load_model(Path(again.run_dir) / "model.keras")
    assert nested_base(reloaded).name == base.name
    assert reloaded.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0).shape == (1, 3)


def test_resume_in_phase_two_rebuilds_the_unfrozen_base(tmp_path, interrupted_after):
    from recipes.data.shapes import write_folder

    photos = write_folder(tmp_path / "photos", num_classes=3, count_per_class=8, image_size=32)
    settings = {
        "data_dir": str(photos),
        "base": "resnet18",
        "weights": "none",
        "head_epochs": 1,
        "epochs": 2,
        "unfreeze": "1",
        "output": str(tmp_path / "run"),
    }
    with interrupted_after(2):  # the first epoch of phase 2
        finetune(_config(**settings))
    result = finetune(_config(resume=True, **settings))
    assert [row["phase"] for row in result.history] == ["head", "finetune", "finetune"]
    assert [row["lr"] for row in result.history[1:]] == pytest.approx([0.003 / 100] * 2)
    base = nested_base(keras.saving.load_model(Path(result.run_dir) / "model.keras"))
    assert base.get_layer("conv5_block2_2_conv").trainable
    assert not base.get_layer("conv4_block2_2_conv").trainable


def test_weights_flag_with_a_file_base_is_refused(tmp_path):
    model_file = tmp_path / "m.keras"
    zoo.build_model("resnet18", classes=2, input_shape=(32, 32, 3)).save(model_file)
    with pytest.raises(UsageError, match="leave --weights out"):
        load_base(_config(base=str(model_file), weights="imagenet"), None)


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    bogus = tmp_path / "bogus.keras"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(UsageError):
        load_base(_config(base=str(bogus)), None)


def test_the_classes_come_from_the_data_and_the_run_is_named_after_it(tmp_path, monkeypatch):
    import re

    from recipes.data.shapes import write_folder

    faces = write_folder(tmp_path / "faces", num_classes=2, count_per_class=8, image_size=32)
    monkeypatch.chdir(tmp_path)
    config = _config(
        classes=None,  # as `zoo finetune` without --classes
        data_dir=str(faces),
        base="resnet18",
        weights="none",
        head_epochs=1,
        unfreeze="none",
    )
    result = finetune(config)
    run = Path(result.run_dir)
    assert run.parent == Path("runs")
    assert re.fullmatch(r"faces-\d{8}-\d{6}", run.name), run.name  # not resnet18-...
    assert len(result.class_names) == 2
    model = keras.saving.load_model(run / "model.keras")
    assert model.output_shape == (None, 2)
