"""The keras-tuner hypermodel of a study: one trial is one real run.

`build(hp)` declares the space on keras-tuner's `HyperParameters`, resolves the
trial's `RunConfig` (the study's settings with the trial's values) and prepares
it with the training recipes' own code (`prepare_train` / `prepare_finetune`):
the same data pipeline, model, precision and compile as `zoo train` and `zoo
finetune`. `fit` runs that prepared run into the trial's run directory over
the epochs keras-tuner asks for (Hyperband continues a trial from an earlier
bracket's weights), with keras-tuner's callbacks in every `fit`, and returns
the best epoch of the whole run: fine-tuning's two phases are one result.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras_tuner

from recipes.config import RunConfig, resolve_config
from recipes.data import SourceData, find_data
from recipes.run.layout import RunLayout
from recipes.search.results import best_row
from recipes.search.space import RATIO, Param, Space
from recipes.search.study import StudyLayout
from recipes.training.run_dir import record_data
from recipes.training.runner import Prepared, run_phases
from zoo.errors import ZooError, first_line


@dataclass
class TrialPlan:
    """What every trial of a study shares.

    Attributes:
        mode: `train` or `finetune`.
        space: The parameters searched.
        settings: The study's own settings (preset, file and flags), by name.
        objective: `val_accuracy` or `val_loss`.
        epochs: Epochs per trial (phase 2's, for fine-tuning; the most, for Hyperband).
    """

    mode: str
    space: Space
    settings: dict[str, Any]
    objective: str
    epochs: int
    sources: dict[tuple[Any, ...], SourceData] = field(default_factory=dict)

    def config(self, values: dict[str, Any], output: str | None = None) -> RunConfig:
        """The run configuration of a trial with these parameter values.

        Args:
            values: The trial's values, by parameter name.
            output: The trial's run directory.

        Returns:
            The checked configuration.
        """
        chosen = dict(values)
        ratio = chosen.pop(RATIO, None)
        settings = {**self.settings, "epochs": self.epochs, **chosen, "task": self.mode}
        if ratio is not None:
            settings["finetune_lr"] = settings["lr"] * ratio
        settings.update(output=output, resume=False)
        return resolve_config(settings)

    def source_for(
        self, config: RunConfig, input_size: tuple[int, int], channels: int
    ) -> SourceData:
        """The source's images at this size, found once per study (the check pass, the cache)."""
        key = (input_size, channels, config.run.seed)
        if key not in self.sources:
            self.sources[key] = find_data(
                config.data,
                input_size=input_size,
                channels=channels,
                batch_size=self.largest_batch_size(config),
                seed=config.run.seed,
                classes=config.model.classes,
            )
        return self.sources[key]

    def largest_batch_size(self, config: RunConfig) -> int:
        """The largest batch size a trial may take: the memory cache is planned for it.

        Args:
            config: A trial's configuration (its batch size, when the space has none).

        Returns:
            The largest value of the space's `batch_size`, else the configuration's.
        """
        param = self.space.get("batch_size")
        if param is None:
            return config.optim.batch_size
        if param.kind in ("fixed", "choice"):
            return max(int(value) for value in param.values)
        return int(param.high)


def declare(hp: keras_tuner.HyperParameters, space: Space) -> dict[str, Any]:
    """Declares the space's parameters on keras-tuner's hyper-parameters.

    Returns:
        This trial's value of each parameter.
    """
    return {name: _declare(hp, param) for name, param in space.items()}


def _declare(hp: keras_tuner.HyperParameters, param: Param) -> Any:
    if param.kind == "fixed":
        return hp.Fixed(param.name, param.values[0])
    if param.kind == "choice":
        return hp.Choice(param.name, list(param.values), ordered=False)
    sampling = "log" if param.log else "linear"
    if param.kind == "int":
        step = int(param.step) if param.step else 1
        return hp.Int(param.name, int(param.low), int(param.high), step=step, sampling=sampling)
    return hp.Float(param.name, param.low, param.high, step=param.step, sampling=sampling)


class RunHyperModel(keras_tuner.HyperModel):
    """The study's hypermodel: builds and trains each trial with the training recipes.

    Args:
        plan: What the trials share.
        study: The study directory (each trial's run goes in `trials/`).
        prepare: `prepare_train` or `prepare_finetune`.
    """

    def __init__(
        self,
        plan: TrialPlan,
        study: StudyLayout,
        prepare: Callable[..., Prepared],
    ) -> None:
        super().__init__(name=f"zoo_{plan.mode}")
        self.plan = plan
        self.study = study
        self.prepare = prepare
        self._prepared: Prepared | None = None

    def build(self, hp: keras_tuner.HyperParameters) -> Any:
        values = declare(hp, self.plan.space)
        config = self.plan.config(values)
        self._prepared = self.prepare(config, sources=self.plan.source_for)
        return self._prepared.model

    def fit(
        self,
        hp: keras_tuner.HyperParameters,
        model: Any,
        *args: Any,
        callbacks: list[Any] | None = None,
        epochs: int | None = None,
        initial_epoch: int = 0,
        **kwargs: Any,
    ) -> dict[str, float]:
        prepared = self._prepared
        if prepared is None or prepared.model is not model:
            raise keras_tuner.errors.FatalError("fit() got a model this hypermodel did not build")
        callbacks = list(callbacks or [])
        trial = next(c.trial for c in callbacks if hasattr(c, "trial"))
        execution = _next_execution(self.study, trial.trial_id)
        output = str(self.study.trial_dir(trial.trial_id) / f"execution-{execution}")
        values = {name: hp.values[name] for name in self.plan.space if name in hp.values}
        config = self.plan.config(values, output)
        prepared.config = config
        run = RunLayout.create(config, prepared.name)
        try:
            record_data(run, prepared.data)
            run_phases(
                prepared,
                run,
                start=initial_epoch,
                stop=epochs,
                callbacks=callbacks,
                checkpoints=False,
            )
            best = best_epoch(run.history(), self.plan.objective)
            # The trial's best epoch, and what the process holds after it (a study's
            # memory must stay flat).
            run.write_json(RunLayout.METRICS, {**best, "rss_mib": resident_mib()})
            return best
        except (ZooError, ValueError, RuntimeError) as error:
            reason = first_line(error, 300)
            (run.path / StudyLayout.FAILURE).write_text(reason + "\n", encoding="utf-8")
            raise keras_tuner.errors.FailedTrialError(reason) from error
        finally:
            run.unlock()


def _next_execution(study: StudyLayout, trial_id: str) -> int:
    """The number of the trial's next run; an interrupted one (no metrics) is removed."""
    folder = study.trial_dir(trial_id)
    runs = sorted(p for p in folder.glob("execution-*") if p.is_dir()) if folder.is_dir() else []
    for run in runs:
        if not (run / RunLayout.METRICS).is_file():
            shutil.rmtree(run)
    return sum(1 for run in runs if run.exists()) + 1


def best_epoch(history: list[dict[str, Any]], objective: str) -> dict[str, float]:
    """The metrics of a run's best epoch by the objective (all phases together).

    Raises:
        FailedTrialError: The run recorded no epoch with the objective.
    """
    best = best_row(history, objective)
    if best is None:
        raise keras_tuner.errors.FailedTrialError(
            f"no epoch recorded {objective} (the data needs a validation split)"
        )
    return {
        key: float(value)
        for key, value in best.items()
        if isinstance(value, float) and key not in ("lr", "seconds", "finished")
    }


def resident_mib() -> float | None:
    """This process's resident memory now, in MiB (`None` where the system does not say)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None
