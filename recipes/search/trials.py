"""Running a study's trials: keras-tuner's tuner, in this process or in a few at a time.

TensorFlow keeps part of every traced training step alive after its model is
gone (about 10 MB a trial for LeNet-5, more for larger models), which
`keras.backend.clear_session()` does not free: a long study in one process
grows without bound. The CLI therefore runs the trials in child processes,
`TRIALS_PER_PROCESS` each: a child reloads the study's keras-tuner project
(keras-tuner's own resume), runs that many trials and exits, and the next
child goes on where it stopped. An interrupted trial is run again by the next
child, as keras-tuner does on any reload. A child is `recipes.search.child`.

How a child stops after its trials: keras-tuner has no public "run N more
trials" (`search()` runs until the oracle's budget is spent, and Hyperband ends
its brackets by its own rules), so the tuner class is given a mixin
(`_Bounded`) whose `on_trial_end`, after the oracle has recorded the trial,
raises `_Enough` once the child's share is done; `run_trials` catches it. The
oracle's files are complete at that point: it is keras-tuner's own state
after a finished trial, which the next child reloads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from recipes.data.noise import quiet_loggers
from recipes.search.hypermodel import RunHyperModel, TrialPlan
from recipes.search.request import SearchRequest, plan_for
from recipes.search.study import StudyLayout
from zoo.errors import UsageError, ZooError

TRIALS_PER_PROCESS = 4
"""Trials a child process runs before the next one takes over."""

_MORE = 3  # a child's exit code: it ran its trials and the study has more


class _Enough(Exception):
    """Raised by a bounded tuner after its last trial."""


def recipe(mode: str) -> Callable[..., Any]:
    """`prepare_train` or `prepare_finetune`: how a trial's run is prepared."""
    from recipes.training.finetune import prepare_finetune
    from recipes.training.train import prepare_train

    return prepare_train if mode == "train" else prepare_finetune


def preflight(plan: TrialPlan) -> None:
    """Prepares a first trial (its configuration, data and model) before any study file.

    A bad setting, a missing folder, weights that cannot be had or data without
    a validation split is one line now, not one failed trial after another.
    The data found stays in the plan for the trials.

    Raises:
        UsageError: See above.
    """
    import keras

    first = {
        name: param.values[0] if param.values else param.low for name, param in plan.space.items()
    }
    prepared = recipe(plan.mode)(plan.config(first), sources=plan.source_for)
    has_val = prepared.data.val is not None
    del prepared
    keras.backend.clear_session()
    if not has_val:
        raise UsageError(
            "zoo search compares trials on their validation split, and the data has none: "
            "leave --val-split above 0 or add a val/ folder."
        )


def make_tuner(
    request: SearchRequest, plan: TrialPlan, study: StudyLayout, limit: int | None = None
) -> Any:
    """keras-tuner's tuner over the study's hypermodel, in the study's `tuner/` project.

    Args:
        request: The search.
        plan: What the trials share.
        study: The study directory.
        limit: Stop after this many trials (the study goes on in another process).

    Returns:
        The tuner: `RandomSearch`, `GridSearch`, `BayesianOptimization` or `Hyperband`.
    """
    import keras_tuner

    hypermodel = RunHyperModel(plan, study, recipe(plan.mode))
    direction = "min" if request.objective == "val_loss" else "max"
    common = {
        "hypermodel": hypermodel,
        "objective": keras_tuner.Objective(request.objective, direction=direction),
        "executions_per_trial": request.executions,
        "directory": str(study.path),
        "project_name": study.tuner_dir.name,
        "overwrite": False,  # the study decides: --resume or --overwrite
        "seed": plan.settings.get("seed", 0),
        # A failed trial is recorded and the study goes on.
        "max_consecutive_failed_trials": request.max_trials + 1,
    }
    classes = {
        "random": keras_tuner.RandomSearch,
        "grid": keras_tuner.GridSearch,
        "bayesian": keras_tuner.BayesianOptimization,
        "hyperband": keras_tuner.Hyperband,
    }
    cls = classes[request.tuner]
    if limit is not None:
        cls = type(f"Bounded{cls.__name__}", (_Bounded, cls), {"limit": limit})
    if request.tuner == "hyperband":
        head = plan.space.get("head_epochs")
        most_head = 0
        if plan.mode == "finetune":
            most_head = int(head.high if head and head.high else (head.values[0] if head else 2))
        tuner = cls(max_epochs=request.epochs + most_head, factor=3, **common)
        tuner.oracle.max_trials = request.max_trials  # Hyperband's own budget, capped
        return tuner
    return cls(max_trials=request.max_trials, **common)


class _Bounded:
    """Mixed into a keras-tuner tuner: stops its search after `limit` trials."""

    limit = 0

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)  # the oracle records the trial first
        self._ran = getattr(self, "_ran", 0) + 1
        if self._ran >= self.limit:
            raise _Enough


def run_trials(
    request: SearchRequest, plan: TrialPlan, study: StudyLayout, limit: int | None = None
) -> bool:
    """Runs the study's trials in this process.

    Args:
        request: The search.
        plan: What the trials share.
        study: The study directory (taken by the caller).
        limit: Stop after this many trials.

    Returns:
        Whether the study is done (`False`: stopped at `limit` with trials left).
    """
    tuner = make_tuner(request, plan, study, limit)
    # Every trial builds a new model, which TensorFlow warns is retracing.
    with quiet_loggers("tensorflow"):
        try:
            tuner.search()
        except _Enough:
            return False
    return True


def run_in_processes(request: SearchRequest, study: StudyLayout) -> None:
    """Runs the study's trials in child processes, `TRIALS_PER_PROCESS` each.

    A child shares the study's lock (the same open file: the lock holds until
    the last of them lets go), so a `--resume` is refused while a child still
    writes; and it dies with this process: it watches a pipe that only this
    process holds open (`recipes.search.child`).

    Raises:
        ZooError: A child failed (its stderr says why), or two in a row died
            without finishing a trial.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({**request.to_dict(), "output": str(study.path)}, handle)
    try:
        crashed = 0
        while True:
            command = [sys.executable, "-m", "recipes.search.child", handle.name]
            lock = study.lock_fileno()
            shared = () if lock is None else (lock,)
            with subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=shared) as child:
                code = child.wait()  # stdin stays open until then: the child's lifeline
            if code == 0:
                return
            if code == _MORE:
                crashed = 0
                continue
            if code in (1, 2):
                raise ZooError(f"The trials stopped with an error (exit {code}); see above.")
            crashed += 1
            if crashed >= 2:
                raise ZooError(
                    f"The process running the trials died twice in a row (exit {code}); the "
                    "study is kept: continue it with --resume once the cause is fixed."
                )
    finally:
        os.unlink(handle.name)


def main(argv: list[str]) -> int:
    """A child's work: reload the study, run up to `TRIALS_PER_PROCESS` trials."""
    with open(argv[0], encoding="utf-8") as handle:
        request = SearchRequest(**json.load(handle))
    plan, _ = plan_for(request)
    study = StudyLayout(request.output)
    try:
        done = run_trials(request, plan, study, limit=TRIALS_PER_PROCESS)
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return 0 if done else _MORE
