"""The schema: every setting declared once, with help, a type and where it is offered."""

import subprocess
import sys

from recipes.config.schema import SECTIONS, SETTINGS, offered_to


def test_every_setting_has_help_and_a_known_type():
    for item in SETTINGS.values():
        assert item.help.strip(), item.name
        assert item.kind in (int, float, bool, str, dict), item.name
        assert item.section in SECTIONS


def test_names_are_unique_and_no_setting_names_a_section():
    assert not set(SETTINGS) & set(SECTIONS)


def test_train_and_finetune_offer_their_own_model_settings():
    train = {item.name for item in offered_to("train")}
    finetune = {item.name for item in offered_to("finetune")}
    assert {"arch", "arch_options"} <= train - finetune
    assert {"base", "weights", "head_epochs", "unfreeze", "finetune_lr"} <= finetune - train
    assert "preset_source" not in train | finetune
    assert "keep_checkpoints" in train & finetune
    assert "keep_checkpoints" not in {item.name for item in offered_to("search")}


def test_the_schema_imports_no_tensorflow():
    script = "import sys, recipes.config; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
