"""`zoo explain`: where in each image the model looks, by seven methods, with a check of each.

For every image and method: a PNG (the image, and the map over it, with the
target class, the prediction and its probability in the title) and the raw
map as `.npy` (the input's spatial size), in `RUN/explain/<method>/`. Maps
are of the target class's logit (see `recipes.understand.layers`), computed
in inference mode on a float32 copy of the model; each image has its own
target (its predicted class, or `--class`). With `check`, the
model-randomisation test and the deletion/insertion AUCs of each method are
written to `check.json`, and the maps of the randomised models to `check.png`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from recipes.run.canvas import new_figure, write_png
from recipes.run.drawing import show_image, show_overlay
from recipes.run.trained import TrainedModel, load_trained
from recipes.understand.cam import grad_cam, grad_cam_plus_plus, score_cam
from recipes.understand.checks import faithfulness, randomisation_test
from recipes.understand.gradients import integrated_gradients, saliency, smoothgrad
from recipes.understand.images import load_images
from recipes.understand.occlusion import occlusion
from recipes.understand.subject import BATCH, Subject
from zoo.atomic import atomic_write, atomic_write_text
from zoo.errors import UsageError, did_you_mean

METHODS = {
    "gradcam": grad_cam,
    "gradcam++": grad_cam_plus_plus,
    "scorecam": score_cam,
    "saliency": saliency,
    "smoothgrad": smoothgrad,
    "integrated-gradients": integrated_gradients,
    "occlusion": occlusion,
}
CAM_METHODS = ("gradcam", "gradcam++", "scorecam")
CHECK_ROWS = 4
"""Images shown in `check.png`."""


def parse_methods(names: list[str] | tuple[str, ...]) -> list[str]:
    """Method names from the command line: repeated or comma-separated, or `all`.

    Raises:
        UsageError: An unknown method (the closest are suggested).
    """
    chosen: list[str] = []
    for item in names:
        for name in filter(None, (part.strip().lower() for part in item.split(","))):
            if name == "all":
                chosen.extend(METHODS)
            elif name in METHODS:
                chosen.append(name)
            else:
                raise UsageError(
                    f"Unknown explanation method {name!r}.{did_you_mean(name, METHODS)} "
                    f"Methods: {', '.join(METHODS)}, or all."
                )
    return list(dict.fromkeys(chosen)) or ["gradcam"]


def target_classes(trained: TrainedModel, predicted: Any, class_name: str | None) -> Any:
    """Each image's target: its predicted class, or the named one.

    Raises:
        UsageError: An unknown class name (the classes are listed).
    """
    import numpy as np

    if class_name is None:
        return np.asarray(predicted, dtype="int32")
    if class_name not in trained.class_names:
        listed = ", ".join(trained.class_names[:20])
        more = f" and {trained.num_classes - 20} more" if trained.num_classes > 20 else ""
        raise UsageError(
            f"Unknown class {class_name!r}.{did_you_mean(class_name, trained.class_names)} "
            f"The model's classes: {listed}{more}."
        )
    return np.full(len(predicted), trained.class_names.index(class_name), dtype="int32")


def compute_maps(method: str, subject: Subject, images: Any, targets: Any) -> Any:
    """A method's maps for many images, `BATCH` at a time: `[N, H, W]` float32."""
    import numpy as np

    function = METHODS[method]
    parts = [
        function(subject, images[start : start + BATCH], targets[start : start + BATCH])
        for start in range(0, len(images), BATCH)
    ]
    return np.concatenate(parts).astype("float32")


