"""Honest measurement of a trained model on a data split.

`evaluate` reports loss, top-1 and (with more than 5 classes) top-5 accuracy,
per-class precision, recall and F1, and the confusion matrix, optionally with
test-time augmentation:

- `flip`: the average of the probabilities for the image and its mirror image.
- `crops`: AlexNet's ten-crop evaluation (Krizhevsky et al., 2012, Sec. 4.1):
  the image is resized to 256/224 of the model's input size, and the
  probabilities of the four corner crops, the centre crop and their mirror
  images are averaged.

The report is written as JSON, the confusion matrix as CSV and as a PNG with
the class names, into the run directory (or next to a bare model file).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import time
from pathlib import Path
from typing import Any

from recipes.artifacts import TrainedModel, load_trained
from zoo.errors import UsageError

TTA_MODES = ("none", "flip", "crops")
SPLITS = ("test", "val", "train")
_SPLIT_ALIASES = {"validation": "val"}
_SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "validation"), "test": ("test",)}
_SPLIT_FOLDERS_ALL = ("train", "val", "validation", "test")
# AlexNet takes 224x224 crops of 256x256 images.
CROP_SCALE = 256 / 224
_EPSILON = 1e-7  # Keras' clipping in categorical cross-entropy
# Settings of a run's config.yaml that decide which images land in which split.
_RUN_DATA_KEYS = (
    "data_dir",
    "dataset",
    "tfds_data_dir",
    "val_split",
    "seed",
    "shapes_per_class",
    "shapes_test_per_class",
    "max_pixels",
    "drop_empty_classes",
)


def evaluate(
    path: str | Path,
    *,
    data_dir: str | None = None,
    dataset: str | None = None,
    tfds_data_dir: str | None = None,
    split: str = "test",
    tta: str = "none",
    batch_size: int = 32,
    output_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluates a trained model on one split of a data source.

    With neither `data_dir` nor `dataset`, the run's own data source (from its
    `config.yaml`) is used, with the run's validation split and seed. A split
    with its own folder (`DIR/test`, `DIR/val`) is read alone; a folder of
    class folders is a test set as a whole, unless the run was trained on it
    (then it has train and val splits only).

    Args:
        path: A run directory or a `.keras` file.
        data_dir: An image folder (class sub-folders, or train/val/test splits).
        dataset: A tensorflow-datasets name.
        tfds_data_dir: Where tensorflow-datasets keeps its data.
        split: `test`, `val` (or `validation`) or `train`.
        tta: Test-time augmentation: `none`, `flip` or `crops`.
        batch_size: Images per batch (each becomes 2 or 10 views with TTA).
        output_dir: Where to write the report (default: the run directory, or
            the model file's folder).

    Returns:
        `model`, `data`, `split`, `tta`, `images`, `loss`, `accuracy`,
        `top5_accuracy` (more than 5 classes only), `per_class` (class ->
        `precision`, `recall`, `f1`, `support`), `macro_avg`,
        `confusion_matrix` (rows: true class, columns: predicted),
        `class_names`, `bad` (skipped files), `files` and `seconds`.

    Raises:
        UsageError: Bad arguments, a bad model, a missing or empty split, or
            data whose class names differ from the model's.
    """
    import numpy as np

    started = time.perf_counter()
    split = _SPLIT_ALIASES.get(split, split)
    if split not in SPLITS:
        raise UsageError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    if tta not in TTA_MODES:
        raise UsageError(f"Unknown --tta {tta!r}; choose one of {', '.join(TTA_MODES)}.")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1. Received: batch_size={batch_size}")
    if data_dir and dataset:
        raise UsageError("Give either --data DIR or --dataset NAME, not both.")

    trained = load_trained(path)
    run_config = _run_config(trained)
    if not data_dir and not dataset and trained.run_dir is None:
        raise UsageError(
            f"{path} is a bare model file; say what to evaluate it on with --data DIR "
            "or --dataset NAME."
        )
    height, width = trained.image_size
    load_size = (
        (round(height * CROP_SCALE), round(width * CROP_SCALE))
        if tta == "crops"
        else (height, width)
    )
    data, attribute, source = _load_split(
        trained, run_config, data_dir, dataset, tfds_data_dir, split, load_size, batch_size
    )
    permutation = _match_classes(list(data.class_names), trained.class_names, source)
    pipeline = getattr(data, attribute, None)
    if pipeline is None:
        other = "val" if split == "test" else "test"
        raise UsageError(
            f"{source} has no {split} split; evaluate on another with --split {other}."
        )

    forward = _forward(trained, tta, load_size)
    labels_seen, probabilities = [], []
    for images, labels in pipeline:
        probabilities.append(forward(images).numpy())
        labels_seen.append(np.argmax(labels.numpy(), axis=-1))
    if not probabilities:
        raise UsageError(f"The {split} split of {source} holds no images.")
    predicted = np.concatenate(probabilities).astype("float64")
    truth = np.concatenate(labels_seen)
    if permutation is not None:
        truth = permutation[truth]

    report = _metrics(predicted, truth, trained.class_names)
    report = {
        "model": str(trained.source),
        "data": source,
        "split": split,
        "tta": tta,
        **report,
        "bad": [_plain(entry) for entry in (getattr(data, "bad", None) or [])],
    }
    report["files"] = _write_report(report, trained, split, tta, output_dir)
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def _run_config(trained: TrainedModel) -> dict[str, Any]:
    import yaml

    if trained.run_dir is None:
        return {}
    config_file = trained.run_dir / "config.yaml"
    if not config_file.is_file():
        return {}
    try:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return {}
    return config if isinstance(config, dict) else {}


