"""The built-in shapes' class names, and the checks of a class list.

They live with the schema so that checking a configuration (`--classes`,
`--shape-classes`) needs no data code; `recipes.data.shapes` draws the shapes.
"""

from __future__ import annotations

from collections.abc import Sequence

from zoo.errors import UsageError, did_you_mean, quoted

SHAPE_NAMES = (
    "circle",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "heart",
    "crescent",
    "arrow",
    "hexagon",
    "ellipse",
    "rectangle",
    "semicircle",
    "frame",
    "l_shape",
    "t_shape",
    "pentagon",
    "rhombus",
    "bowtie",
    "hollow_triangle",
)
"""The shape classes, most distinct first."""

MIN_CLASSES, MAX_CLASSES = 2, len(SHAPE_NAMES)


def class_names(num_classes: int) -> list[str]:
    """The class names of the set with `num_classes` classes, in label order.

    Args:
        num_classes: 2 to 20.

    Returns:
        The first `num_classes` of `SHAPE_NAMES`, sorted.

    Raises:
        UsageError: `num_classes` is out of range.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise UsageError(f"num_classes must be an int. Received: num_classes={num_classes!r}")
    if not MIN_CLASSES <= num_classes <= MAX_CLASSES:
        raise UsageError(
            f"The built-in shapes dataset has {MIN_CLASSES} to {MAX_CLASSES} classes; "
            f"pass --classes between them, or give your own data with --data DIR. "
            f"Received: num_classes={num_classes}"
        )
    return sorted(SHAPE_NAMES[:num_classes])


def chosen_classes(classes: int | Sequence[str]) -> list[str]:
    """The class names of the set with the given classes, in label order.

    Args:
        classes: How many (the first of `SHAPE_NAMES`), or which: shape names,
            or one comma-separated text of them.

    Returns:
        The names, sorted.

    Raises:
        UsageError: Too few or too many classes, an unknown or repeated name.
    """
    if isinstance(classes, int):
        return class_names(classes)
    names = classes.split(",") if isinstance(classes, str) else list(classes)
    names = [str(name).strip() for name in names if str(name).strip()]
    for name in names:
        if name not in SHAPE_NAMES:
            raise UsageError(
                f"Unknown shape class {quoted(name)}.{did_you_mean(name, SHAPE_NAMES)} "
                f"The built-in set's classes: {', '.join(SHAPE_NAMES)}."
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UsageError(f"Shape classes are named twice: {', '.join(repeated)}; name each once.")
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise UsageError(
            f"The built-in shapes dataset takes {MIN_CLASSES} to {MAX_CLASSES} classes; "
            f"{len(names)} {'was' if len(names) == 1 else 'were'} named."
        )
    return sorted(names)
