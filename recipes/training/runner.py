"""The phase runner: a prepared run, trained phase by phase into its run directory.

`train` and `finetune` each prepare their model and describe their phases (a
`Prepared` run); the runner opens the run directory, enters and runs the
phases with the callbacks that keep the directory up to date (resuming where a
run stopped), and finishes the run. A search's trials run the same prepared
runs over the epochs keras-tuner asks for, with its callbacks added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras

from recipes.config import RunConfig
from recipes.data import DataBundle
from recipes.run.layout import RunLayout
from recipes.training.auto_lr import write_range_test
from recipes.training.callbacks import LinearWarmup
from recipes.training.devices import DeviceSetup
from recipes.training.fit import RunResult, finish_run, fit_phase
from recipes.training.initial_loss import initial_loss_check
from recipes.training.lr_range import RangeTest
from recipes.training.naming import run_name
from recipes.training.run_dir import close_run, open_run, record_data, restore_checkpoint
from recipes.training.summary import run_summary


class RunInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C); says where the run is and how far it got.

    Attributes:
        run_dir: The run directory, resumable with `--resume`.
        epochs_done: Epochs whose checkpoint is complete.
    """

    def __init__(self, run_dir: str, epochs_done: int) -> None:
        super().__init__(f"interrupted after epoch {epochs_done} in {run_dir}")
        self.run_dir = run_dir
        self.epochs_done = epochs_done


@dataclass
class Phase:
    """One phase of a run.

    Attributes:
        name: Its name in the history (`train`, `head`, `finetune`).
        end: The global epoch count at its end.
        enter: Switches the model into this phase (unfreezes, recompiles) and
            returns the phase's warm-up callback; `None` for the first phase,
            which the model is built in.
        passes: Passes over the training split in one of its epochs (more
            than one on tiny splits, so that an epoch is worth a checkpoint).
    """

    name: str
    end: int
    enter: Callable[[], LinearWarmup | None] | None = None
    passes: int = 1


@dataclass
class Prepared:
    """A run ready to train: built, compiled, with its data and phases.

    Attributes:
        config: The run configuration.
        setup: The devices.
        data: The pipelines.
        model: The compiled model, in its first phase.
        name: The model's name (the architecture's, or the base's); a trained
            run's directory is named after it (see `recipes.training.naming`).
        phases: The phases, in order.
        warmup: The first phase's warm-up callback, if any.
        lr_test: The range test that chose the learning rate (`--lr auto`).
        fitted_head: Whether the model's head was fitted before training (a
            fine-tuning probe), so that its initial loss is below ln(C) by design.
        facts: Numbers for `metrics.json` known before training (the probe's).
        before_finish: Called with the note function once training is done,
            before the final evaluation; may change the weights and returns
            more facts for `metrics.json`.
    """

    config: RunConfig
    setup: DeviceSetup
    data: DataBundle
    model: keras.Model
    name: str
    phases: list[Phase]
    warmup: LinearWarmup | None = None
    lr_test: RangeTest | None = None
    fitted_head: bool = False
    facts: dict[str, float] = field(default_factory=dict)
    before_finish: Callable[[Callable[[str], None]], dict[str, float]] | None = None

    @property
    def epochs(self) -> int:
        """The global epoch count the run ends at (0 when nothing is trained)."""
        return self.phases[-1].end if self.phases else 0


def execute(
    prepared: Prepared, started: float, on_note: Callable[[str], None] | None = None
) -> RunResult:
    """Runs a prepared run into its directory: open, train (or resume), finish.

    The run directory is created only now, so a bad configuration (found while
    preparing) leaves nothing behind; with `resume`, the prepared model enters
    the phase the checkpoint was saved in and takes its weights and optimizer
    state.

    Args:
        prepared: The run.
        started: `time.perf_counter()` at the start of the run.
        on_note: Called with each line the user should read before training.

    Returns:
        The run's result.

    Raises:
        TrainingDiverged: The loss became NaN.
    """
    note = on_note or (lambda line: None)
    run = open_run(prepared.config, run_name(prepared.config, prepared.name), prepared.setup)
    try:
        for line in run_summary(prepared):
            note(line)
        record_data(run, prepared.data)
        facts = babysitting_facts(run, prepared, note)
        try:
            if prepared.config.run.resume and run.has_checkpoint:
                done, entered, warmup = _resume(prepared, run)
                run_phases(prepared, run, start=done, entered=entered, warmup=warmup)
            else:
                run.forget_progress()  # a resumed run with no complete checkpoint restarts
                run_phases(prepared, run)
        except KeyboardInterrupt:
            raise RunInterrupted(str(run.path), run.state().get("epochs_done", 0)) from None
        if prepared.before_finish is not None:
            facts.update(prepared.before_finish(note))
        return finish_run(
            prepared.model,
            prepared.data,
            run,
            prepared.setup,
            started,
            facts=facts,
            keep_checkpoints=prepared.config.run.keep_checkpoints,
        )
    finally:
        close_run(run, prepared.setup)


