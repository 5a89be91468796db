"""`zoo lr-find`: the learning-rate range test on a run's own model and data, by hand.

The test itself, and `--lr auto` which runs it inside a run, are
`recipes.training.auto_lr`'s; this command prepares the run a configuration
describes (as `zoo train` or `zoo finetune` would) and writes the test's files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from recipes.config import RunConfig
from recipes.config.schema import AUTO_LR
from recipes.run.folders import make_unused_dir, refuse_used
from recipes.training.auto_lr import RangeSettings, test_compiled, write_range_test


def lr_find(
    config: RunConfig, settings: RangeSettings, output: str | Path | None = None
) -> dict[str, Any]:
    """`zoo lr-find`: the range test for a run that `config` describes.

    For `--base`, the test runs on the new head with the base frozen (the
    rate of phase 1; phase 2's default is a hundredth of it).

    Args:
        config: A resolved configuration with `task` `train` or `finetune`
            (its `lr` is not used).
        settings: The range.
        output: The folder for `lr_find.json` and `lr_find.png` (default:
            `runs/lr-find-NAME-TIME`, a new folder).

    Returns:
        `suggestion`, `method`, `suggestions`, `explanation`, `steps`,
        `seconds`, `files` (`json`, `png`), `model`.

    Raises:
        UsageError: Bad configuration, range or data.
    """
    settings.check()
    if output:
        refuse_used(Path(output), "choose another --output.")
    started = time.perf_counter()
    if config.optim.lr == AUTO_LR:
        config = config.replace(lr=settings.start)
    prepared = _prepare(config)
    test = test_compiled(prepared.model, prepared.config, prepared.setup, prepared.data, settings)
    if output:
        folder = Path(output)
    else:
        folder = make_unused_dir(
            Path("runs"), f"lr-find-{prepared.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        )
    title = f"{prepared.name}: learning-rate range test on {prepared.data.source}"
    files = write_range_test(folder, test, title)
    return {
        "model": prepared.name,
        "suggestion": test.suggestion,
        "method": test.method,
        "suggestions": test.suggestions,
        "explanation": test.explanation(),
        "steps": len(test.rates),
        "seconds": round(time.perf_counter() - started, 2),
        "files": files,
    }


def _prepare(config: RunConfig) -> Any:
    if config.task == "finetune":
        from recipes.training.finetune import prepare_finetune

        return prepare_finetune(config)
    from recipes.training.train import prepare_train

    return prepare_train(config)
