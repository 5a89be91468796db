"""Which hyper-parameters mattered: an importance ranking over a study's trials.

With Optuna installed (an optional extra), its fANOVA evaluator is fed the
trials table. Without it, each parameter is scored by how much of the
objective's variation it explains alone: the squared rank correlation for a
number (on a log scale where its range is logarithmic), the correlation ratio
for a choice. The scores are normalised to sum to 1.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from recipes.search.space import varied

if TYPE_CHECKING:
    from recipes.search.results import TrialRow

MIN_TRIALS = 3
"""Fewer completed trials than this give no ranking."""


def importance(
    rows: list[TrialRow], space: dict[str, Any], objective: str
) -> tuple[dict[str, float], str]:
    """Ranks the searched parameters by how much they move the objective.

    Args:
        rows: The trials.
        space: The study's space (name -> parameter, as `study.json` holds it).
        objective: The objective's name.

    Returns:
        `(scores, method)`: parameter -> share of importance, most important
        first, and how it was computed.
    """
    done = [row for row in rows if row.objective is not None]
    searched = varied(space)
    if len(done) < MIN_TRIALS or not searched:
        return {}, f"none: fewer than {MIN_TRIALS} completed trials"
    try:
        scores = _fanova(done, space, searched, objective)
        method = "optuna fANOVA"
    except ImportError:
        scores = {name: _explained(done, name, space[name]) for name in searched}
        method = "variance explained alone (rank correlation, correlation ratio)"
    total = sum(scores.values())
    if total > 0:
        scores = {name: value / total for name, value in scores.items()}
    ranked = dict(sorted(scores.items(), key=lambda item: -item[1]))
    return {name: round(value, 4) for name, value in ranked.items()}, method


def _explained(rows: list[TrialRow], name: str, param: dict[str, Any]) -> float:
    pairs = [(row.values.get(name), row.objective) for row in rows if name in row.values]
    if len(pairs) < MIN_TRIALS:
        return 0.0
    values, objectives = zip(*pairs, strict=True)
    y = np.asarray(objectives, dtype="float64")
    if "min" in param:
        x = np.asarray(values, dtype="float64")
        if param.get("log"):
            x = np.log(x)
        return _rank_correlation(x, y) ** 2
    return _correlation_ratio([str(value) for value in values], y)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties sharing their mean rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype="float64")
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _correlation_ratio(categories: list[str], y: np.ndarray) -> float:
    """The share of the objective's variance between the categories' means (eta squared)."""
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    between = 0.0
    for category in set(categories):
        members = y[[c == category for c in categories]]
        between += len(members) * (members.mean() - y.mean()) ** 2
    return between / total


def _fanova(
    rows: list[TrialRow], space: dict[str, Any], names: list[str], objective: str
) -> dict[str, float]:
    """Optuna's fANOVA over the trials (raises ImportError without Optuna)."""
    import optuna

    distributions = {}
    for name in names:
        param = space[name]
        if "min" in param:
            low, high = param["min"], param["max"]
            log = bool(param.get("log"))
            if param.get("type") == "int":
                distributions[name] = optuna.distributions.IntDistribution(low, high, log=log)
            else:
                distributions[name] = optuna.distributions.FloatDistribution(low, high, log=log)
        else:
            distributions[name] = optuna.distributions.CategoricalDistribution(param["values"])
    direction = "minimize" if objective == "val_loss" else "maximize"
    study = optuna.create_study(direction=direction)
    for row in rows:
        if not all(name in row.values for name in names) or not math.isfinite(row.objective):
            continue
        study.add_trial(
            optuna.trial.create_trial(
                params={name: row.values[name] for name in names},
                distributions=distributions,
                value=row.objective,
            )
        )
    return dict(optuna.importance.get_param_importances(study))
