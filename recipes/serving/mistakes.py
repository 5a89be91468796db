"""The worst-classified images of an evaluation, as a grid (fastai's top-losses plot).

The images with the highest loss (the lowest probability given to their true
class) are the ones to look at first: mislabelled files, classes that look
alike, what the model never learned. `TopLosses` keeps the `k` worst while the
batches go by (so memory does not grow with the split) and draws them with
the true class, the predicted class and its probability, and the file's name
so that a mislabelled file can be found.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from recipes.run.canvas import grid_shape, new_figure, tile_grid, wrapped_title, write_png
from zoo.errors import shorten

TOP_LOSSES = 16
"""Images in the grid."""


class TopLosses:
    """Keeps the `k` images with the highest loss seen so far.

    Args:
        k: How many to keep.
    """

    def __init__(self, k: int = TOP_LOSSES) -> None:
        self.k = k
        self.kept: list[tuple[float, Any, int, int, float, str]] = []

    def offer(
        self, images: Any, probabilities: Any, truth: Any, files: list[str] | None = None
    ) -> None:
        """Considers a batch.

        Args:
            images: `[B, H, W, C]` pixels in 0..255.
            probabilities: `[B, classes]` the model's probabilities.
            truth: `[B]` true class indices (in the model's label order).
            files: The file of each image (`None`: the source has no files).
        """
        import numpy as np

        probabilities = np.asarray(probabilities, dtype="float64")
        truth = np.asarray(truth)
        given = probabilities[np.arange(len(truth)), truth]
        losses = -np.log(np.clip(given, 1e-12, 1.0))
        floor = self.kept[-1][0] if len(self.kept) >= self.k else -math.inf
        for index in np.flatnonzero(losses > floor):
            predicted = int(np.argmax(probabilities[index]))
            self.kept.append(
                (
                    float(losses[index]),
                    np.asarray(images[index]),
                    int(truth[index]),
                    predicted,
                    float(probabilities[index, predicted]),
                    files[index] if files is not None else "",
                )
            )
        self.kept.sort(key=lambda item: -item[0])
        del self.kept[self.k :]

    def draw(self, path: str | Path, class_names: list[str], title: str) -> str | None:
        """Draws the kept images: true class, prediction and its probability, loss.

        Returns:
            The path written, or `None` when no image was seen.
        """
        from recipes.run.drawing import as_rgb

        if not self.kept:
            return None
        rows, columns = grid_shape(len(self.kept), max_columns=4)
        figure = new_figure(2.3 * columns, 2.9 * rows + 0.4)
        labels = [
            (f"{shorten(Path(file).name, 28)}\n" if file else "")
            + f"true {class_names[truth]}\npred {class_names[predicted]} {probability:.0%}"
            f"  loss {loss:.2f}"
            for loss, _, truth, predicted, probability, file in self.kept
        ]
        tiles = [as_rgb(image) for _, image, *_ in self.kept]
        tile_grid(figure, tiles, labels, max_columns=4)
        wrapped_title(figure, title)
        return write_png(figure, path)

    def listed(self, class_names: list[str]) -> list[dict[str, Any]]:
        """The kept images, worst first, for the evaluation's JSON report."""
        return [
            {
                "file": file or None,
                "loss": round(loss, 4),
                "true": class_names[truth],
                "predicted": class_names[predicted],
                "probability": round(probability, 4),
            }
            for loss, _, truth, predicted, probability, file in self.kept
        ]
