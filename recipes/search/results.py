"""A study's results: the trials table, the best configuration, and the report.

The trials are read from keras-tuner's own files (`tuner/trial_*/trial.json`,
through keras-tuner's `Trial`), and each trial's runs from its directory; so a
report can be made of any study directory, finished or not, in any process.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from recipes.config import resolve_config
from recipes.run.layout import RunLayout
from recipes.search.importance import importance
from recipes.search.space import Param, parse_param
from recipes.search.study import StudyLayout
from zoo.atomic import atomic_write_text

BORDER = 0.1
"""Share of a range (of its log, for log ranges) near each end that counts as its border."""


@dataclass
class TrialRow:
    """One trial as the table shows it.

    Attributes:
        trial_id: keras-tuner's id (the name of the trial's folders).
        status: `COMPLETED`, `FAILED`, `RUNNING`, ...
        values: The hyper-parameter values.
        objective: keras-tuner's score (the objective at the best epoch,
            averaged over executions), or `None`.
        best_epoch: The epoch that scored best (of the first execution).
        epochs: Epochs the trial ran (its last execution).
        seconds: Wall time of its runs.
        failure: Why it failed, on one line.
        history: The epochs of its first execution's run.
    """

    trial_id: str
    status: str
    values: dict[str, Any]
    objective: float | None
    best_epoch: int | None
    epochs: int
    seconds: float
    failure: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def number(self) -> int:
        """The trial's number as keras-tuner shows it ("Trial #1" is id 0).

        keras-tuner numbers a trial by the trials created so far, counting it,
        and makes its id from the same count before it: the id plus one.
        """
        return int(self.trial_id) + 1


def best_row(history: list[dict[str, Any]], objective: str) -> dict[str, Any] | None:
    """A run's epoch that scored best on the objective (`None`: no epoch recorded it)."""
    scored = [row for row in history if isinstance(row.get(objective), float)]
    if not scored:
        return None
    pick = min if objective == "val_loss" else max
    return pick(scored, key=lambda row: row[objective])


def read_trials(study: StudyLayout) -> list[TrialRow]:
    """Every trial keras-tuner recorded, with what its runs wrote.

    Returns:
        The trials, in id order.
    """
    from keras_tuner.engine.trial import Trial  # keras-tuner's public module for its trial files

    objective = study.describe()["objective"]
    rows = []
    for path in sorted(study.tuner_dir.glob("trial_*/trial.json")):
        trial = Trial.load(str(path))
        values = {
            key: value for key, value in trial.hyperparameters.values.items() if "/" not in key
        }
        runs = sorted(study.trial_dir(trial.trial_id).glob("execution-*"))
        histories = [RunLayout(run).history() for run in runs]
        failure = ""
        for run in runs:
            failed = run / StudyLayout.FAILURE
            if failed.is_file():
                failure = failed.read_text(encoding="utf-8").strip()
        if not failure and trial.status in ("FAILED", "INVALID"):
            failure = _last_line(trial.message)
        score = trial.score
        # keras-tuner's `best_step` is the step the trial reported its score at: one
        # report per execution, so always 0. The epoch is read from the run's history.
        best = best_row(histories[0], objective) if histories else None
        rows.append(
            TrialRow(
                trial_id=trial.trial_id,
                status=trial.status,
                values=values,
                objective=None if score is None or not math.isfinite(score) else float(score),
                best_epoch=None if best is None else int(best["epoch"]),
                epochs=int(histories[-1][-1]["epoch"]) if histories and histories[-1] else 0,
                seconds=round(sum(row.get("seconds", 0.0) for h in histories for row in h), 2),
                failure=failure,
                history=histories[0] if histories else [],
            )
        )
    return rows


def _last_line(message: str | None) -> str:
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def best_trial(rows: list[TrialRow], objective: str) -> TrialRow | None:
    """The completed trial with the best objective, as keras-tuner ranks them."""
    scored = [row for row in rows if row.objective is not None and row.status == "COMPLETED"]
    if not scored:
        return None
    pick = min if objective == "val_loss" else max
    return pick(scored, key=lambda row: row.objective)


