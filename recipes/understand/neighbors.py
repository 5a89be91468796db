"""`zoo neighbors`: the training images nearest to an image in the model's feature space.

The lectures' "last layer: nearest neighbours": images whose penultimate
features are close (Euclidean distance) look alike to the classifier, even
where their pixels differ. Distances come from scikit-learn's
`NearestNeighbors`; each query gets a PNG strip (the image, then its
neighbours with class and distance) and a JSON file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recipes.run.canvas import new_figure, write_png
from recipes.run.drawing import show_image
from recipes.run.trained import load_trained
from recipes.understand.explain import unique_stems
from recipes.understand.features import FeatureReader, feature_bank
from recipes.understand.images import class_folder_files, load_images
from zoo.atomic import atomic_write_text
from zoo.errors import UsageError


def neighbors(
    path: str | Path,
    inputs: list[str],
    data_dir: str,
    k: int = 5,
    layer: str | None = None,
    output_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Finds the `k` images of a folder nearest to each query image.

    Args:
        path: A run directory or a `.keras` file.
        inputs: The query images (files, folders, glob patterns).
        data_dir: The folder of class sub-folders to search (the training data).
        k: Neighbours per image.
        layer: The layer whose features are compared (default: penultimate).
        output_dir: Where the files go (default: `RUN/neighbors`).

    Returns:
        `model`, `layer`, `data`, `queries` (per image: `path`, `png`, `json`,
        and `neighbors` with `path`, `class`, `distance`), `bad` (unreadable
        queries and folder images).

    Raises:
        UsageError: Bad model, images, folder, layer or `k`.
    """
    from sklearn.neighbors import NearestNeighbors

    if k < 1:
        raise UsageError(f"--k must be at least 1. Received: k={k}")
    trained = load_trained(path, float32=True)
    queries = load_images(trained, inputs)
    bank = feature_bank(trained, class_folder_files(trained, data_dir), layer)
    if len(bank.paths) == 0:
        raise UsageError(f"{data_dir} holds no readable image of the model's classes.")
    count = min(k, len(bank.paths))
    query_features = FeatureReader(trained, bank.layer)(queries.pixels)
    index = NearestNeighbors(n_neighbors=count).fit(bank.features)
    distances, found = index.kneighbors(query_features)
    root = Path(output_dir) if output_dir is not None else trained.output_dir / "neighbors"
    results = []
    for stem, query, pixels, row_distances, row_found in zip(
        unique_stems(queries.paths), queries.paths, queries.pixels, distances, found, strict=True
    ):
        listed = [
            {
                "path": str(bank.paths[item]),
                "class": trained.class_names[bank.labels[item]],
                "distance": round(float(distance), 6),
            }
            for item, distance in zip(row_found, row_distances, strict=True)
        ]
        entry = {"path": str(query), "neighbors": listed}
        entry["png"] = _strip(trained, root / f"{stem}.png", query, pixels, listed)
        entry["json"] = str(root / f"{stem}.json")
        atomic_write_text(entry["json"], json.dumps(entry, indent=2) + "\n")
        results.append(entry)
    return {
        "model": str(trained.source),
        "layer": bank.layer,
        "data": data_dir,
        "queries": results,
        "bad": queries.bad + bank.bad,
    }


def _strip(trained: Any, output: Path, query: Path, pixels: Any, listed: list[dict]) -> str:
    from recipes.understand.images import load_images

    found = load_images(trained, [item["path"] for item in listed]).pixels
    columns = 1 + len(listed)
    figure = new_figure(1.8 * columns, 2.3)
    show_image(figure.add_subplot(1, columns, 1), pixels, f"query\n{query.name}")
    for position, (item, image) in enumerate(zip(listed, found, strict=True), start=2):
        title = f"{item['class']}\nd={item['distance']:.3g}"
        show_image(figure.add_subplot(1, columns, position), image, title)
    figure.suptitle(f"nearest {len(listed)} in feature space", fontsize=9)
    return write_png(figure, output)
