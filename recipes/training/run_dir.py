"""The run directory one training process opens, records its data into, resumes from, closes.

Only process 0 of a multi-host run writes the run directory; the others
write to a scratch directory of their own (every process must take part in
saving a model), removed when they close it. To resume, they copy process 0's
checkpoint into it: the run directory must be on a filesystem they all see.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile

import keras

from recipes.config import RunConfig
from recipes.data import DataBundle
from recipes.run.layout import RunLayout
from recipes.training.devices import DeviceSetup
from zoo.errors import UsageError
from zoo.fast_layers import keras_layers


def open_run(config: RunConfig, default_name: str, setup: DeviceSetup) -> RunLayout:
    """Creates (or reopens, with `--resume`) the run directory this process writes.

    The other processes of a multi-host run train in step with process 0 but
    write their checkpoints to a scratch directory, so that only process 0
    writes the run directory; resuming, they start from a copy of its
    checkpoint.

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
        scratch = tempfile.mkdtemp(prefix=f"zoo-process{setup.process_index}-")
        in_scratch = dataclasses.replace(
            config, run=dataclasses.replace(config.run, output=scratch)
        )
        if not config.run.resume:
            return RunLayout.create(in_scratch, default_name)
        _copy_checkpoint(config, scratch)
        return RunLayout.reopen(in_scratch)
    if config.run.resume:
        return RunLayout.reopen(config)
    return RunLayout.create(config, default_name)


def _copy_checkpoint(config: RunConfig, scratch: str) -> None:
    """Copies what `--resume` reads of a run (all but its lock and logs) into `scratch`."""
    source = RunLayout(config.run.output or ".")
    if not config.run.output or not source.file(RunLayout.CONFIG).is_file():
        raise UsageError(
            f"--resume needs --output RUN_DIR, the run directory process 0 wrote, on a "
            f"filesystem every process sees; {source.path} is not one."
        )
    shutil.copytree(
        source.path,
        scratch,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(RunLayout.LOCK, RunLayout.LOGS),
    )


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
