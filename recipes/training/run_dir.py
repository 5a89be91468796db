"""The run directory one training process opens, records its data into, resumes from, closes.

Only a multi-worker cluster's chief writes the run directory; the other
workers write to a scratch directory of their own, removed when they close it.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile

import keras

from recipes.config import RunConfig
from recipes.data import DataBundle
from recipes.layout import RunLayout
from recipes.training.devices import DeviceSetup
from zoo.errors import UsageError
from zoo.fast_layers import keras_layers


def open_run(config: RunConfig, default_name: str, setup: DeviceSetup) -> RunLayout:
    """Creates (or reopens, with `--resume`) the run directory this process writes.

    The non-chief workers of a multi-worker cluster train in step with the
    chief but write their checkpoints to a scratch directory, so that only the
    chief writes the run directory.

    Args:
        config: The run configuration (`run.output`, `run.resume`).
        default_name: Stem of a generated directory name.
        setup: The devices (chief or not).

    Returns:
        The locked run directory.

    Raises:
        UsageError: See `RunLayout.create` and `RunLayout.reopen`.
    """
    if not setup.is_chief:
        if config.run.resume:
            raise UsageError(
                "--resume is not supported with --strategy multiworker; start the run again."
            )
        scratch = tempfile.mkdtemp(prefix="zoo-worker-")
        run_settings = dataclasses.replace(config.run, output=scratch)
        return RunLayout.create(dataclasses.replace(config, run=run_settings), default_name)
    if config.run.resume:
        return RunLayout.reopen(config)
    return RunLayout.create(config, default_name)


def close_run(run: RunLayout, setup: DeviceSetup) -> None:
    """Releases the run directory; a non-chief worker's scratch copy is removed too."""
    run.unlock()
    if not setup.is_chief:  # only the chief's run directory stays
        shutil.rmtree(run.path, ignore_errors=True)


def record_data(run: RunLayout, data: DataBundle) -> None:
    """Writes `class_names.json` and `data.json` (counts, skipped files) into the run."""
    run.write_class_names(data.class_names)
    run.write_json(RunLayout.DATA, data.summary())


def restore_checkpoint(model: keras.Model, run: RunLayout) -> int:
    """Loads `last.keras` into a freshly built and compiled model, optimizer state included.

    The model and optimizer are built by the same code as in the interrupted
    run, so everything the checkpoint does not store (weight-decay exclusions,
    frozen layers) is as it was.

    Args:
        model: The compiled model, built under the strategy's scope.
        run: The reopened run directory.

    Returns:
        The number of epochs the checkpoint completed.
    """
    model.optimizer.build(model.trainable_variables)
    with keras_layers(model):  # as `RunLayout.save_model` saved it
        model.load_weights(run.file(RunLayout.LAST))
    return int(run.state()["epochs_done"])
