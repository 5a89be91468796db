"""The learning-rate range test a run runs itself: `--lr auto`.

`--lr auto` runs the test on the model just built, in the phase the rate is
for (for fine-tuning with `lp-ft`: the fitted head and the unfrozen top of the
base), restores its weights, and the run then compiles at the suggested rate;
its `config.yaml` records that rate, so `--config RUN/config.yaml` reproduces
the run without the test, and `--resume` takes it from there too. `zoo lr-find`
(`recipes.babysit`) runs the same test by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipes.config import RunConfig
from recipes.config.schema import AUTO_LR
from recipes.run.layout import RunLayout
from recipes.training.fit import compile_model
from recipes.training.lr_plot import draw_range_test
from recipes.training.lr_range import RangeTest, check_range, range_test
from zoo.atomic import atomic_write_text


@dataclass
class RangeSettings:
    """The range test's settings.

    Attributes:
        start: The first learning rate.
        end: The last learning rate.
        steps: Steps from `start` to `end` (one batch each).
    """

    start: float = 1e-7
    end: float = 10.0
    steps: int = 100

    def check(self) -> None:
        """Raises `UsageError` for a range with `start >= end`, `start <= 0` or few steps."""
        check_range(self.start, self.end, self.steps)


def is_auto(config: RunConfig) -> bool:
    """Whether the run's learning rate is `auto`."""
    return config.optim.lr == AUTO_LR


def saved_rate(config: RunConfig) -> float | None:
    """The rate an interrupted `--lr auto` run chose, for `--resume` (`None`: no such run)."""
    if not config.run.resume or not config.run.output:
        return None
    run = RunLayout(config.run.output)
    if not run.file(RunLayout.CONFIG).is_file():
        return None
    rate = run.config().optim.lr
    return rate if isinstance(rate, float) else None


def test_compiled(
    model: Any,
    config: RunConfig,
    setup: Any,
    data: Any,
    settings: RangeSettings | None = None,
) -> RangeTest:
    """Compiles `model` for the test (the run's optimizer, a plain rate) and runs it.

    The caller compiles the model again for training: the test leaves the
    weights as they were but not the optimizer.

    Args:
        model: The model as built for its first phase (built under the strategy's scope).
        config: The run configuration (optimizer, loss settings).
        setup: The devices.
        data: The run's `DataBundle`.
        settings: The range; the defaults when `None`.

    Returns:
        The test and its suggestion.
    """
    settings = settings or RangeSettings()
    plain = config.replace(lr=settings.start, schedule="constant", warmup_epochs=0)
    with setup.strategy.scope():
        compile_model(model, plain, setup, settings.start, 1, 1, data.num_classes)
    return range_test(model, data.train, settings.start, settings.end, settings.steps)


def resolve_rate(
    model: Any, config: RunConfig, setup: Any, data: Any
) -> tuple[RunConfig, RangeTest | None]:
    """Resolves `lr: auto`: the rate saved by the run being resumed, else a range test's.

    Args:
        model: The model as built for its first phase, before it is compiled.
        config: The run configuration.
        setup: The devices.
        data: The run's `DataBundle`.

    Returns:
        The configuration with a number for `lr` (unchanged unless `auto`),
        and the test (`None` when none ran).
    """
    if not is_auto(config):
        return config, None
    rate = saved_rate(config)
    if rate is not None:
        return config.replace(lr=rate), None
    test = test_compiled(model, config, setup, data)
    return config.replace(lr=test.suggestion), test


def write_range_test(folder: str | Path, test: RangeTest, title: str) -> dict[str, str]:
    """Writes `lr_find.json` and `lr_find.png` into `folder`.

    Returns:
        The paths, `json` and `png`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / RunLayout.LR_FIND
    atomic_write_text(json_path, json.dumps(test.to_dict(), indent=2) + "\n")
    png = draw_range_test(test, folder / RunLayout.LR_FIND_PLOT, title)
    return {"json": str(json_path), "png": png}