def babysitting_facts(
    run: RunLayout, prepared: Prepared, on_note: Callable[[str], None]
) -> dict[str, float]:
    """Checks the untrained model's loss and records the range test, before training.

    A resumed run keeps the facts it recorded when it started.

    Args:
        run: The open run directory.
        prepared: The run, its model untrained (unless resuming).
        on_note: Told each problem found and the learning rate chosen.

    Returns:
        The facts for `metrics.json`: `initial_loss`, `expected_initial_loss`
        and, with `--lr auto`, `auto_lr`.
    """
    config = prepared.config
    if config.run.resume and run.file(RunLayout.SANITY).is_file():
        sanity = run.read_json(RunLayout.SANITY)
    else:
        sanity = initial_loss_check(
            prepared.model,
            prepared.data.train,
            prepared.data.class_names,
            config.optim.label_smoothing,
            fitted_head=prepared.fitted_head,
        )
        run.write_json(RunLayout.SANITY, sanity)
        for problem in sanity["problems"]:
            on_note(f"warning: {problem}")
    facts = {
        **prepared.facts,
        **{key: sanity[key] for key in ("initial_loss", "expected_initial_loss")},
    }
    if prepared.lr_test is not None:
        title = f"{prepared.name}: learning-rate range test on {prepared.data.source}"
        write_range_test(run.path, prepared.lr_test, title)
        on_note(f"--lr auto: {prepared.lr_test.explanation()}")
    if prepared.lr_test is not None or run.file(RunLayout.LR_FIND).is_file():
        facts["auto_lr"] = config.optim.lr
    return facts


def _resume(prepared: Prepared, run: RunLayout) -> tuple[int, int, LinearWarmup | None]:
    """Enters the phase the checkpoint was saved in, then loads it.

    Returns:
        `(epochs done, index of the phase entered, its warm-up)`.
    """
    names = [phase.name for phase in prepared.phases]
    saved = run.state().get("phase")
    index = names.index(saved) if saved in names else 0
    warmup = prepared.warmup
    with prepared.setup.strategy.scope():
        if index and prepared.phases[index].enter is not None:
            warmup = prepared.phases[index].enter()
        done = restore_checkpoint(prepared.model, run)
    return done, index, warmup


def run_phases(
    prepared: Prepared,
    run: RunLayout,
    *,
    start: int = 0,
    stop: int | None = None,
    entered: int | None = None,
    warmup: LinearWarmup | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    checkpoints: bool = True,
) -> None:
    """Trains the epochs `[start, stop)`, entering each phase they reach.

    Args:
        prepared: The run.
        run: Its directory.
        start: Epochs done already (the model holds their weights).
        stop: The epoch count to reach; the run's end by default.
        entered: The index of the phase the model is in (`None`: the first,
            as built); a later phase that `start` falls in is entered first.
        warmup: The entered phase's warm-up callback (with `entered`).
        callbacks: More callbacks for every `fit` (a search's).
        checkpoints: Whether `last.keras` and `best.keras` are written.
    """
    stop = prepared.epochs if stop is None else min(stop, prepared.epochs)
    current = entered or 0
    if entered is None:
        warmup = prepared.warmup
    begin = 0
    for index, phase in enumerate(prepared.phases):
        if begin >= stop:
            break
        if phase.end > start and phase.end > begin:
            if index > current:
                with prepared.setup.strategy.scope():
                    warmup = phase.enter() if phase.enter is not None else None
                current = index
            fit_phase(
                prepared.model,
                prepared.data,
                run,
                prepared.config,
                phase=phase.name,
                initial_epoch=max(start, begin),
                epochs=min(stop, phase.end),
                warmup=warmup,
                callbacks=callbacks,
                checkpoints=checkpoints,
                run_epochs=prepared.epochs,
                passes=phase.passes,
            )
        begin = phase.end
