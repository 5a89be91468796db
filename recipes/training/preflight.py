"""What a run checks before TensorFlow loads, so that a usage error answers at once.

Importing TensorFlow takes seconds; a mistyped architecture, a missing folder,
a class count the data does not have or an `--output` that holds another run
should not wait for it. Each check here is the same one the run makes later
(the same functions, or the same messages), on names, paths and folder
listings only: no image is opened and no model is built.
"""

from __future__ import annotations

import os

from recipes.config import RunConfig
from recipes.data import check_class_count
from recipes.data.sources.folder import folder_classes
from recipes.run.output import check_output
from zoo.errors import UsageError
from zoo.names import canonical_name


def preflight(config: RunConfig) -> None:
    """Checks a run's names, paths, class count and output, without TensorFlow.

    Args:
        config: The resolved configuration of `zoo train` or `zoo finetune`.

    Raises:
        UsageError: What the run would refuse later (see the module's docstring).
    """
    model = config.model
    if config.task == "train":
        canonical_name(str(model.arch))
    else:
        check_base(str(model.base))
    if config.data.data_dir:
        check_class_count(model.classes, folder_classes(config.data))
    check_output(config)


def check_base(base: str) -> None:
    """A fine-tuning base is an existing file or run directory, else an architecture name."""
    if os.path.exists(base):
        return
    if base.endswith(".keras") or os.sep in base:
        raise UsageError(
            f"{base} does not exist; pass an architecture name (see `zoo list`), a .keras "
            "model file or a run directory as --base."
        )
    canonical_name(base)
