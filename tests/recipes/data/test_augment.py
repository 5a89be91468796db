"""Augmentation policies: presets, overrides, and `auto` choosing by input size."""

import pytest

from recipes.config.schema import AugmentSettings
from recipes.data.augment import PRESETS, SMALL_INPUT, preset_name, resolve_policy


@pytest.mark.parametrize(
    ("size", "chosen"),
    [(32, "light"), ((64, 48), "light"), (SMALL_INPUT + 1, "standard"), ((32, 224), "standard")],
)
def test_auto_is_light_on_small_inputs_and_standard_above(size, chosen):
    assert preset_name("auto", size) == chosen
    assert resolve_policy(AugmentSettings(augment="auto"), size) == PRESETS[chosen]


def test_a_named_preset_does_not_depend_on_the_size():
    assert preset_name("strong", 32) == "strong"
    assert resolve_policy(AugmentSettings(augment="standard"), 32) == PRESETS["standard"]


def test_switches_override_the_preset_auto_picked():
    policy = resolve_policy(AugmentSettings(augment="auto", flip=False, zoom=0.3), 32)
    assert (policy.flip, policy.translation, policy.zoom) == (False, 0.1, 0.3)
    assert resolve_policy(None, 32) == PRESETS["none"]
