"""What a run is about to do, in a few lines printed before epoch 1.

Forgetting `--data` trains on the built-in set; a preset or file may set a
rate the user did not expect. The summary says, before any time is spent:
the data (loudly when it is the built-in set), images per split, the input
size and where it came from, the model and its size, the preset, and the
settings that matter most. When the images are scaled up to the input size
(AlexNet's 227 px from 32-px images: each epoch costs 50 times the pixels,
for no new detail), a NOTE says from what size to what size, and why.
"""

from __future__ import annotations

from typing import Any

import zoo
from recipes.data.augment import preset_name
from recipes.training.optim import phase_two_rate
from zoo.errors import ZooError


def run_summary(prepared: Any) -> list[str]:
    """The lines that describe a prepared run.

    Args:
        prepared: A `recipes.training.runner.Prepared` run.

    Returns:
        Four to six lines, without trailing newlines.
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
    upscaled = upscale_note(prepared)
    if upscaled:
        lines.append(upscaled)
    preset = config.run.preset or "none"
    lines.append(
        f"model: {prepared.name}, {prepared.model.count_params():,} parameters; preset {preset}"
    )
    optim = config.optim
    schedule = optim.schedule + (
        f" after {_count(optim.warmup_epochs, 'warm-up epoch')}" if optim.warmup_epochs else ""
    )
    if config.task == "finetune":
        lines.append(_probe_line(prepared))
    epochs = _phases(prepared) if config.task == "finetune" else _count(optim.epochs, "epoch")
    lines.append(
        f"training: {optim.optimizer} lr {_rates(prepared)} ({schedule}), batch "
        f"{optim.batch_size}, {epochs}, augmentation "
        f"{_augmentation(config.augmentation.augment, data.input_size)}, "
        f"precision {prepared.setup.precision}"
    )
    return lines


def _probe_line(prepared: Any) -> str:
    """The linear probe and kNN scores on the base's features (fine-tuning)."""
    facts = prepared.facts
    scores = [
        f"{name} {facts[key]:.1%}"
        for name, key in (("probe", "probe_val_accuracy"), ("kNN", "knn_val_accuracy"))
        if key in facts
    ]
    where = "validation accuracy " + ", ".join(scores) if scores else "no validation split"
    use = "the new head" if prepared.fitted_head else "a reference (--method full)"
    return (
        f"linear probe on the base's features: {where}; fitted in "
        f"{facts.get('probe_seconds', 0):.1f} s, {use}"
    )


def _phases(prepared: Any) -> str:
    """What a fine-tuning run trains: its phases' epochs (none after a probe alone)."""
    parts, begin = [], 0
    for phase in prepared.phases:
        noun = "head epoch" if phase.name == "head" else "fine-tune epoch"
        passes = f" of {phase.passes} passes" if phase.passes > 1 else ""
        parts.append(_count(phase.end - begin, noun) + passes)
        begin = phase.end
    return " + ".join(parts) if parts else "no training after the probe"


def _rates(prepared: Any) -> str:
    """The learning rate of each phase that trains."""
    optim = prepared.config.optim
    names = [phase.name for phase in prepared.phases]
    if not names:
        return "unused (the probe alone trains nothing)"
    if "finetune" not in names:
        return f"{optim.lr:.3g}"
    tuned = phase_two_rate(prepared.config)
    return f"{optim.lr:.3g} (head), {tuned:.3g} (fine-tune)" if "head" in names else f"{tuned:.3g}"


def _augmentation(augment: str, input_size: tuple[int, int]) -> str:
    chosen = preset_name(augment, input_size)
    return augment if chosen == augment else f"{augment} ({chosen} at this input size)"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def upscale_note(prepared: Any) -> str | None:
    """A NOTE when the images are scaled up to the model's input size, else `None`.

    It says from what size to what size, and why: `--image-size`, or the
    architecture's (or base's) default input size, with its minimum when the
    source images are below it.

    Args:
        prepared: A `recipes.training.runner.Prepared` run.

    Returns:
        The note, or `None` when the images keep their size or shrink, or
        their size is unknown (the built-in set is drawn at the input size).
    """
    config, data = prepared.config, prepared.data
    if data.source_size is None:
        return None
    source_height, source_width = data.source_size
    height, width = data.input_size
    if height <= source_height and width <= source_width:
        return None
    factor = (height * width) / max(source_height * source_width, 1)
    start = (
        f"NOTE: the images ({source_height}x{source_width} px"
        + (", the median" if data.layout in ("classes", "splits") else "")
        + f") are scaled up to {height}x{width} px"
    )
    cost = f"{factor:.0f}x the pixels" if factor >= 10 else f"{factor:.2g}x the pixels"
    if config.model.image_size:
        return f"{start} (--image-size): {cost} per image, and no new detail."
    spec = _spec(prepared.name)
    if spec is None:
        return f"{start}, the base's input size: {cost} per image, and no new detail."
    smallest = max(spec.min_size, min(source_height, source_width))
    if smallest >= min(height, width):
        why = f"{spec.name}'s default input size, also the smallest it takes"
        advice = ""
    elif spec.min_size > min(source_height, source_width):
        why = f"{spec.name}'s default input size (it takes {spec.min_size} px at least)"
        advice = f"; --image-size {smallest} is the least work"
    else:
        why = f"{spec.name}'s default input size"
        advice = f"; --image-size {smallest} trains at the images' own size"
    return f"{start}, {why}: {cost} per image, and no new detail{advice}."


def _spec(name: str) -> Any:
    """The registered architecture of that name, or `None` (a base loaded from a file)."""
    try:
        return zoo.get_spec(name)
    except ZooError:
        return None
