"""Fine-tuning: the methods and their phases, what gets unfrozen, bases of every kind, errors."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from recipes.config import resolve_config
from recipes.training.bases import load_base
from recipes.training.finetune import (
    build_finetune_model,
    finetune,
    nested_base,
    prepare_finetune,
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
    from tests.trained_runs import OTHER_SHAPES

    photos = write_folder(tmp_path / "photos", OTHER_SHAPES, count_per_class=16, image_size=32)
    result = finetune(
        _config(
            data_dir=str(photos),
            base=str(shapes_run),
            method="full",
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
    others = write_folder(tmp_path / "others", num_classes=2, count_per_class=16, image_size=32)
    again = finetune(
        _config(
            data_dir=str(others),
            base=result.run_dir,
            method="probe",
            classes=2,
            output=str(tmp_path / "again"),
        )
    )
    assert again.history == []  # a probe is fitted, not trained for epochs
    reloaded = keras.saving.load_model(Path(again.run_dir) / "model.keras")
    assert nested_base(reloaded).name == base.name
    assert reloaded.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0).shape == (1, 2)
    assert again.metrics["val_accuracy"] == pytest.approx(
        again.metrics["probe_val_accuracy"], abs=0.07
    )


def test_resume_in_phase_two_rebuilds_the_unfrozen_base(tmp_path, interrupted_after):
    from recipes.data.shapes import write_folder

    photos = write_folder(tmp_path / "photos", num_classes=3, count_per_class=8, image_size=32)
    settings = {
        "data_dir": str(photos),
        "base": "resnet18",
        "weights": "none",
        "method": "full",
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
        method="probe",
    )
    result = finetune(config)
    run = Path(result.run_dir)
    assert run.parent == Path("runs")
    assert re.fullmatch(r"faces-\d{8}-\d{6}", run.name), run.name  # not resnet18-...
    assert len(result.class_names) == 2
    model = keras.saving.load_model(run / "model.keras")
    assert model.output_shape == (None, 2)


@pytest.mark.slow
def test_lp_ft_starts_from_a_fitted_head_and_never_ends_below_its_probe(tmp_path, shapes_run):
    from recipes.data.shapes import write_folder
    from tests.trained_runs import OTHER_SHAPES

    photos = write_folder(tmp_path / "photos", OTHER_SHAPES, count_per_class=15, image_size=32)
    notes = []
    result = finetune(
        _config(data_dir=str(photos), base=str(shapes_run), epochs=2, output=str(tmp_path / "r")),
        on_note=notes.append,
    )
    metrics = result.metrics
    assert [row["phase"] for row in result.history] == ["finetune", "finetune"]
    assert result.history[0]["lr"] == pytest.approx(0.003 / 10)  # lp-ft: lr / 10
    for key in ("probe_val_accuracy", "knn_val_accuracy", "probe_strength", "probe_seconds"):
        assert key in metrics, key
    assert metrics["val_accuracy"] >= metrics["probe_val_accuracy"] - 5e-5  # recorded to 4 places
    # A fitted head starts below ln(C) by design: no warning blames the user's data for it.
    sanity = json.loads(Path(result.run_dir, "sanity.json").read_text())
    assert sanity["fitted_head"] is True
    assert not [line for line in notes if "preprocessing" in line or "leak" in line]
    saved = Path(result.run_dir, "metrics.json").read_text()
    assert "probe_val_accuracy" in saved


def test_a_head_trained_from_zero_starts_at_ln_c(tmp_path):
    from recipes.data.shapes import write_folder

    photos = write_folder(tmp_path / "photos", num_classes=3, count_per_class=8, image_size=32)
    config = _config(data_dir=str(photos), base="resnet18", weights="none", method="full")
    prepared = prepare_finetune(config)
    images = np.zeros((4, 32, 32, 3), "float32")
    np.testing.assert_allclose(prepared.model(images), np.full((4, 3), 1 / 3), atol=1e-6)
    assert prepared.model.get_layer("head_dropout").rate == 0.2
    assert [phase.name for phase in prepared.phases] == ["head", "finetune"]


def test_epochs_0_is_the_probe_alone(tmp_path):
    from recipes.data.shapes import write_folder

    photos = write_folder(tmp_path / "photos", num_classes=2, count_per_class=8, image_size=32)
    prepared = prepare_finetune(
        _config(
            data_dir=str(photos), base="resnet18", weights="none", epochs=0, classes=2, lr="auto"
        )
    )
    assert prepared.phases == [] and prepared.epochs == 0
    from recipes.training.summary import run_summary

    summary = "\n".join(run_summary(prepared))  # --lr auto: no rate to pick, none to print
    assert "no training after the probe" in summary and "linear probe" in summary
    assert prepared.fitted_head and "probe_val_accuracy" in prepared.facts
    assert prepared.model.get_layer("head_dropout").rate == 0.0
    assert np.abs(prepared.model.get_layer("head_logits").get_weights()[0]).sum() > 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "lpft"}, "lp-ft"),
        ({"epochs": -1}, "epochs"),
    ],
)
def test_bad_methods_and_epochs_are_refused(settings, message):
    with pytest.raises(UsageError, match=message):
        _config(base="resnet18", **settings)


def test_train_needs_an_epoch():
    with pytest.raises(UsageError, match="at least one epoch"):
        resolve_config({"arch": "lenet5", "classes": 3, "epochs": 0})


def test_too_few_images_are_refused_before_anything_is_written(tmp_path):
    from recipes.data.shapes import write_folder

    photos = write_folder(tmp_path / "photos", num_classes=3, count_per_class=1, image_size=32)
    output = tmp_path / "run"
    with pytest.raises(UsageError, match="only 1 usable image"):
        finetune(_config(data_dir=str(photos), base="resnet18", weights="none", output=str(output)))
    assert not output.exists()


def test_fewer_training_images_than_classes_are_refused():
    from recipes.data import DataBundle
    from recipes.training.bases import Base
    from recipes.training.finetune import _check_task

    counts = {"train": {"a": 1, "b": 1, "c": 0}}
    data = DataBundle(None, None, None, ["a", "b", "c"], counts, [], [], "folder photos")
    base = Base(keras.Sequential(), "resnet18", None, 32, 3)
    with pytest.raises(UsageError, match="2 images for 3 classes"):
        _check_task(_config(base="resnet18"), base, data)


@pytest.mark.slow
def test_a_base_already_trained_on_the_classes_is_refused(tmp_path, shapes_run):
    output = tmp_path / "run"
    with pytest.raises(UsageError, match="already trained on these 3 classes"):
        finetune(_config(base=str(shapes_run), shapes_per_class=12, output=str(output)))
    assert not output.exists()


@pytest.mark.slow
def test_an_applications_base_with_a_weights_file_gets_a_fitted_head(tmp_path):
    # ImageNet files cannot be fetched here: the base learns first on shapes the test makes.
    import keras

    from recipes.data.shapes import write_folder
    from tests.trained_runs import OTHER_SHAPES, SHAPES_CLASSES

    known = write_folder(tmp_path / "known", SHAPES_CLASSES, count_per_class=16, image_size=32)
    base = zoo.build_model("mobilenet_v3_small", include_top=False, input_shape=(32, 32, 3))
    head = keras.layers.Dense(3, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(base.output)
    )
    pretraining = keras.Model(base.input, head)
    pretraining.compile("adam", "categorical_crossentropy")
    images = keras.utils.image_dataset_from_directory(
        known, image_size=(32, 32), batch_size=16, label_mode="categorical", verbose=False
    )
    pretraining.fit(images, epochs=1, verbose=0)
    weights = tmp_path / "pretrained.weights.h5"
    base.save_weights(weights)

    photos = write_folder(tmp_path / "photos", OTHER_SHAPES, count_per_class=10, image_size=32)
    result = finetune(
        _config(
            data_dir=str(photos),
            base="mobilenet_v3_small",
            weights=str(weights),
            epochs=1,
            output=str(tmp_path / "run"),
        )
    )
    assert [row["phase"] for row in result.history] == ["finetune"]
    assert result.metrics["val_accuracy"] >= result.metrics["probe_val_accuracy"] - 5e-5
    model = keras.saving.load_model(Path(result.run_dir) / "model.keras")
    assert nested_base(model).count_params() == base.count_params()
