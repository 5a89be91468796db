"""The pieces of a run: its data, compile, one phase of `fit`, the finish.

The run directory a process opens, records into and resumes from is `run_dir`'s.

`recipes.training.runner` puts them together for training from scratch,
fine-tuning and the trials of a search.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras

from recipes.config import RunConfig
from recipes.data import DataBundle, Share, SourceData, load_data, make_bundle
from recipes.data.augment import resolve_policy
from recipes.run.curves import write_curves
from recipes.run.layout import RunLayout
from recipes.training.callbacks import (
    EpochLine,
    EpochRateTensorBoard,
    LinearWarmup,
    PaddedLossCorrection,
    PhaseProgbar,
    ResumableEarlyStopping,
    ResumablePlateau,
    RunRecorder,
    StopOnNaN,
    padding_factor,
)
from recipes.training.devices import DeviceSetup
from recipes.training.optim import learning_rate, make_optimizer, warmup_steps
from zoo.errors import UsageError, ZooError


class TrainingDiverged(ZooError):
    """The loss became NaN or infinite."""


@dataclass
class RunResult:
    """What a finished run reports (the CLI prints it, `--json` as is).

    `run_dir` is empty for the processes of a multi-host run other than
    process 0, which writes the run directory.
    """

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
    processes: int = 1
    process_index: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data."""
        return dict(self.__dict__)


CROSS_ENTROPY = "cross_entropy"
"""The plain cross-entropy's metric (`loss`, the training objective, adds label smoothing)."""

DataSource = Callable[[RunConfig, tuple[int, int], int], SourceData]
"""Gives a run's source images at an input size and channels (a search's cache of them)."""


def load_run_data(
    config: RunConfig,
    input_size: tuple[int, int],
    channels: int,
    sources: DataSource | None = None,
    on_data: Callable[[DataBundle], None] | None = None,
    share: Share | None = None,
) -> DataBundle:
    """Loads the run's data source at the model's input size.

    The model's class count is the data's (`DataBundle.num_classes`):
    `config.model.classes`, when given, is checked against the data, and
    chooses the size of the built-in set when no data is given.

    Args:
        config: The run configuration (its data, augmentation, batch size,
            seed and classes).
        input_size: `(height, width)` of the model's input.
        channels: Input channels of the model.
        sources: Gives the source's images, found already (a search finds them once).
        on_data: Called with the loaded data (the CLI reports skipped files with it).
        share: This process's share of each batch (`DeviceSetup.share`).

    Returns:
        The train/validation/test pipelines and the class names.

    Raises:
        UsageError: The data's class count does not match `config.model.classes`,
            or the batch does not split evenly between the processes.
    """
    batch_size = config.optim.batch_size
    if share is not None and batch_size % share.processes:
        raise UsageError(
            f"--batch-size is the global batch, split between {share.processes} processes: "
            f"make it a multiple of {share.processes}. Received: batch_size={batch_size}"
        )
    if sources is not None:
        data = make_bundle(
            sources(config, input_size, channels),
            batch_size=batch_size,
            seed=config.run.seed,
            policy=resolve_policy(config.augmentation, input_size),
            share=share,
        )
    else:
        data = load_data(
            config.data,
            augment=config.augmentation,
            input_size=input_size,
            channels=channels,
            batch_size=batch_size,
            seed=config.run.seed,
            classes=config.model.classes,
            share=share,
        )
    if on_data is not None:
        on_data(data)
    return data


def steps_per_epoch(data: DataBundle, batch_size: int) -> int:
    """Optimizer steps in one pass over the training split."""
    if data.share is not None:
        return max(1, data.share.training_steps(data.images("train"), batch_size))
    return max(1, math.ceil(data.images("train") / batch_size))


def monitor_for(data: DataBundle) -> str:
    """The score that picks the best epoch: validation accuracy, else training accuracy."""
    return "val_accuracy" if data.val is not None else "accuracy"


def compile_model(
    model: keras.Model,
    config: RunConfig,
    setup: DeviceSetup,
    lr: float,
    steps: int,
    epochs: int,
    classes: int,
) -> LinearWarmup | None:
    """Compiles with the configured optimizer, schedule, loss and metrics.

    Labels are one-hot (MixUp and CutMix make soft labels), so the loss is
    categorical cross-entropy with optional label smoothing. With label
    smoothing, the plain cross-entropy is tracked as the metric
    `cross_entropy` too: the loss `zoo evaluate` reports.

    Args:
        model: The model, built under the strategy's scope.
        config: The run configuration.
        setup: Devices (XLA switch).
        lr: Peak learning rate of this phase.
        steps: Optimizer steps per epoch.
        epochs: Epochs of this phase.
        classes: Number of classes (top-5 needs more than 5).

    Returns:
        The warm-up callback `fit_phase` needs for the plateau schedule, if any.
    """
    optim = config.optim
    optimizer = make_optimizer(optim, learning_rate(optim, lr, steps, epochs))
    metrics: list[Any] = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    if classes > 5:
        metrics.append(keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy"))
    if optim.label_smoothing:
        metrics.append(keras.metrics.CategoricalCrossentropy(name=CROSS_ENTROPY))
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=optim.label_smoothing),
        metrics=metrics,
        jit_compile=setup.jit,
    )
    warmup = warmup_steps(optim, steps, epochs)
    return LinearWarmup(lr, warmup) if optim.schedule == "plateau" and warmup else None


