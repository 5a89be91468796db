"""`zoo train --overfit N`: a sound model learns a few images by heart; bad counts are refused."""

import pytest

from recipes.babysit.overfit import PASS_LOSS, overfit_check, unregularised
from recipes.config import load_preset, resolve_config
from zoo.errors import UsageError


def config(tmp_path, **settings):
    return resolve_config(
        load_preset("modern"),
        {
            "task": "train",
            "arch": "lenet5",
            "classes": 3,
            "image_size": 32,
            "shapes_per_class": 8,
            "precision": "fp32",
            "lr": 0.003,
            "output": str(tmp_path / "run"),
            **settings,
        },
    )


def test_a_few_images_are_learned_by_heart_and_nothing_is_written(tmp_path):
    result = overfit_check(config(tmp_path), 8)
    assert result.passed, result.verdict()
    assert result.final_loss <= PASS_LOSS < result.initial_loss
    assert result.accuracy == 1.0 and result.train_accuracy == 1.0
    # Each loss beside the accuracy measured the same way (training mode, inference mode).
    verdict = result.verdict()
    assert verdict.startswith("PASS: 8 images")
    assert f"accuracy {result.train_accuracy:.1%}; in inference mode" in verdict
    assert f"loss {result.eval_loss:.4f} and accuracy {result.accuracy:.1%}" in verdict
    assert result.settings["label_smoothing"] == 0.0 and result.settings["weight_decay"] == 0.0
    assert not (tmp_path / "run").exists()


def test_every_regulariser_is_off():
    changed = unregularised(
        resolve_config(load_preset("alexnet"), {"task": "train", "arch": "alexnet", "mixup": 0.2})
    )
    assert changed.model.dropout == 0.0
    assert changed.optim.weight_decay == 0.0 and changed.optim.schedule == "constant"
    assert changed.augmentation.augment == "none" and not changed.augmentation.mixup


@pytest.mark.parametrize("images", [0, 10_000])
def test_impossible_counts_are_refused(tmp_path, images):
    with pytest.raises(UsageError, match="--overfit"):
        overfit_check(config(tmp_path), images)
