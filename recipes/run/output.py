"""What a run's `--output` and `--resume` must be, checked without touching anything.

Cheap (no lock, no TensorFlow), so a command refuses a bad `--output` or
`--resume` before it loads anything (`recipes.training.preflight`), and
`RunLayout.create` and `RunLayout.reopen` refuse the same things the same way.
"""

from __future__ import annotations

from pathlib import Path

from recipes.config import RunConfig
from recipes.config.schema import AUTO_LR
from recipes.run.folders import refuse_used
from recipes.run.layout import RunLayout
from zoo.errors import UsageError


def check_output(config: RunConfig) -> None:
    """Refuses what `RunLayout.create` and `RunLayout.reopen` would refuse.

    `reopen` checks the configuration again under the run's lock.

    Raises:
        UsageError: `--resume` without `--output`, with a folder that is no
            run, a finished run or a changed configuration; an `--output`
            that holds files, without `--resume`.
    """
    if not config.run.resume:
        if config.run.output:
            refuse_used(
                Path(config.run.output),
                "pass --resume to continue the run in it, or choose another --output.",
            )
        return
    if not config.run.output:
        raise UsageError("--resume needs --output RUN_DIR: the run directory to continue.")
    run = RunLayout(config.run.output)
    if not run.file(RunLayout.CONFIG).is_file():
        raise UsageError(
            f"{run.path} is not a zoo run directory (no {RunLayout.CONFIG}); check the path."
        )
    if config.optim.lr == AUTO_LR:  # compared once the saved rate replaces `auto`
        run.check_unfinished()
    else:
        run.check_resumable(config)
