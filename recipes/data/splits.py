"""Splitting a training set into train and validation, the same way for every source.

Each class is split by `val_split`, at least one image on each side, and
shuffled by its own generator seeded with the seed and the class name, so
adding a class does not move another class's images.
"""

from __future__ import annotations

import random

from zoo.errors import UsageError


def stratified_split(
    by_class: dict[str, list[int]], val_split: float, seed: int
) -> tuple[list[int], list[int]]:
    """Splits each class by `val_split`, at least one member on each side.

    Each class is shuffled by its own generator, seeded with `seed` and the
    class name, so adding a class does not move another class's images.

    Args:
        by_class: Members (indices) of each class, in a canonical order.
        val_split: Fraction for validation, in (0, 1).
        seed: The split's seed.

    Returns:
        `(train, val)` indices, each sorted.

    Raises:
        UsageError: A class has fewer than 2 members.
    """
    train: list[int] = []
    val: list[int] = []
    for name, members in by_class.items():
        if len(members) < 2:
            raise UsageError(too_few_to_split(name, len(members)) + ".")
        members = list(members)
        random.Random(f"{seed}:{name}").shuffle(members)
        count = min(max(1, round(len(members) * val_split)), len(members) - 1)
        val.extend(members[:count])
        train.extend(members[count:])
    return sorted(train), sorted(val)


def too_few_to_split(name: str, count: int) -> str:
    """Why a class cannot be split, and what to do about it (no final period)."""
    return (
        f"Class {name!r} has only {count} usable image; a validation split needs at least 2 per "
        "class: add images, or pass --val-split 0 for no validation"
    )
