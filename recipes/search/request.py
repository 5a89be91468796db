"""What `zoo search` is asked: the request, checked, and the settings its trials start from."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import zoo
from recipes.config import DEFAULT_PRESETS, flatten, load_preset
from recipes.search.hypermodel import TrialPlan
from recipes.search.space import study_space
from zoo.errors import UsageError

TUNERS = ("random", "grid", "bayesian", "hyperband")
OBJECTIVES = ("val_accuracy", "val_loss")


@dataclass
class SearchRequest:
    """What `zoo search` is asked to do.

    Attributes:
        settings: The run settings given (preset, `--config` file and flags), by name;
            `arch` may list several architectures separated by commas.
        tuner: `random`, `grid`, `bayesian` or `hyperband`.
        max_trials: Trials to run (at most, for grid and hyperband).
        epochs: Epochs per trial (phase 2's for fine-tuning; the most for hyperband).
        objective: `val_accuracy` or `val_loss`.
        executions: Runs per trial, their objectives averaged.
        space_file: A YAML file that defines, narrows or fixes parameters.
        output: The study directory (default `runs/search-NAME-TIMESTAMP`).
        resume: Continue the study in `output`.
        overwrite: Replace the study in `output`.
        retrain_epochs: Train the best configuration into a normal run, for
            this many epochs (0: do not).
    """

    settings: dict[str, Any]
    tuner: str = "random"
    max_trials: int = 10
    epochs: int = 5
    objective: str = "val_accuracy"
    executions: int = 1
    space_file: str | None = None
    output: str | None = None
    resume: bool = False
    overwrite: bool = False
    retrain_epochs: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The request as plain data (it crosses to the processes that run trials)."""
        return asdict(self)


def plan_for(request: SearchRequest) -> tuple[TrialPlan, list[str]]:
    """Checks a request and works out what its trials share.

    Returns:
        The trial plan (mode, space, settings, objective, epochs) and the
        architectures chosen among (from scratch).

    Raises:
        UsageError: A bad option, architecture or space.
    """
    mode, archs = _check(request)
    given = [name for name in request.settings if name not in ("arch", "base")]
    space = study_space(mode, archs, given, request.space_file)
    settings = _study_settings(request, mode, archs)
    return TrialPlan(mode, space, settings, request.objective, request.epochs), archs


def _check(request: SearchRequest) -> tuple[str, list[str]]:
    settings = request.settings
    if request.tuner not in TUNERS:
        raise UsageError(f"Unknown tuner {request.tuner!r}; choose one of {', '.join(TUNERS)}.")
    if request.objective not in OBJECTIVES:
        raise UsageError(
            f"Unknown objective {request.objective!r}; choose one of {', '.join(OBJECTIVES)}."
        )
    for name, value in (("max_trials", request.max_trials), ("epochs", request.epochs),
                        ("executions_per_trial", request.executions)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1. Received: {value!r}")
    if settings.get("arch") and settings.get("base"):
        raise UsageError(
            "Give either --arch (search from scratch) or --base (fine-tune), not both."
        )
    if not settings.get("arch") and not settings.get("base"):
        raise UsageError("zoo search needs --arch NAME[,NAME...] or --base NAME.")
    if settings.get("base"):
        return "finetune", []
    archs = [name.strip() for name in str(settings["arch"]).split(",") if name.strip()]
    return "train", [zoo.get_spec(name).name for name in archs]


def _study_settings(request: SearchRequest, mode: str, archs: list[str]) -> dict[str, Any]:
    """The settings every trial starts from: the mode's preset, the file, the flags."""
    given = dict(request.settings)
    preset = given.get("preset") or DEFAULT_PRESETS[mode]
    settings = {**flatten(load_preset(preset)), **given}
    if archs:
        settings["arch"] = archs[0]
    settings.pop("output", None)
    settings.pop("resume", None)
    return settings