def _load_split(
    trained: TrainedModel,
    run_config: dict[str, Any],
    data_dir: str | None,
    dataset: str | None,
    tfds_data_dir: str | None,
    split: str,
    image_size: tuple[int, int],
    batch_size: int,
) -> tuple[Any, str, str]:
    """Loads the data and says which of its pipelines holds the split.

    A split that has its own folder (`DIR/test`, `DIR/val`, ...) is read alone,
    so the other splits are not decoded for nothing. A folder of class folders
    that the run was not trained on is a test set as a whole.

    Returns:
        The `DataBundle`, the attribute holding the split's pipeline, and a
        description of the source.
    """
    from recipes.data import DataConfig, load_data

    known = {field.name for field in dataclasses.fields(DataConfig)}
    # The run's split fraction, seed and file rules reproduce its splits.
    settings = {key: run_config[key] for key in _RUN_DATA_KEYS if run_config.get(key) is not None}
    if data_dir or dataset:
        settings.update(data_dir=data_dir, dataset=dataset)
        if tfds_data_dir:
            settings["tfds_data_dir"] = tfds_data_dir
    elif not settings.get("data_dir") and not settings.get("dataset"):
        settings["num_classes"] = trained.num_classes  # the built-in set
    settings.update(
        image_size=image_size,
        channels=trained.channels,
        batch_size=batch_size,
        interpolation=trained.interpolation,
        augment="none",
        shuffle=False,
        # One pass: decoding again beats holding every split in memory.
        cache="none",
    )
    attribute = split
    folder = settings.get("data_dir")
    if folder and not settings.get("dataset") and Path(folder).is_dir():
        root = Path(folder)
        present = {name for name in _SPLIT_FOLDERS_ALL if (root / name).is_dir()}
        own = [name for name in _SPLIT_FOLDERS[split] if name in present]
        has_val = bool(present & set(_SPLIT_FOLDERS["val"]))
        if own and (split != "train" or has_val):
            settings.update(data_dir=str(root / own[0]), val_split=0.0)
            attribute = "train"
        elif not present and split == "test" and not _trained_on(root, run_config):
            settings.update(val_split=0.0)
            attribute = "train"
    settings = {key: value for key, value in settings.items() if key in known}
    bundle = load_data(DataConfig(**settings))
    source = str(getattr(bundle, "source", None) or settings.get("data_dir") or "the data")
    return bundle, attribute, source


def _trained_on(folder: Path, run_config: dict[str, Any]) -> bool:
    trained_folder = run_config.get("data_dir")
    if not trained_folder:
        return False
    try:
        return Path(trained_folder).resolve() == folder.resolve()
    except OSError:
        return False


def _match_classes(data_names: list[str], model_names: list[str], source: str) -> Any:
    """Checks the data's classes against the model's.

    Returns:
        `None` when they are the same in the same order, else the index map
        from data labels to model labels (same names, another order).
    """
    import numpy as np

    if data_names == model_names:
        return None
    if sorted(data_names) == sorted(model_names):
        position = {name: index for index, name in enumerate(model_names)}
        return np.array([position[name] for name in data_names])
    missing = [name for name in model_names if name not in data_names]
    extra = [name for name in data_names if name not in model_names]
    parts = []
    if missing:
        parts.append(f"missing from the data: {_shorten(missing)}")
    if extra:
        parts.append(f"unknown to the model: {_shorten(extra)}")
    raise UsageError(
        f"The classes of {source} do not match the model's ({'; '.join(parts)}); evaluate on "
        "data with the classes the model was trained on."
    )


