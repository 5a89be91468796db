"""What training from scratch and fine-tuning share: data, compile, fit, finish.

`train.py` and `finetune.py` each describe their model and phases; this
module runs a phase with the run directory's callbacks and writes the final
model and metrics.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import keras

from recipes.callbacks import (
    MONITOR,
    EpochLine,
    LinearWarmup,
    ResumableEarlyStopping,
    ResumablePlateau,
    RunRecorder,
    StopOnNaN,
)
from recipes.config import RunConfig
from recipes.data import DataBundle, DataConfig, load_data
from recipes.devices import DeviceSetup
from recipes.optim import learning_rate, make_optimizer, warmup_steps
from recipes.runs import STATE_FILE, RunDirectory
from zoo.errors import UsageError, ZooError

# The run settings the data pipeline takes as they are (same names in both).
_DATA_SETTINGS = sorted(
    {f.name for f in dataclasses.fields(DataConfig)}
    & {f.name for f in dataclasses.fields(RunConfig)}
    - {"image_size"}  # a side in RunConfig, (height, width) in DataConfig
)


class TrainingDiverged(ZooError):
    """The loss became NaN or infinite."""


@dataclass
class RunResult:
    """What a finished run reports (the CLI prints it, `--json` as is)."""

    run_dir: str
    epochs: int
    seconds: float
    history: list[dict[str, Any]]
    metrics: dict[str, float]
    class_names: list[str]
    precision: str
    strategy: str
    replicas: int
    skipped_files: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data."""
        return dict(self.__dict__)


def load_run_data(
    config: RunConfig, image_size: int, channels: int, classes: int | None
) -> DataBundle:
    """Loads the configured data source at the model's input size.

    Args:
        config: The run configuration (source, split, augmentation, batch).
        image_size: Square input side of the model.
        channels: Input channels of the model.
        classes: Classes the model must have, when fixed (fine-tuning), or the
            size of the built-in set when no data is given.

    Returns:
        The train/validation/test pipelines and the class names.

    Raises:
        UsageError: The data's class count does not match `classes`.
    """
    settings = {name: getattr(config, name) for name in _DATA_SETTINGS}
    data = load_data(
        DataConfig(
            **settings,
            image_size=(image_size, image_size),
            channels=channels,
            num_classes=classes,
        )
    )
    if classes is not None and len(data.class_names) != classes:
        found = len(data.class_names)
        shown = ", ".join(data.class_names[:5]) + (", ..." if found > 5 else "")
        raise UsageError(
            f"--classes {classes} does not match the data, which has {found} classes "
            f"({shown}); pass --classes {found}."
        )
    return data


def open_run(config: RunConfig, default_name: str, setup: DeviceSetup) -> RunDirectory:
    """Creates (or reopens, with `--resume`) the run directory this process writes.

    The non-chief workers of a multi-worker cluster train in step with the
    chief but write their checkpoints to a scratch directory, so that only the
    chief writes the run directory.

    Args:
        config: The run configuration (`output`, `resume`).
        default_name: Stem of a generated directory name.
        setup: The devices (chief or not).

    Returns:
        The locked run directory.

    Raises:
        UsageError: See `RunDirectory.create` and `RunDirectory.reopen`.
    """
    if not setup.is_chief:
        if config.resume:
            raise UsageError(
                "--resume is not supported with --strategy multiworker; start the run again."
            )
        scratch = tempfile.mkdtemp(prefix="zoo-worker-")
        return RunDirectory.create(dataclasses.replace(config, output=scratch), default_name)
    if config.resume:
        return RunDirectory.reopen(config)
    return RunDirectory.create(config, default_name)


def record_data(run: RunDirectory, data: DataBundle) -> None:
    """Writes `class_names.json` and `data.json` (counts, skipped files) into the run."""
    run.write_json("class_names.json", list(data.class_names))
    run.write_json("data.json", data.summary())


def restore_checkpoint(model: keras.Model, run: RunDirectory) -> int:
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
    model.load_weights(run.file("last.keras"))
    return int(run.read_json(STATE_FILE)["epochs_done"])


def steps_per_epoch(data: DataBundle, batch_size: int) -> int:
    """Optimizer steps in one pass over the training split."""
    images = sum(data.counts["train"].values())
    return max(1, math.ceil(images / batch_size))


def compile_model(
    model: keras.Model,
    config: RunConfig,
    setup: DeviceSetup,
    lr: float,
    steps: int,
    epochs: int,
    num_classes: int,
) -> LinearWarmup | None:
    """Compiles with the configured optimizer, schedule, loss and metrics.

    Labels are one-hot (MixUp and CutMix make soft labels), so the loss is
    categorical cross-entropy with optional label smoothing.

    Args:
        model: The model, built under the strategy's scope.
        config: The run configuration.
        setup: Devices (XLA switch).
        lr: Peak learning rate of this phase.
        steps: Optimizer steps per epoch.
        epochs: Epochs of this phase.
        num_classes: Number of classes (top-5 needs more than 5).

    Returns:
        The warm-up callback `fit_phase` needs for the plateau schedule, if any.
    """
    optimizer = make_optimizer(config, learning_rate(config, lr, steps, epochs))
    metrics: list[Any] = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    if num_classes > 5:
        metrics.append(keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy"))
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=metrics,
        jit_compile=setup.jit,
    )
    warmup = warmup_steps(config, steps, epochs)
    return LinearWarmup(lr, warmup) if config.schedule == "plateau" and warmup else None


