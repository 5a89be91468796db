"""tf.distribute: MirroredStrategy on two logical CPUs (machines: test_multihost_loopback)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

TRAIN = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    if {logical_cpus} > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * {logical_cpus})
    from recipes.config import resolve_config
    from recipes.training.train import train
    config = resolve_config({{
        "task": "train", "arch": "lenet5", "classes": 3, "image_size": 32, "epochs": 1,
        "batch_size": 16, "precision": "fp32", "optimizer": "adam", "lr": 0.003,
        "strategy": "{strategy}", "output": sys.argv[1]}})
    result = train(config)
    print(json.dumps({{"replicas": result.replicas, "strategy": result.strategy,
                      "run_dir": result.run_dir, "epochs": result.epochs}}))
    """
)


def _env(**extra):
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def _last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_mirrored_strategy_trains_on_two_logical_cpus(tmp_path):
    script = TRAIN.format(logical_cpus=2, strategy="mirrored")
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = _last_json(out.stdout)
    assert (result["strategy"], result["replicas"], result["epochs"]) == ("mirrored", 2, 1)
    assert (tmp_path / "run" / "model.keras").is_file()
