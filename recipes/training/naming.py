"""Default names of run directories: what a run is about, then a timestamp.

`zoo train` names a run after the architecture it trains (`resnet18-...`);
`zoo finetune` after the data it fits the new head to (`faces-...`), which
says more than its base (a run fine-tuned from a `textures` run is about
faces, not textures). `RunLayout.create` adds the timestamp.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from recipes.config import RunConfig
from recipes.config.schema import DataSettings

BUILT_IN = "shapes"
"""The name of the built-in set, used when a run has no `--data` or `--dataset`."""

_SPLIT_FOLDERS = ("train", "val", "validation", "test")


def data_name(data: DataSettings) -> str:
    """A short name of a run's data: the folder's name, the dataset's, or `shapes`.

    A split folder given as the data (`faces/train`) is named with its parent
    (`faces-train`). Characters other than letters, digits, `.`, `_` and `-`
    become `_`.

    Args:
        data: The run's data settings.

    Returns:
        The name, never empty.
    """
    if data.data_dir:
        path = Path(os.path.normpath(os.path.expanduser(data.data_dir)))
        if path.name in ("", ".", ".."):
            path = path.resolve()
        name = path.name
        if name.lower() in _SPLIT_FOLDERS and path.parent.name not in ("", ".", ".."):
            name = f"{path.parent.name}-{name}"
    elif data.dataset:
        name = data.dataset
    else:
        return BUILT_IN
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-") or "data"


def run_name(config: RunConfig, model_name: str) -> str:
    """The stem of a run directory's default name.

    Args:
        config: The run configuration (`task`, `data`).
        model_name: The architecture's name (what `zoo train` runs are named after).

    Returns:
        `model_name` for `train`; the data's name (`data_name`) for `finetune`.
    """
    return data_name(config.data) if config.task == "finetune" else model_name
