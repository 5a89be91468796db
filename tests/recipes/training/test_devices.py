import os
import subprocess
import sys
import textwrap

import pytest

from recipes.training import devices
from zoo.errors import UsageError


def test_auto_precision_follows_the_cpu():
    expected = "bf16" if devices.cpu_supports_bf16() else "fp32"
    assert devices.resolve_precision("auto") == expected


def test_explicit_precision_is_kept_and_fp16_needs_a_gpu():
    assert devices.resolve_precision("fp32") == "fp32"
    assert devices.resolve_precision("bf16") == "bf16"
    with pytest.raises(UsageError, match="fp16 needs a GPU"):
        devices.resolve_precision("fp16")


def test_jit_auto_is_off_on_cpu():
    assert devices.resolve_jit("auto") is False
    assert devices.resolve_jit("on") is True


def test_default_strategy_on_one_device():
    strategy, name = devices.make_strategy("auto")
    assert name == "default"
    assert strategy.num_replicas_in_sync == 1


def test_mirrored_strategy_on_two_logical_cpus():
    script = textwrap.dedent(
        """
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from recipes.training.devices import make_strategy
        strategy, name = make_strategy("mirrored")
        print(name, strategy.num_replicas_in_sync)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["mirrored", "2"]
