"""Occlusion sensitivity (Zeiler & Fergus 2014): how much the target logit drops under a grey patch.

A grey square (`OCCLUSION_GREY`) slides over the image with a stride of half
its side; for each pixel the map holds the mean drop of the target logit over
the patches that cover it. Positive where hiding the pixel hurts the class;
negative where it helps. All the occluded copies of an image go through the
model in batches.
"""

from __future__ import annotations

import math
from typing import Any

from recipes.understand.subject import BATCH, Subject

OCCLUSION_GREY = 127.5
OCCLUSION_FRACTION = 1 / 6
"""The patch's side as a fraction of the image's shorter side."""


def patch_grid(height: int, width: int) -> tuple[int, int, list[tuple[int, int]]]:
    """The patch side, the stride and the top-left corners covering the whole image."""
    side = max(2, math.ceil(min(height, width) * OCCLUSION_FRACTION))
    stride = max(1, side // 2)

    def starts(length: int) -> list[int]:
        positions = list(range(0, max(1, length - side + 1), stride))
        if positions[-1] + side < length:  # the last patch reaches the edge
            positions.append(length - side)
        return positions

    corners = [(top, left) for top in starts(height) for left in starts(width)]
    return side, stride, corners


def occlusion(subject: Subject, images: Any, targets: Any) -> Any:
    """Occlusion maps, `[N, H, W]`: the mean drop of the target logit (signed)."""
    import numpy as np

    height, width = images.shape[1:3]
    side, _, corners = patch_grid(height, width)
    maps = []
    for image, target in zip(images, targets, strict=True):
        reference = float(subject.logits(image[None]).numpy()[0, target])
        drop = np.zeros((height, width), dtype="float64")
        cover = np.zeros((height, width), dtype="float64")
        for start in range(0, len(corners), BATCH):
            chunk = corners[start : start + BATCH]
            batch = np.repeat(image[None], len(chunk), axis=0)
            for index, (top, left) in enumerate(chunk):
                batch[index, top : top + side, left : left + side] = OCCLUSION_GREY
            scores = subject.logits(batch).numpy()[:, target]
            for (top, left), score in zip(chunk, scores, strict=True):
                drop[top : top + side, left : left + side] += reference - float(score)
                cover[top : top + side, left : left + side] += 1.0
        maps.append(drop / np.maximum(cover, 1.0))
    return np.stack(maps).astype("float32")
