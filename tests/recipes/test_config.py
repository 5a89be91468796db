import pytest

from recipes.config import (
    RunConfig,
    list_presets,
    load_config_file,
    load_preset,
    parse_unfreeze,
    resolve_config,
)
from zoo.errors import UnknownNameError, UsageError


def test_precedence_defaults_preset_file_flags():
    config = resolve_config(
        load_preset("resnet"),
        {"lr": 0.05, "epochs": 3},
        {"epochs": 2},
        {"task": "train", "arch": "resnet18"},
    )
    assert config.optimizer == "momentum"  # preset
    assert config.lr == 0.05  # file over preset
    assert config.epochs == 2  # flag over file
    assert config.weight_decay == 0.0001  # the paper's, not a lecture's rounding


@pytest.mark.parametrize("name", ["alexnet", "vgg", "googlenet", "resnet", "modern", "finetune"])
def test_every_preset_resolves_and_names_its_source(name):
    settings = load_preset(name)
    assert settings["preset_source"]
    resolve_config(settings, {"task": "finetune", "base": "resnet50", "classes": 3})


def test_alexnet_preset_follows_the_paper():
    config = resolve_config(load_preset("alexnet"), {"arch": "alexnet"})
    assert (config.optimizer, config.momentum, config.weight_decay) == ("momentum", 0.9, 0.0005)
    assert (config.batch_size, config.lr, config.schedule, config.dropout) == (
        128,
        0.01,
        "plateau",
        0.5,
    )


def test_presets_are_listed():
    assert {"alexnet", "vgg", "googlenet", "resnet", "modern"} <= set(list_presets())


def test_unknown_preset_suggests():
    with pytest.raises(UnknownNameError, match="resnet"):
        load_preset("resnt")


def test_unknown_setting_suggests():
    with pytest.raises(UsageError, match="'epochs'"):
        resolve_config({"epoch": 3, "arch": "resnet18"})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"optimizer": "adamax"}, "optimizer must be one of"),
        ({"lr": 0}, "lr must be positive"),
        ({"label_smoothing": 1.5}, "label_smoothing"),
        ({"data_dir": "a", "dataset": "b"}, "not both"),
        ({"unfreeze": "some"}, "unfreeze"),
        ({"epochs": 1.5}, "epochs must be an integer"),
        ({"batch_size": True}, "batch_size must be an integer"),
        ({"image_size": "64"}, "image_size must be an integer"),
        ({"momentum": 1.0}, "momentum must be below 1"),
        ({"lr": 0.001, "finetune_lr": 0.01}, "finetune_lr must not exceed lr"),
    ],
)
def test_bad_values(settings, message):
    with pytest.raises(UsageError, match=message):
        resolve_config({"arch": "resnet18", **settings})


def test_train_needs_arch_and_finetune_needs_base_and_classes():
    with pytest.raises(UsageError, match="--arch"):
        resolve_config({"task": "train"})
    with pytest.raises(UsageError, match="--classes"):
        resolve_config({"task": "finetune", "base": "resnet50"})


def test_fingerprint_ignores_output_and_resume():
    a = RunConfig(arch="resnet18", output="x")
    b = RunConfig(arch="resnet18", output="y", resume=True)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != RunConfig(arch="resnet18", lr=0.1).fingerprint()


def test_config_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 4\noptimizer: sgd\n")
    assert load_config_file(str(path)) == {"epochs": 4, "optimizer": "sgd"}
    path.write_text("- not a mapping\n")
    with pytest.raises(UsageError, match="mapping"):
        load_config_file(str(path))
    with pytest.raises(UsageError, match="not found"):
        load_config_file(str(tmp_path / "missing.yaml"))


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