def _shorten(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _plain(entry: Any) -> Any:
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        return {key: str(value) for key, value in dataclasses.asdict(entry).items()}
    if isinstance(entry, dict):
        return {str(key): str(value) for key, value in entry.items()}
    if isinstance(entry, tuple | list):
        return [str(value) for value in entry]
    return str(entry)


def crop_offsets(size: tuple[int, int], crop: tuple[int, int]) -> list[tuple[int, int]]:
    """Top-left corners of the four corner crops and the centre crop.

    Args:
        size: `(height, width)` of the image.
        crop: `(height, width)` of a crop.

    Returns:
        Five `(y, x)` offsets: top-left, top-right, bottom-left, bottom-right, centre.
    """
    dy, dx = size[0] - crop[0], size[1] - crop[1]
    return [(0, 0), (0, dx), (dy, 0), (dy, dx), (dy // 2, dx // 2)]


def _forward(trained: TrainedModel, tta: str, load_size: tuple[int, int]) -> Any:
    """A compiled function: an image batch -> TTA-averaged probabilities."""
    import tensorflow as tf

    model = trained.model
    height, width = trained.image_size
    spec = tf.TensorSpec((None, *load_size, trained.channels), tf.float32)

    def probabilities(images: tf.Tensor) -> tf.Tensor:
        return tf.cast(model(images, training=False), tf.float32)

    @tf.function(input_signature=[spec])
    def forward(images: tf.Tensor) -> tf.Tensor:
        images = tf.cast(images, tf.float32)
        if tta == "none":
            return probabilities(images)
        if tta == "flip":
            return (probabilities(images) + probabilities(tf.reverse(images, axis=[2]))) / 2.0
        total = 0.0
        for y, x in crop_offsets(load_size, (height, width)):
            crop = images[:, y : y + height, x : x + width, :]
            total += probabilities(crop) + probabilities(tf.reverse(crop, axis=[2]))
        return total / 10.0

    return forward


def _metrics(probabilities: Any, truth: Any, class_names: list[str]) -> dict[str, Any]:
    import numpy as np

    count, classes = probabilities.shape
    clipped = np.clip(probabilities / probabilities.sum(axis=1, keepdims=True), _EPSILON, 1.0)
    loss = float(-np.mean(np.log(clipped[np.arange(count), truth])))
    predicted = np.argmax(probabilities, axis=1)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    report: dict[str, Any] = {
        "images": int(count),
        "classes": int(classes),
        "loss": loss,
        "accuracy": float(np.mean(predicted == truth)),
    }
    if classes > 5:
        top5 = np.argsort(-probabilities, axis=1, kind="stable")[:, :5]
        report["top5_accuracy"] = float(np.mean(np.any(top5 == truth[:, None], axis=1)))

    per_class = {}
    for index, name in enumerate(class_names):
        hits = int(confusion[index, index])
        predicted_as = int(confusion[:, index].sum())
        support = int(confusion[index].sum())
        precision = hits / predicted_as if predicted_as else 0.0
        recall = hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    present = [row for row in per_class.values() if row["support"]] or list(per_class.values())
    report["per_class"] = per_class
    report["macro_avg"] = {
        key: float(np.mean([row[key] for row in present])) for key in ("precision", "recall", "f1")
    }
    report["confusion_matrix"] = confusion.tolist()
    report["class_names"] = list(class_names)
    return report


def _write_report(
    report: dict[str, Any],
    trained: TrainedModel,
    split: str,
    tta: str,
    output_dir: str | Path | None,
) -> dict[str, str]:
    directory = Path(output_dir) if output_dir is not None else trained.output_dir
    directory.mkdir(parents=True, exist_ok=True)
    source = trained.source
    # A run's own model needs no prefix; checkpoints and bare files get theirs.
    prefix = "" if source is None or source.is_dir() else f"{source.stem}-"
    tag = split if tta == "none" else f"{split}-{tta}"
    files = {
        "json": directory / f"{prefix}evaluation-{tag}.json",
        "csv": directory / f"{prefix}confusion-{tag}.csv",
        "png": directory / f"{prefix}confusion-{tag}.png",
    }
    names = report["class_names"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["true \\ predicted", *names])
    for name, row in zip(names, report["confusion_matrix"], strict=True):
        writer.writerow([name, *row])
    _atomic_write(files["csv"], buffer.getvalue().encode("utf-8"))
    _atomic_write(files["png"], _confusion_png(report, split, tta))
    written = {key: str(value) for key, value in files.items()}
    document = {**report, "files": written}
    _atomic_write(files["json"], (json.dumps(document, indent=2) + "\n").encode("utf-8"))
    return written


def _atomic_write(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _confusion_png(report: dict[str, Any], split: str, tta: str) -> bytes:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Figure + the Agg canvas, not pyplot: no global backend or state is touched.
    names = report["class_names"]
    matrix = np.asarray(report["confusion_matrix"])
    count = len(names)
    side = min(4.0 + 0.45 * count, 40.0)
    figure = Figure(figsize=(side + 1.5, side), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_xticks(range(count), labels=names, rotation=45, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(count), labels=names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    title = f"{split} split, accuracy {report['accuracy']:.1%} ({report['images']} images)"
    axes.set_title(title + ("" if tta == "none" else f", TTA {tta}"))
    if count <= 30:
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, column), value in np.ndenumerate(matrix):
            colour = "white" if value > threshold else "black"
            axes.text(column, row, str(value), ha="center", va="center", color=colour, fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
