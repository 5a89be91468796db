"""The built-in shapes' outlines: each class is polygons in a unit box, radius about 1.

`recipes.data.shapes` rotates, scales and places them, and draws them.
"""

from __future__ import annotations

import math

from recipes.config.shape_classes import SHAPE_NAMES

Polygon = list[tuple[float, float]]


def _regular(sides: int, radius: float = 1.0, phase: float = 0.0) -> Polygon:
    return [
        (
            radius * math.cos(phase + 2 * math.pi * k / sides),
            radius * math.sin(phase + 2 * math.pi * k / sides),
        )
        for k in range(sides)
    ]


def _star(points: int, inner: float) -> Polygon:
    vertices = []
    for k in range(2 * points):
        radius = 1.0 if k % 2 == 0 else inner
        angle = -math.pi / 2 + math.pi * k / points
        vertices.append((radius * math.cos(angle), radius * math.sin(angle)))
    return vertices


def _scaled(polygon: Polygon, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> Polygon:
    return [(x * sx + dx, y * sy + dy) for x, y in polygon]


def _box(half_width: float, half_height: float) -> Polygon:
    return [
        (-half_width, -half_height),
        (half_width, -half_height),
        (half_width, half_height),
        (-half_width, half_height),
    ]


def _heart() -> Polygon:
    vertices = []
    for k in range(64):
        t = 2 * math.pi * k / 64
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        vertices.append((x / 17.0, -(y + 2.5) / 17.0))
    return vertices


_CIRCLE = _regular(64)


def _geometry(name: str) -> list[tuple[Polygon, int]]:
    """Polygons to draw in order: fill 255 adds to the shape, 0 cuts a hole."""
    if name == "circle":
        return [(_CIRCLE, 255)]
    if name == "square":
        return [(_regular(4, 1.0, math.pi / 4), 255)]
    if name == "triangle":
        return [(_regular(3, 1.1, -math.pi / 2), 255)]
    if name == "star":
        return [(_star(5, 0.42), 255)]
    if name == "cross":
        return [(_box(0.95, 0.33), 255), (_box(0.33, 0.95), 255)]
    if name == "ring":
        return [(_CIRCLE, 255), (_scaled(_CIRCLE, 0.55, 0.55), 0)]
    if name == "heart":
        return [(_heart(), 255)]
    if name == "crescent":
        return [(_CIRCLE, 255), (_scaled(_CIRCLE, 0.85, 0.85, 0.5, -0.1), 0)]
    if name == "arrow":
        return [([(-1.0, -0.22), (0.2, -0.22), (0.2, -0.6), (1.0, 0.0), (0.2, 0.6),
                  (0.2, 0.22), (-1.0, 0.22)], 255)]  # fmt: skip
    if name == "hexagon":
        return [(_regular(6), 255)]
    if name == "ellipse":
        return [(_scaled(_CIRCLE, 1.0, 0.5), 255)]
    if name == "rectangle":
        return [(_box(1.0, 0.42), 255)]
    if name == "semicircle":
        half = [(math.cos(math.pi * k / 32), -math.sin(math.pi * k / 32)) for k in range(33)]
        return [(_scaled(half, 1.0, 1.0, 0.0, 0.45), 255)]
    if name == "frame":
        return [(_regular(4, 1.0, math.pi / 4), 255), (_regular(4, 0.62, math.pi / 4), 0)]
    if name == "l_shape":
        return [([(-0.7, -1.0), (-0.15, -1.0), (-0.15, 0.45), (0.8, 0.45), (0.8, 1.0),
                  (-0.7, 1.0)], 255)]  # fmt: skip
    if name == "t_shape":
        return [([(-1.0, -0.9), (1.0, -0.9), (1.0, -0.35), (0.28, -0.35), (0.28, 1.0),
                  (-0.28, 1.0), (-0.28, -0.35), (-1.0, -0.35)], 255)]  # fmt: skip
    if name == "pentagon":
        return [(_regular(5, 1.0, -math.pi / 2), 255)]
    if name == "rhombus":
        return [([(-1.0, 0.0), (0.0, -0.5), (1.0, 0.0), (0.0, 0.5)], 255)]
    if name == "bowtie":
        return [([(-1.0, -0.75), (0.0, 0.0), (-1.0, 0.75)], 255),
                ([(1.0, -0.75), (0.0, 0.0), (1.0, 0.75)], 255)]  # fmt: skip
    if name == "hollow_triangle":
        return [(_regular(3, 1.1, -math.pi / 2), 255), (_regular(3, 0.5, -math.pi / 2), 0)]
    raise ValueError(f"unknown shape {name!r}")


GEOMETRY = {name: _geometry(name) for name in SHAPE_NAMES}
"""Each class's polygons, drawn in order: fill 255 adds to the shape, 0 cuts a hole."""