def explain(
    path: str | Path,
    inputs: list[str],
    methods: list[str] | None = None,
    class_name: str | None = None,
    layer: str | None = None,
    output_dir: str | Path | None = None,
    check: bool = False,
) -> dict[str, Any]:
    """Explains a trained model's predictions for images.

    Args:
        path: A run directory or a `.keras` file.
        inputs: Image files, folders and glob patterns.
        methods: Method names (default: Grad-CAM).
        class_name: The class to explain for every image (default: each
            image's predicted class).
        layer: Path of the feature map for the CAM methods (default: the last).
        output_dir: Where the method folders go (default: `RUN/explain`).
        check: Run the randomisation test and the deletion/insertion AUCs.

    Returns:
        `model`, `layer`, `target` (`logits` or `probabilities`), `images`
        (per image: path, predicted class and probability, target), per
        method its files, seconds and (with `check`) its scores, and `bad`.

    Raises:
        UsageError: Bad model, images, method, class or layer.
    """
    methods = parse_methods(methods or ["gradcam"])
    trained = load_trained(path, float32=True)
    subject = Subject(trained.model, layer)
    uses_layer = any(method in CAM_METHODS for method in methods)
    if uses_layer:
        subject.tap  # noqa: B018  (checks the layer before any image is read)
    images = load_images(trained, inputs)
    probabilities = subject.probabilities(images.pixels)
    predicted = probabilities.argmax(axis=1)
    targets = target_classes(trained, predicted, class_name)
    root = Path(output_dir) if output_dir is not None else trained.output_dir / "explain"
    stems = unique_stems(images.paths)
    rows = [
        {
            "path": str(image_path),
            "predicted": trained.class_names[index],
            "probability": round(float(probabilities[row, index]), 6),
            "target": trained.class_names[targets[row]],
        }
        for row, (image_path, index) in enumerate(zip(images.paths, predicted, strict=True))
    ]
    results: dict[str, Any] = {}
    for method in methods:
        started = time.perf_counter()
        maps = compute_maps(method, subject, images.pixels, targets)
        seconds = time.perf_counter() - started
        folder = root / method
        files = [
            _write_explanation(folder, stem, method, pixels, raw, row)
            for stem, pixels, raw, row in zip(stems, images.pixels, maps, rows, strict=True)
        ]
        results[method] = {"folder": str(folder), "files": files, "seconds": round(seconds, 3)}
        if check:
            results[method]["check"] = _check(
                subject, method, images.pixels, targets, maps, folder, stems
            )
    return {
        "model": str(trained.source),
        "layer": subject.layer if uses_layer else None,
        "target": subject.target_kind,
        "images": rows,
        "methods": results,
        "bad": images.bad,
    }


def unique_stems(paths: list[Path]) -> list[str]:
    """File stems for the outputs, `-2`, `-3`, ... added where two images share one."""
    seen: dict[str, int] = {}
    stems = []
    for path in paths:
        stem = path.stem or "image"
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems


def _write_explanation(
    folder: Path, stem: str, method: str, pixels: Any, raw: Any, row: dict[str, Any]
) -> dict[str, str]:
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    array = folder / f"{stem}.npy"
    atomic_write(array, lambda target: np.save(target, raw, allow_pickle=False))
    figure = new_figure(6.4, 3.6)
    show_image(figure.add_subplot(1, 2, 1), pixels, Path(row["path"]).name)
    heat = show_overlay(figure.add_subplot(1, 2, 2), pixels, raw, f"{method} for {row['target']}")
    figure.colorbar(heat, ax=figure.axes[1], fraction=0.046, pad=0.04)
    figure.suptitle(f"predicted {row['predicted']} ({row['probability']:.1%})", fontsize=10)
    picture = write_png(figure, folder / f"{stem}.png")
    return {"image": row["path"], "png": picture, "npy": str(array)}


def _check(
    subject: Subject,
    method: str,
    images: Any,
    targets: Any,
    maps: Any,
    folder: Path,
    stems: list[str],
) -> dict[str, Any]:
    randomised = randomisation_test(subject, METHODS[method], images, targets, maps)
    levels = randomised.pop("maps")
    scores = {
        "randomisation": randomised,
        "faithfulness": faithfulness(subject, images, targets, maps),
    }
    atomic_write_text(folder / "check.json", json.dumps(scores, indent=2) + "\n")
    scores["png"] = _check_picture(folder, method, images, maps, levels, randomised, stems)
    return scores


def _check_picture(
    folder: Path,
    method: str,
    images: Any,
    maps: Any,
    levels: list[Any],
    randomised: dict[str, Any],
    stems: list[str],
) -> str:
    rows = min(CHECK_ROWS, len(images))
    columns = 2 + len(levels)
    figure = new_figure(1.9 * columns, 1.9 * rows + 0.6)
    # The column titles (the same for every image) head the first row only: a
    # two-line title on later rows would cover the images above it.
    headers = ["trained"] + [
        f"top {level['layers']} random\nρ={level['spearman']}" for level in randomised["levels"]
    ]
    for row in range(rows):
        show_image(figure.add_subplot(rows, columns, row * columns + 1), images[row], stems[row])
        for index, row_map in enumerate([maps[row]] + [level[row] for level in levels]):
            axes = figure.add_subplot(rows, columns, row * columns + 2 + index)
            show_overlay(axes, images[row], row_map, headers[index] if row == 0 else "")
    figure.suptitle(f"{method}: model randomisation test ({randomised['verdict']})", fontsize=10)
    return write_png(figure, folder / "check.png")