def write_table(study: StudyLayout, rows: list[TrialRow]) -> None:
    """Writes `trials.csv`: one row per trial, every hyper-parameter a column."""
    names: list[str] = []
    for row in rows:
        names.extend(name for name in row.values if name not in names)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["trial", "trial_id", "status", *names, "objective", "best_epoch", "epochs", "seconds"]
        + ["failure"]
    )
    for row in rows:
        writer.writerow(
            [
                row.number,
                row.trial_id,
                row.status,
                *(row.values.get(name, "") for name in names),
                "" if row.objective is None else row.objective,
                "" if row.best_epoch is None else row.best_epoch,
                row.epochs,
                row.seconds,
                row.failure,
            ]
        )
    atomic_write_text(study.file(StudyLayout.TABLE), buffer.getvalue())


def write_best(study: StudyLayout, best: TrialRow) -> dict[str, Any]:
    """Writes `best.yaml`: the best trial's run configuration, to train it again.

    The configuration is the trial's own `config.yaml`, without its output,
    so that `zoo train --config STUDY/best.yaml` (or `zoo finetune`) reproduces it.

    Returns:
        The configuration written.
    """
    run = RunLayout(next(iter(sorted(study.trial_dir(best.trial_id).glob("execution-*")))))
    config = run.config()
    document = config.to_dict()
    document["run"] = {**document["run"], "output": None, "resume": False}
    resolve_config(document)  # what `--config` will read back must be valid
    atomic_write_text(study.file(StudyLayout.BEST), yaml.safe_dump(document, sort_keys=False))
    return document


def border_warnings(space: dict[str, Any], best: TrialRow) -> list[str]:
    """Parameters whose best value lies near the end of its range, with a wider range to try.

    Args:
        space: The study's space, as `study.json` holds it (name -> parameter).
        best: The best trial.

    Returns:
        One line per parameter at the border of its range.
    """
    warnings = []
    for name, document in space.items():
        param: Param = parse_param(name, _as_file_param(document), "finetune")
        value = best.values.get(name)
        if param.kind not in ("float", "int") or not isinstance(value, int | float):
            continue
        low, high = param.low, param.high
        if param.log:
            position = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        else:
            position = (value - low) / (high - low)
        if position <= BORDER:
            wider = low / 10 if param.log else low - (high - low) / 2
            warnings.append(
                f"{name}: the best value {value:.4g} is at the low end of [{low:g}, {high:g}]; "
                f"search from {max(wider, 0) if not param.log else wider:g} next"
            )
        elif position >= 1 - BORDER:
            wider = high * 10 if param.log else high + (high - low) / 2
            warnings.append(
                f"{name}: the best value {value:.4g} is at the high end of [{low:g}, {high:g}]; "
                f"search up to {wider:g} next"
            )
    return warnings


def _as_file_param(document: Any) -> Any:
    """A parameter as `study.json` holds it, in the form a space file takes."""
    if isinstance(document, dict) and "type" in document and document["type"] != "int":
        return {key: value for key, value in document.items() if key != "type"}
    return document


def report(study: StudyLayout) -> dict[str, Any]:
    """What `zoo search report` shows: the table, the best trial, importance, warnings.

    Returns:
        JSON-able: `study`, `objective`, `trials` (rows), `best` (trial, values,
        objective), `importance` (parameter -> score, most important first,
        and `method`), `warnings` (best values at the border of their range).
    """
    description = study.describe()
    objective = description["objective"]
    rows = read_trials(study)
    best = best_trial(rows, objective)
    ranking, method = importance(rows, description["space"], objective)
    return {
        "study": str(study.path),
        "mode": description["mode"],
        "tuner": description["tuner"],
        "objective": objective,
        "trials": [_plain(row) for row in rows],
        "best": None if best is None else _plain(best),
        "importance": {"method": method, "scores": ranking},
        "warnings": border_warnings(description["space"], best) if best else [],
    }


def _plain(row: TrialRow) -> dict[str, Any]:
    return {
        "trial": row.number,
        "trial_id": row.trial_id,
        "status": row.status,
        "values": row.values,
        "objective": row.objective,
        "best_epoch": row.best_epoch,
        "epochs": row.epochs,
        "seconds": row.seconds,
        "failure": row.failure,
    }
