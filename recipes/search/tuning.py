"""`zoo search`: hyper-parameter search with keras-tuner over the training recipes.

The search algorithm is keras-tuner's (`RandomSearch`, `GridSearch`,
`BayesianOptimization`, `Hyperband`); each trial is one real run of `zoo train`
or `zoo finetune` (see `recipes.search.hypermodel`). The study directory is
keras-tuner's own project plus the trials' runs, the table, the best
configuration, the report and the pictures (see `recipes.search.study`).

Several machines: keras-tuner's chief/worker mode. The chief (environment
`KERASTUNER_TUNER_ID=chief`) serves the oracle at `KERASTUNER_ORACLE_IP` and
`KERASTUNER_ORACLE_PORT` and writes the study; each worker (any other tuner
id) asks it for trials and runs them into the same study directory.
"""

from __future__ import annotations

import os
import time
from typing import Any

from recipes.config import resolve_config
from recipes.search.hypermodel import TrialPlan
from recipes.search.pictures import draw_pictures
from recipes.search.request import SearchRequest, plan_for
from recipes.search.results import best_trial, read_trials, report, write_best, write_table
from recipes.search.study import StudyLayout
from recipes.search.trials import preflight, run_in_processes, run_trials
from zoo.errors import UsageError

__all__ = ["SearchRequest", "retrain_best", "search"]


def search(request: SearchRequest, isolate: bool = True) -> dict[str, Any]:
    """Runs (or continues) a study and writes its table, best configuration and pictures.

    Args:
        request: What to search.
        isolate: Run the trials in child processes (`recipes.search.trials`),
            so that memory stays flat over a long study; `False` runs them here.

    Returns:
        The report (`recipes.search.results.report`), with `pictures`, `best_config`
        and, when retrained, `retrained` (the run's result).

    Raises:
        UsageError: Bad options, space, data or study directory; nothing in the
            study is changed then.
    """
    plan, archs = plan_for(request)
    if plan.settings.get("strategy") == "multihost":
        raise UsageError(
            "zoo search trains each trial on one machine (--tuner-id and --oracle spread the "
            "trials over machines); --strategy multihost is for zoo train and zoo finetune."
        )
    role = os.environ.get("KERASTUNER_TUNER_ID", "")
    chief, worker = role == "chief", bool(role) and role != "chief"
    if not worker:  # the chief checks the study once, for all its workers
        preflight(plan)
    study = StudyLayout(request.output or _default_output(plan, archs))
    if not worker:
        study.open(_describe(request, plan, archs), resume=request.resume,
                   overwrite=request.overwrite)  # fmt: skip
    try:
        if isolate and not chief:  # the chief only serves the oracle
            run_in_processes(request, study)
        else:
            run_trials(request, plan, study)
        if worker:
            return {"study": str(study.path), "worker": role}
        return _finish(request, study)
    finally:
        study.unlock()


def _default_output(plan: TrialPlan, archs: list[str]) -> str:
    base = str(plan.settings.get("base", "")).rstrip("/")
    name = "-".join(archs) if archs else os.path.basename(base)
    return os.path.join("runs", f"search-{name}-{time.strftime('%Y%m%d-%H%M%S')}")


def _describe(request: SearchRequest, plan: TrialPlan, archs: list[str]) -> dict[str, Any]:
    """`study.json`: what the study searches; its fingerprint guards `--resume`."""
    mode, space = plan.mode, plan.space
    defining = resolve_config({**plan.settings, "task": mode}).flat()
    defining.pop("output", None)
    defining.pop("resume", None)
    return {
        "mode": mode,
        "archs": archs,
        "space": {name: param.to_dict() for name, param in space.items()},
        "settings": defining,
        "tuner": request.tuner,
        "objective": request.objective,
        "epochs": request.epochs,
        "executions_per_trial": request.executions,
        "max_trials": request.max_trials,
    }


def _finish(request: SearchRequest, study: StudyLayout) -> dict[str, Any]:
    """Writes the table, best configuration and pictures; retrains the best when asked."""
    rows = read_trials(study)
    write_table(study, rows)
    description = study.describe()
    best = best_trial(rows, request.objective)
    result = report(study)
    result["pictures"] = draw_pictures(study, rows, description["space"], request.objective)
    result["best_config"] = None
    if best is not None:
        write_best(study, best)
        result["best_config"] = str(study.file(StudyLayout.BEST))
    study.write_json(StudyLayout.REPORT, result)
    if best is not None and request.retrain_epochs:
        result["retrained"] = retrain_best(study, request.retrain_epochs)
    return result


def retrain_best(study: StudyLayout, epochs: int, output: str | None = None) -> dict[str, Any]:
    """Trains the study's best configuration into a normal run directory.

    Args:
        study: A study with a `best.yaml`.
        epochs: Epochs of the run (phase 2's for fine-tuning).
        output: The run directory (default: `STUDY/best-run`).

    Returns:
        The run's result (as `zoo train --json` prints it).
    """
    from recipes.config import load_config_file
    from recipes.training.finetune import finetune
    from recipes.training.train import train

    best = study.file(StudyLayout.BEST)
    if not best.is_file():
        raise UsageError(f"{study.path} has no {StudyLayout.BEST}: no trial completed.")
    target = output or str(study.path / "best-run")
    config = resolve_config(load_config_file(str(best)), {"epochs": epochs, "output": target})
    recipe = train if config.task == "train" else finetune
    return recipe(config).to_dict()
