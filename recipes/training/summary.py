"""What a run is about to do, in a few lines printed before epoch 1.

Forgetting `--data` trains on the built-in set; a preset or file may set a
rate the user did not expect. The summary says, before any time is spent:
the data (loudly when it is the built-in set), images per split, the input
size and where it came from, the model and its size, the preset, and the
settings that matter most.
"""

from __future__ import annotations

from typing import Any


def run_summary(prepared: Any) -> list[str]:
    """The lines that describe a prepared run.

    Args:
        prepared: A `recipes.training.runner.Prepared` run.

    Returns:
        Four or five lines, without trailing newlines.
    """
    config, data = prepared.config, prepared.data
    lines = []
    if data.layout == "shapes":
        lines.append(
            f"NOTE: no --data or --dataset given: training on the built-in set, {data.source}."
        )
    else:
        lines.append(f"data: {data.source}")
    splits = ", ".join(
        f"{split} {data.images(split)}" for split in ("train", "val", "test") if data.images(split)
    )
    height, width = data.input_size
    origin = "--image-size" if config.model.image_size else "the model's default"
    lines.append(
        f"images: {splits}; {data.num_classes} classes; input {height}x{width} px ({origin})"
    )
    preset = config.run.preset or "none"
    lines.append(
        f"model: {prepared.name}, {prepared.model.count_params():,} parameters; preset {preset}"
    )
    optim = config.optim
    schedule = optim.schedule + (
        f" after {optim.warmup_epochs} warm-up epoch(s)" if optim.warmup_epochs else ""
    )
    epochs = (
        f"{config.finetune.head_epochs} head + {optim.epochs} fine-tune epochs"
        if config.task == "finetune"
        else f"{optim.epochs} epochs"
    )
    lines.append(
        f"training: {optim.optimizer} lr {optim.lr:.3g} ({schedule}), batch {optim.batch_size}, "
        f"{epochs}, augmentation {config.augmentation.augment}, "
        f"precision {prepared.setup.precision}"
    )
    return lines
