"""`zoo embed`: the model's feature space in two dimensions, a k-NN score, and a projector export.

The lectures' "dimensionality reduction" of last-layer features: scikit-learn's
PCA or t-SNE maps the penultimate features of up to `max_images` images (an
even share per class) to 2-D; `embed.png` shows them coloured by class with
thumbnails of some. The k-NN accuracy (each image classified by the majority
class of its `k` nearest other images) says how well the classes separate in
feature space. `projector/` holds what TensorBoard's embedding projector reads
(`tensors.tsv`, `metadata.tsv`, `sprite.png`, `projector_config.pbtxt`), and
the run directory's own `projector_config.pbtxt` points to it, so
`tensorboard --logdir RUN` shows the projector beside the training scalars
(`projector.py`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from recipes.run.canvas import new_figure, write_png
from recipes.run.trained import load_trained
from recipes.understand.features import FeatureBank, feature_bank
from recipes.understand.images import class_folder_files
from recipes.understand.projector import link_from_run, write_projector
from zoo.atomic import atomic_write_text
from zoo.errors import UsageError

METHODS = ("pca", "tsne")
LABELS = {"pca": "PCA", "tsne": "t-SNE"}
MAX_IMAGES = 1000
"""Default cap: t-SNE of 1,000 images and their features take well under a minute on 2 cores."""
THUMBNAILS_SHOWN = 120
SPRITE_LIMIT = 8192
"""TensorBoard's largest sprite side, in pixels."""


def embed(
    path: str | Path,
    data_dir: str,
    method: str = "pca",
    max_images: int = MAX_IMAGES,
    k: int = 5,
    layer: str | None = None,
    output_dir: str | Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Maps a folder's images to 2-D by their features and scores the classes' separation.

    Args:
        path: A run directory or a `.keras` file.
        data_dir: A folder of class sub-folders.
        method: `pca` or `tsne`.
        max_images: Most images used (an even share per class).
        k: Neighbours of the k-NN accuracy.
        layer: The layer whose features are used (default: penultimate).
        output_dir: Where the files go (default: `RUN/embed`).
        seed: Seed of the image draw and of t-SNE.

    Returns:
        `model`, `layer`, `method`, `images`, `knn_accuracy`, `k`, `files`
        (`png`, `json`, `projector`) and `bad`.

    Raises:
        UsageError: Bad model, folder, method, counts or layer.
    """
    if method not in METHODS:
        raise UsageError(f"Unknown --method {method!r}; choose one of {', '.join(METHODS)}.")
    if max_images < 3:
        raise UsageError(f"--max-images must be at least 3. Received: {max_images}")
    if k < 1:
        raise UsageError(f"--k must be at least 1. Received: k={k}")
    trained = load_trained(path, float32=True)
    files = class_folder_files(trained, data_dir, max_images, seed)
    side = min(64, SPRITE_LIMIT // math.ceil(math.sqrt(len(files))))
    bank = feature_bank(trained, files, layer, thumbnail=side)
    if len(bank.paths) < 3:
        raise UsageError(
            f"{data_dir} has {len(bank.paths)} readable image(s) of the model's classes; "
            "a map needs at least 3."
        )
    points = project(bank.features, method, seed)
    accuracy = knn_accuracy(bank.features, bank.labels, k)
    root = Path(output_dir) if output_dir is not None else trained.output_dir / "embed"
    names = trained.class_names
    png = _draw(root / f"embed-{method}.png", points, bank, names, method, accuracy, k)
    projector = write_projector(root / "projector", bank, names)
    run_dir = trained.run_dir
    if run_dir is not None and root.resolve().is_relative_to(Path(run_dir).resolve()):
        link_from_run(Path(run_dir), Path(projector))
    document = {
        "model": str(trained.source),
        "layer": bank.layer,
        "method": method,
        "images": len(bank.paths),
        "knn_accuracy": round(accuracy, 4),
        "k": min(k, len(bank.paths) - 1),
        "files": {"png": png, "json": str(root / f"embed-{method}.json"), "projector": projector},
        "bad": bank.bad,
    }
    points_list = [
        {"path": str(p), "class": names[label], "x": float(x), "y": float(y)}
        for p, label, (x, y) in zip(bank.paths, bank.labels, points, strict=True)
    ]
    atomic_write_text(
        document["files"]["json"], json.dumps({**document, "points": points_list}, indent=2) + "\n"
    )
    return document


def project(features: Any, method: str, seed: int = 0) -> Any:
    """2-D coordinates of feature vectors by scikit-learn's PCA or t-SNE."""
    import numpy as np

    if method == "pca":
        from sklearn.decomposition import PCA

        components = min(2, features.shape[1], len(features))
        points = PCA(n_components=components, random_state=seed).fit_transform(features)
    else:
        from sklearn.manifold import TSNE

        perplexity = min(30.0, (len(features) - 1) / 3)
        points = TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=seed
        ).fit_transform(features)
    if points.shape[1] < 2:  # one feature: a line
        points = np.column_stack([points, np.zeros(len(points))])
    return points.astype("float32")


def knn_accuracy(features: Any, labels: Any, k: int) -> float:
    """Leave-one-out k-NN accuracy: each image labelled by its `k` nearest others' majority.

    Ties go to the class of the nearest image among the tied ones.
    """
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    count = min(k, len(features) - 1)
    _, found = NearestNeighbors(n_neighbors=count + 1).fit(features).kneighbors(features)
    correct = 0
    for row, neighbours in enumerate(found):
        others = [item for item in neighbours if item != row][:count]
        votes = labels[others]
        tally = np.bincount(votes)
        winners = set(np.flatnonzero(tally == tally.max()))
        predicted = next(label for label in votes if label in winners)
        correct += int(predicted == labels[row])
    return correct / len(features)


def _draw(
    output: Path,
    points: Any,
    bank: FeatureBank,
    names: list[str],
    method: str,
    accuracy: float,
    k: int,
) -> str:
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    figure = new_figure(9, 8)
    axes = figure.add_subplot()
    palette = colormaps["tab20" if len(names) > 10 else "tab10"]
    for label in sorted(set(bank.labels.tolist())):
        chosen = bank.labels == label
        colour = palette(label % palette.N)
        axes.scatter(*points[chosen].T, s=14, color=colour, label=names[label], alpha=0.8)
    shown = np.linspace(0, len(points) - 1, min(THUMBNAILS_SHOWN, len(points))).astype(int)
    zoom = 28 / bank.thumbnails.shape[1]
    for index in shown:
        colour = palette(int(bank.labels[index]) % palette.N)
        box = AnnotationBbox(
            OffsetImage(bank.thumbnails[index], zoom=zoom),
            points[index],
            frameon=True,
            pad=0.1,
            bboxprops={"edgecolor": colour, "linewidth": 1.5},
        )
        axes.add_artist(box)
    axes.legend(fontsize=7, markerscale=1.5, loc="best", ncol=1 + len(names) // 12)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(
        f"{LABELS[method]} of the {bank.layer} features of {len(points)} images; "
        f"{min(k, len(points) - 1)}-NN accuracy {accuracy:.1%}",
        fontsize=10,
    )
    return write_png(figure, output)