def fit_phase(
    model: keras.Model,
    data: DataBundle,
    run: RunLayout,
    config: RunConfig,
    *,
    phase: str,
    initial_epoch: int,
    epochs: int,
    warmup: LinearWarmup | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    checkpoints: bool = True,
    run_epochs: int | None = None,
    passes: int = 1,
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
        callbacks: More callbacks, run before the run's own recorder.
        checkpoints: Whether `last.keras` and `best.keras` are written (`best.keras`
            only when `config.run.keep_checkpoints` keeps it).
        run_epochs: The whole run's epoch count, which the progress report
            counts to (default: `epochs`).
        passes: Passes over the training split in one epoch.

    Raises:
        TrainingDiverged: The loss became NaN; names the last good checkpoint.
    """
    if initial_epoch >= epochs:
        return
    state = run.state()
    history = [row for row in run.history() if row.get("epoch", 0) <= initial_epoch]
    saved = state.get("callbacks", {}) if state.get("phase") == phase else {}
    monitor = monitor_for(data)
    resumable: dict[str, Any] = {}
    if config.optim.schedule == "plateau":
        resumable["plateau"] = ResumablePlateau(
            monitor=monitor,
            mode="max",
            factor=0.1,
            patience=config.optim.plateau_patience,
            state=saved.get("plateau"),
        )
    if config.optim.early_stopping:
        resumable["early_stopping"] = ResumableEarlyStopping(
            monitor=monitor,
            mode="max",
            patience=config.optim.early_stopping,
            state=saved.get("early_stopping"),
        )
    nan_guard = StopOnNaN()
    interactive = sys.stdout.isatty()
    total = run_epochs or epochs
    padded = data.padding.get("val", 0)
    every: list[keras.callbacks.Callback] = [
        *([PaddedLossCorrection(padding_factor(data.images("val"), padded))] if padded else []),
        nan_guard,
        *([warmup] if warmup else []),
        *resumable.values(),
        EpochRateTensorBoard(log_dir=str(run.file(RunLayout.LOGS)), write_graph=False),
        PhaseProgbar(phase, total) if interactive else EpochLine(total, phase),
        *callbacks,
        # Last: the checkpoint and state.json see what the others did this epoch.
        RunRecorder(
            run,
            phase,
            monitor=monitor,
            best=state.get("best"),
            history=history,
            resumable=resumable,
            checkpoints=checkpoints,
            best_checkpoint=RunLayout.BEST in RunLayout.KEPT[config.run.keep_checkpoints],
        ),
    ]
    model.fit(
        data.train.repeat(passes) if passes > 1 else data.train,
        validation_data=data.val,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=every,
        shuffle=False,  # the pipeline shuffles
        verbose=1 if interactive else 0,
    )
    if nan_guard.diverged_at is not None:
        _diverged(run, *nan_guard.diverged_at)


def _diverged(run: RunLayout, epoch: int, batch: int) -> None:
    done = run.state().get("epochs_done", 0)
    checkpoint = (
        f"the last good checkpoint is {run.file(RunLayout.LAST)} (epoch {done})"
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
    run: RunLayout,
    setup: DeviceSetup,
    started: float,
    save_model: bool = True,
    facts: dict[str, float] | None = None,
    keep_checkpoints: str = "all",
) -> RunResult:
    """Evaluates the final model, writes `metrics.json`, `curves.png` and `model.keras`.

    Per split, `metrics.json` holds `SPLIT_loss` (the training objective, label
    smoothing included) and `SPLIT_cross_entropy` (what `zoo evaluate` reports).
    Then the checkpoints the run was not asked to keep are removed: the run
    is finished, so `--resume` no longer needs `last.keras`.

    Args:
        model: The trained model.
        data: The pipelines (validation and, when present, test).
        run: The run directory.
        setup: The devices the run used.
        started: `time.perf_counter()` at the start of the run.
        save_model: Whether to write `curves.png` and `model.keras` (a search's
            trials do not).
        facts: More numbers for `metrics.json` (the babysitting facts).
        keep_checkpoints: What the finished run keeps (a key of `RunLayout.KEPT`).

    Returns:
        The run's result.
    """
    metrics: dict[str, float] = {}
    for split, dataset in (("val", data.val), ("test", data.test)):
        if dataset is None:
            continue
        scores = model.evaluate(dataset, verbose=0, return_dict=True)
        scores["loss"] *= padding_factor(data.images(split), data.padding.get(split, 0))
        scores.setdefault(CROSS_ENTROPY, scores["loss"])  # no label smoothing: the same
        metrics.update({f"{split}_{name}": float(value) for name, value in scores.items()})
    metrics.update(facts or {})
    run.write_json(RunLayout.METRICS, metrics)
    if save_model:
        write_curves(run)
        # Last, as it marks the run finished; no optimizer, so no training code.
        run.save_model(keras.Model(model.inputs, model.outputs, name=model.name), RunLayout.MODEL)
        run.drop_checkpoints(keep_checkpoints)
        _strip_optimizer(run, RunLayout.BEST)
    history = run.history()
    return RunResult(
        run_dir=str(run.path) if setup.is_chief else "",
        epochs=len(history),
        seconds=round(time.perf_counter() - started, 2),
        history=history,
        metrics=metrics,
        class_names=list(data.class_names),
        precision=setup.precision,
        strategy=setup.strategy_name,
        replicas=setup.replicas,
        skipped_files=list(data.bad),
        processes=setup.processes,
        process_index=setup.process_index,
    )


def _strip_optimizer(run: RunLayout, name: str) -> None:
    """Rewrites a finished run's checkpoint without its optimizer state, when it is kept.

    The optimizer's slots are most of a checkpoint (Adam keeps two per weight);
    only `last.keras` is continued from, so the other checkpoints keep the
    weights alone, as `model.keras` does.
    """
    if run.file(name).is_file():
        run.save_model(keras.saving.load_model(run.file(name), compile=False), name)
