"""RunConfig: defaults < preset < file < flags, flat or in sections, fingerprints."""

import hashlib
import json

import pytest

from recipes.config import RunConfig, load_preset, resolve_config
from recipes.config.schema import ModelSettings, RunSettings
from zoo.errors import UsageError


def test_precedence_defaults_preset_file_flags():
    config = resolve_config(
        load_preset("resnet"),
        {"lr": 0.05, "epochs": 3},
        {"epochs": 2},
        {"task": "train", "arch": "resnet18"},
    )
    assert config.optim.optimizer == "momentum"  # preset
    assert config.optim.lr == 0.05  # file over preset
    assert config.optim.epochs == 2  # flag over file
    assert config.optim.weight_decay == 0.0001  # the paper's, not a lecture's rounding


def test_flat_and_sectioned_layers_mean_the_same():
    flat = resolve_config({"arch": "resnet18", "lr": 0.01, "augment": "light"})
    sectioned = resolve_config(
        {"model": {"arch": "resnet18"}, "optim": {"lr": 0.01}, "augmentation": {"augment": "light"}}
    )
    assert flat == sectioned
    assert resolve_config(flat.to_dict()) == flat  # what config.yaml holds reads back


@pytest.mark.parametrize("name", ["alexnet", "vgg", "googlenet", "resnet", "modern", "finetune"])
def test_every_preset_resolves_and_names_its_source(name):
    settings = load_preset(name)
    assert settings["preset_source"]
    resolve_config(settings, {"task": "finetune", "base": "resnet50", "classes": 3})


def test_alexnet_preset_follows_the_paper():
    config = resolve_config(load_preset("alexnet"), {"arch": "alexnet"})
    optim = config.optim
    assert (optim.optimizer, optim.momentum, optim.weight_decay) == ("momentum", 0.9, 0.0005)
    assert (optim.batch_size, optim.lr, optim.schedule) == (128, 0.01, "plateau")
    assert config.model.dropout == 0.5


def test_unknown_setting_suggests():
    with pytest.raises(UsageError, match="Did you mean: epochs"):
        resolve_config({"epoch": 3, "arch": "resnet18"})


def test_a_section_must_hold_settings():
    with pytest.raises(UsageError, match="Section optim"):
        resolve_config({"arch": "resnet18", "optim": 3})


def test_numbers_written_as_text_are_numbers():
    config = resolve_config({"arch": "resnet18", "lr": "1e-3", "epochs": "4", "image_size": 64.0})
    assert (config.optim.lr, config.optim.epochs, config.model.image_size) == (0.001, 4, 64)


def test_an_older_flat_config_still_reads():
    config = resolve_config({"arch": "resnet18", "tfds_data_dir": "/data/tfds", "fingerprint": "x"})
    assert config.data.tfds_dir == "/data/tfds"


def test_fingerprint_ignores_output_resume_and_what_is_kept():
    def config(**run):
        return RunConfig(model=ModelSettings(arch="resnet18"), run=RunSettings(**run))

    assert config(output="x").fingerprint() == config(output="y", resume=True).fingerprint()
    assert config().fingerprint() == config(keep_checkpoints="none").fingerprint()
    assert config().fingerprint() != config(seed=1).fingerprint()


def test_deterministic_counts_in_the_fingerprint_only_when_on():
    def config(**run):
        return RunConfig(model=ModelSettings(arch="resnet18"), run=RunSettings(**run))

    # A run started before the setting existed hashed its settings without it: it still resumes.
    unhashed = {"output", "resume", "preset_source", "keep_checkpoints", "cluster_timeout"}
    older = {
        key: value
        for key, value in config().flat().items()
        if key != "deterministic" and key not in unhashed
    }
    encoded = json.dumps(older, sort_keys=True, default=str).encode()
    assert hashlib.sha256(encoded).hexdigest()[:16] == config(deterministic=False).fingerprint()
    assert config(deterministic=True).fingerprint() != config().fingerprint()


def test_replace_checks_the_change():
    config = resolve_config({"arch": "resnet18"})
    assert config.replace(lr=0.1).optim.lr == 0.1
    with pytest.raises(UsageError, match="lr must be above 0"):
        config.replace(lr=-1)


def test_flat_and_get():
    config = resolve_config({"arch": "resnet18", "seed": 3})
    assert config.get("seed") == 3 == config.flat()["seed"]
    assert config.flat()["task"] == "train"