def fit_phase(
    model: keras.Model,
    data: DataBundle,
    run: RunDirectory,
    config: RunConfig,
    *,
    phase: str,
    initial_epoch: int,
    epochs: int,
    warmup: LinearWarmup | None = None,
) -> None:
    """Trains from `initial_epoch` up to `epochs` (a global epoch count).

    Args:
        model: A compiled model.
        data: The pipelines.
        run: The run directory (checkpoints, history, TensorBoard logs).
        config: The run configuration (schedule and early stopping).
        phase: Name recorded in the history.
        initial_epoch: Epochs already done.
        epochs: Epoch count to reach.
        warmup: The phase's warm-up callback from `compile_model`.

    Raises:
        TrainingDiverged: The loss became NaN; names the last good checkpoint.
    """
    if initial_epoch >= epochs:
        return
    state = run.read_json(STATE_FILE) if run.file(STATE_FILE).is_file() else {}
    history = [row for row in run.history() if row.get("epoch", 0) <= initial_epoch]
    saved = state.get("callbacks", {}) if state.get("phase") == phase else {}
    resumable: dict[str, Any] = {}
    if config.schedule == "plateau":
        resumable["plateau"] = ResumablePlateau(
            monitor=MONITOR,
            mode="max",
            factor=0.1,
            patience=config.plateau_patience,
            state=saved.get("plateau"),
        )
    if config.early_stopping:
        resumable["early_stopping"] = ResumableEarlyStopping(
            monitor=MONITOR,
            mode="max",
            patience=config.early_stopping,
            state=saved.get("early_stopping"),
        )
    nan_guard = StopOnNaN()
    interactive = sys.stdout.isatty()
    callbacks: list[keras.callbacks.Callback] = [
        nan_guard,
        *([warmup] if warmup else []),
        *resumable.values(),
        keras.callbacks.TensorBoard(log_dir=str(run.file("logs")), write_graph=False),
        *([] if interactive else [EpochLine(epochs, phase)]),
        # Last: the checkpoint and state.json see what the others did this epoch.
        RunRecorder(run, phase, best=state.get("best"), history=history, resumable=resumable),
    ]
    try:
        model.fit(
            data.train,
            validation_data=data.val,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles
            verbose=1 if interactive else 0,
        )
    except ValueError as error:
        if "PerReplica" not in str(error):
            raise
        raise ZooError(
            f"Keras {keras.__version__} cannot run model.fit under this multi-worker strategy "
            "(keras-team/keras#20585: it reduces a distributed batch outside a replica context); "
            "use --strategy mirrored on one machine."
        ) from None
    if nan_guard.diverged_at is not None:
        epoch, batch = nan_guard.diverged_at
        done = run.read_json(STATE_FILE)["epochs_done"] if run.file(STATE_FILE).is_file() else 0
        checkpoint = (
            f"the last good checkpoint is {run.file('last.keras')} (epoch {done})"
            if done
            else "no epoch completed, so there is no checkpoint"
        )
        raise TrainingDiverged(
            f"Training diverged: the loss became NaN at epoch {epoch}, batch {batch}; "
            f"{checkpoint}. Lower --lr (or add --warmup-epochs) and start a new run "
            "with another --output."
        )


def finish_run(
    model: keras.Model,
    data: DataBundle,
    run: RunDirectory,
    setup: DeviceSetup,
    started: float,
) -> RunResult:
    """Evaluates the final model, writes `model.keras` and `metrics.json`.

    Args:
        model: The trained model.
        data: The pipelines (validation and, when present, test).
        run: The run directory.
        setup: The devices the run used.
        started: `time.perf_counter()` at the start of the run.

    Returns:
        The run's result.
    """
    metrics: dict[str, float] = {}
    splits = (("val", data.val), ("test", data.test))
    for split, dataset in splits:
        if dataset is None:
            continue
        scores = model.evaluate(dataset, verbose=0, return_dict=True)
        metrics.update({f"{split}_{name}": float(value) for name, value in scores.items()})
    # The final model carries no optimizer, so loading it needs no training code.
    run.save_model(keras.Model(model.inputs, model.outputs, name=model.name), "model.keras")
    history = run.history()
    result = RunResult(
        run_dir=str(run.path),
        epochs=len(history),
        seconds=round(time.perf_counter() - started, 2),
        history=history,
        metrics=metrics,
        class_names=list(data.class_names),
        precision=setup.precision,
        strategy=setup.strategy_name,
        replicas=setup.replicas,
        skipped_files=list(data.bad),
    )
    run.write_json("metrics.json", metrics)
    return result
