"""`--deterministic`: two runs of one configuration are bit-identical; `--seed` alone is not."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from recipes.config import load_preset, resolve_config
from recipes.config.schema import RunSettings
from recipes.run.trained import load_trained
from recipes.serving.evaluate import evaluate
from recipes.training.seeding import seed_run
from recipes.training.train import train


@pytest.fixture
def op_determinism_restored():
    """Leaves TensorFlow's op determinism as it was, for the tests that follow."""
    from tensorflow.python.framework import config as tf_config

    before = tf_config.is_op_determinism_enabled()
    yield tf_config
    if before:
        tf_config.enable_op_determinism()
    else:
        tf_config.disable_op_determinism()


def _run(output: Path, **settings) -> Path:
    config = resolve_config(
        load_preset("modern"),  # label smoothing, warm-up and cosine
        {
            "task": "train",
            "arch": "lenet5",
            "classes": 3,
            "image_size": 32,
            "epochs": 2,
            "batch_size": 8,
            "shapes_per_class": 12,
            "precision": "fp32",
            "augment": "standard",  # every random layer but RandAugment
            "mixup": 0.2,
            "cutmix": 1.0,
            "output": str(output),
            **settings,
        },
    )
    return Path(train(config).run_dir)


def _history(run: Path) -> list[dict[str, str]]:
    with (run / "history.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: v for k, v in row.items() if k not in ("seconds", "finished")} for row in rows]


def test_two_deterministic_runs_give_identical_history_and_weights(
    tmp_path, op_determinism_restored
):
    first = _run(tmp_path / "first", deterministic=True, seed=5)
    second = _run(tmp_path / "second", deterministic=True, seed=5)
    assert _history(first) == _history(second)
    assert len(_history(first)) == 2 and "val_cross_entropy" in _history(first)[0]
    weights = [load_trained(run).model.get_weights() for run in (first, second)]
    assert len(weights[0]) == len(weights[1]) > 0
    for one, other in zip(*weights, strict=True):
        assert np.array_equal(one, other)
    # config.yaml keeps the setting, so `--config` and `--resume` see it.
    saved = yaml.safe_load((first / "config.yaml").read_text())
    assert saved["run"]["deterministic"] is True
    assert op_determinism_restored.is_op_determinism_enabled()
    # zoo evaluate's loss is metrics.json's plain cross-entropy, not the smoothed objective.
    metrics = json.loads((first / "metrics.json").read_text())
    report = evaluate(first)
    assert report["loss"] == pytest.approx(metrics["test_cross_entropy"], rel=1e-3)
    assert metrics["test_loss"] != pytest.approx(metrics["test_cross_entropy"], rel=1e-3)


def test_a_run_without_it_turns_op_determinism_off_again(op_determinism_restored):
    seed_run(RunSettings(seed=1, deterministic=True))
    assert op_determinism_restored.is_op_determinism_enabled()
    seed_run(RunSettings(seed=1))
    assert not op_determinism_restored.is_op_determinism_enabled()


def test_the_seed_alone_seeds_python_numpy_and_tensorflow():
    import random

    import tensorflow as tf

    drawn = []
    for _ in range(2):
        seed_run(RunSettings(seed=7))
        drawn.append((random.random(), np.random.rand(), float(tf.random.uniform(()))))
    assert drawn[0] == drawn[1]
