"""Checks against the schema: types, choices, ranges, and the rules between settings."""

import pytest

from recipes.config import check_section, parse_unfreeze, resolve_config
from recipes.config.schema import DataSettings
from zoo.errors import UsageError


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"optimizer": "adamax"}, "optimizer must be one of .*Did you mean: adam"),
        ({"lr": 0}, r"lr must be above 0\. Received: lr=0"),
        ({"label_smoothing": 1.5}, r"label_smoothing must be in \[0, 1\)"),
        ({"data_dir": "a", "dataset": "b"}, "not both"),
        ({"unfreeze": "some"}, "unfreeze"),
        ({"epochs": 1.5}, "epochs must be an integer"),
        ({"batch_size": True}, "batch_size must be an integer"),
        ({"image_size": "sixty"}, "image_size must be an integer"),
        ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
        ({"lr": 0.001, "finetune_lr": 0.01}, "finetune_lr must not exceed lr"),
        ({"classes": 1}, "classes must be at least 2"),
        ({"lr": "nan"}, "lr must be a finite number"),
        ({"cache": "memroy"}, "Did you mean: memory"),
        ({"val_split": 1.0}, r"val_split must be in \[0, 1\)"),
        ({"arch_options": "lrn"}, "arch_options must be a mapping"),
    ],
)
def test_bad_values(settings, message):
    with pytest.raises(UsageError, match=message):
        resolve_config({"arch": "resnet18", **settings})


def test_no_validation_split_is_allowed():
    assert resolve_config({"arch": "resnet18", "val_split": 0}).data.val_split == 0.0


def test_a_cache_path_is_not_a_typo():
    for cache in ("none", "memory", "./cache/", "/tmp/zoo-cache", "cache.d"):
        assert resolve_config({"arch": "resnet18", "cache": cache}).data.cache == cache


def test_long_values_are_cut_in_messages():
    with pytest.raises(UsageError) as info:
        resolve_config({"arch": "resnet18", "optimizer": "x" * 100_000})
    assert len(str(info.value)) < 400


def test_train_needs_arch_and_finetune_needs_base_and_classes_or_data():
    with pytest.raises(UsageError, match="--arch"):
        resolve_config({"task": "train"})
    with pytest.raises(UsageError, match="--classes N, or --data DIR or --dataset NAME"):
        resolve_config({"task": "finetune", "base": "resnet50"})
    for data in ({"data_dir": "photos"}, {"dataset": "tf_flowers"}):  # classes read from it
        assert (
            resolve_config({"task": "finetune", "base": "resnet50", **data}).model.classes is None
        )


def test_a_section_given_by_a_caller_is_checked():
    with pytest.raises(UsageError, match="interpolation must be one of"):
        check_section(DataSettings(interpolation="cubic"))


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("all", ("all", 0)),
        ("none", ("none", 0)),
        ("2", ("blocks", 2)),
        ("30layers", ("layers", 30)),
        ("0", ("none", 0)),
    ],
)
def test_parse_unfreeze(text, parsed):
    assert parse_unfreeze(text) == parsed


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epochs": -(10**5000)}, "epochs must be at least 0"),  # too long for str()
        ({"lr": 10**400}, "lr must be a finite number"),  # no float holds it
        ({"momentum": -(10**5000)}, "momentum must be"),
        ({"dropout": list(range(1_000_000))}, "dropout must be a number"),
        ({"unfreeze": "x" * 1_000_000}, "unfreeze must be"),
    ],
)
def test_huge_values_make_short_messages(settings, message):
    with pytest.raises(UsageError, match=message) as info:
        resolve_config({"arch": "resnet18", **settings})
    assert len(str(info.value)) < 400
