"""The ensemble model: its members, the checks that they fit together, and the Keras glue.

Members are runs loaded with `recipes.run.trained.load_trained`, in
float32 (an ensemble is for inference). The glue is Keras' own layers
(`Resizing`, `Average`), so the model file loads with plain Keras whenever its
members do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recipes.run.layout import RunLayout
from recipes.run.trained import TrainedModel, load_trained
from zoo.errors import UsageError, shorten

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")
"""The run schema's interpolations that `keras.layers.Resizing` offers."""


def load_member(run: str | Path) -> TrainedModel:
    """Loads one member: a finished run directory, in float32.

    Args:
        run: A run directory written by `zoo train`/`zoo finetune`.

    Returns:
        The loaded run.

    Raises:
        UsageError: A model file, a directory that is not a finished run, or
            a model that does not load.
    """
    path = Path(run)
    if path.is_file():
        raise UsageError(
            f"{path} is a model file; an ensemble takes run directories written by "
            "`zoo train`/`zoo finetune` (their config.yaml says how to feed each model)."
        )
    member = load_trained(path, float32=True)
    if member.run_dir is None:
        raise UsageError(
            f"{path} is not a zoo run directory (no {RunLayout.CONFIG}); pass run directories "
            "written by `zoo train`/`zoo finetune`."
        )
    return member


def check_count(count: int) -> None:
    """Checks that there are at least two members.

    Args:
        count: How many runs were given.

    Raises:
        UsageError: Fewer than two.
    """
    if count < 2:
        raise UsageError(
            f"An ensemble needs at least two runs; received {count}. Pass two or more run "
            "directories written by `zoo train`/`zoo finetune`."
        )


def check_members(members: Sequence[TrainedModel]) -> None:
    """Checks that the members can be averaged.

    Args:
        members: The loaded runs.

    Raises:
        UsageError: Fewer than two, a run given twice, class names that differ
            (names or order, naming the classes) or channels that differ.
    """
    check_count(len(members))
    seen: dict[Path, Path | None] = {}
    for member in members:
        key = Path(member.run_dir or "").resolve()
        if key in seen:
            raise UsageError(
                f"{member.source} is given twice (as {seen[key]}); an ensemble of a run with "
                "itself is that run."
            )
        seen[key] = member.source
    first = members[0]
    for member in members[1:]:
        if member.class_names != first.class_names:
            raise UsageError(_classes_differ(first, member))
        if member.channels != first.channels:
            raise UsageError(
                f"{member.source} takes {member.channels}-channel images but {first.source} "
                f"takes {first.channels}; an ensemble's members must take the same channels."
            )


def build_ensemble(members: Sequence[TrainedModel], name: str = "ensemble") -> Any:
    """One Keras model averaging the members' softmax probabilities.

    Its input is the largest member input size; a member that takes smaller
    images gets a `keras.layers.Resizing` with its own interpolation. Member
    models are nested under their names, or `member_0`, `member_1`, ... when
    their names are not distinct.

    Args:
        members: Members that passed `check_members`.
        name: The model's name.

    Returns:
        A `keras.Model`: raw images `[None, H, W, C]` in 0..255 in, float32
        probabilities `[None, classes]` out (layer `probabilities`).

    Raises:
        UsageError: The largest size is not square, or a member that needs
            resizing was trained with an interpolation `Resizing` lacks.
    """
    import keras

    height = max(member.input_size[0] for member in members)
    width = max(member.input_size[1] for member in members)
    if height != width:
        sizes = ", ".join(f"{m.source}: {m.input_size[0]}x{m.input_size[1]}" for m in members)
        raise UsageError(
            f"The largest input of the runs would be {height}x{width}, which is not square "
            f"({sizes}); an ensemble's input size is one square side."
        )
    _name_members(members)
    inputs = keras.Input((height, width, members[0].channels), name=INPUT_NAME)
    outputs = []
    for index, member in enumerate(members):
        images = inputs
        if tuple(member.input_size) != (height, width):
            images = _resizing(member, index)(inputs)
        probabilities = member.model(images)
        if isinstance(probabilities, list | tuple):  # a loaded model returns its output list
            (probabilities,) = probabilities
        outputs.append(probabilities)
    average = keras.layers.Average(name=OUTPUT_NAME, dtype="float32")(outputs)
    return keras.Model(inputs, average, name=name)


def _classes_differ(first: TrainedModel, member: TrainedModel) -> str:
    reference, names = first.class_names, member.class_names
    if sorted(reference) == sorted(names):
        swapped = [f"{a}/{b}" for a, b in zip(reference, names, strict=True) if a != b]
        return (
            f"{member.source} has the classes of {first.source} in another order (label by "
            f"label, theirs/its: {_listed(swapped)}); an ensemble's members must list the same "
            "classes in the same order."
        )
    only_first = [name for name in reference if name not in names]
    only_member = [name for name in names if name not in reference]
    parts = [
        f"only in {source}: {_listed(differing)}"
        for source, differing in ((first.source, only_first), (member.source, only_member))
        if differing
    ]
    return (
        f"{member.source} and {first.source} have different classes ({'; '.join(parts)}); "
        "an ensemble's members must share their class names."
    )


def _listed(names: Sequence[str]) -> str:
    return shorten(", ".join(names), 120)


def _name_members(members: Sequence[TrainedModel]) -> None:
    """Gives the members distinct names, which nesting them in one model needs."""
    names = [member.model.name for member in members]
    reserved = {INPUT_NAME, OUTPUT_NAME, *(f"resize_{i}" for i in range(len(members)))}
    if len(set(names)) == len(names) and not reserved & set(names):
        return
    for index, member in enumerate(members):
        member.model.name = f"member_{index}"


def _resizing(member: TrainedModel, index: int) -> Any:
    import keras

    if member.interpolation not in RESIZE_INTERPOLATIONS:
        raise UsageError(
            f"{member.source} was trained with {member.interpolation} interpolation, which "
            f"keras.layers.Resizing does not offer ({', '.join(RESIZE_INTERPOLATIONS)}), and "
            "takes smaller images than the ensemble; use members of the same input size."
        )
    height, width = member.input_size
    return keras.layers.Resizing(
        height, width, interpolation=member.interpolation, name=f"resize_{index}"
    )
