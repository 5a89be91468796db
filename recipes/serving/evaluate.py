"""Honest measurement of a trained model on a data split.

`evaluate` reports the loss, top-1 and (with more than 5 classes) top-5
accuracy, per-class precision, recall and F1, and the confusion matrix,
optionally with test-time augmentation. The loss is the plain cross-entropy,
whatever the run trained with: a run's `metrics.json` holds both its training
objective (`test_loss`, with the run's label smoothing) and the plain
`test_cross_entropy`, which matches this loss on the same split.

Test-time augmentation:

- `flip`: the average of the probabilities for the image and its mirror image.
- `crops`: AlexNet's ten-crop evaluation (Krizhevsky et al., 2012, Sec. 4.1):
  the image is resized to 256/224 of the model's input size, and the
  probabilities of the four corner crops, the centre crop and their mirror
  images are averaged.

The report is written as JSON, the confusion matrix as CSV and as a PNG with
the class names, into the run directory (or next to a bare model file; see
`recipes.serving.report`).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from recipes.config.schema import DataSettings
from recipes.data import DataBundle, load_data
from recipes.run.layout import RunLayout
from recipes.run.trained import TrainedModel, load_trained
from recipes.serving.mistakes import TopLosses
from recipes.serving.report import write_report
from zoo.errors import UsageError

TTA_MODES = ("none", "flip", "crops")
SPLITS = ("test", "val", "train")
_SPLIT_ALIASES = {"validation": "val"}
_SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "validation"), "test": ("test",)}
_SPLIT_FOLDERS_ALL = ("train", "val", "validation", "test")
# AlexNet takes 224x224 crops of 256x256 images.
CROP_SCALE = 256 / 224
_EPSILON = 1e-7  # Keras' clipping in categorical cross-entropy


def evaluate(
    path: str | Path,
    *,
    data_dir: str | None = None,
    dataset: str | None = None,
    tfds_dir: str | None = None,
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
        tfds_dir: Where tensorflow-datasets keeps its data.
        split: `test`, `val` (or `validation`) or `train`.
        tta: Test-time augmentation: `none`, `flip` or `crops`.
        batch_size: Images per batch (each becomes 2 or 10 views with TTA).
        output_dir: Where to write the report (default: the run directory, or
            the model file's folder).

    Returns:
        `model`, `data`, `split`, `tta`, `images`, `loss` (plain
        cross-entropy), `loss_kind` (`cross-entropy`), `label_smoothing` (the
        run's, which its training loss and `metrics.json`'s `*_loss` include
        and `loss` does not; 0 for a bare model), `accuracy`,
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

    trained = load_trained(path, float32=True)
    if not data_dir and not dataset and trained.run_dir is None:
        raise UsageError(
            f"{path} is a bare model file; say what to evaluate it on with --data DIR "
            "or --dataset NAME."
        )
    height, width = trained.input_size
    load_size = (
        (round(height * CROP_SCALE), round(width * CROP_SCALE))
        if tta == "crops"
        else (height, width)
    )
    given = {"data_dir": data_dir, "dataset": dataset, "tfds_dir": tfds_dir}
    data, attribute, source = _load_split(trained, given, split, load_size, batch_size)
    permutation = _match_classes(list(data.class_names), trained.class_names, source)
    pipeline = getattr(data, attribute, None)
    note = ""
    if pipeline is None and split == "test" and data.val is not None:
        split, attribute, pipeline = "val", "val", data.val
        note = f"{source} has no test split: measured on its validation split instead"
    if pipeline is None:
        other = "val" if split == "test" else "test"
        raise UsageError(
            f"{source} has no {split} split; evaluate on another with --split {other}."
        )

    forward = _forward(trained, tta, load_size)
    labels_seen, probabilities = [], []
    worst = TopLosses()
    files = data.files.get(attribute)  # the file of each image, in the pipeline's order
    seen = 0
    for images, labels in pipeline:
        batch_truth = np.argmax(labels.numpy(), axis=-1)
        if permutation is not None:
            batch_truth = permutation[batch_truth]
        probabilities.append(forward(images).numpy())
        labels_seen.append(batch_truth)
        batch_files = files[seen : seen + len(batch_truth)] if files else None
        worst.offer(images.numpy(), probabilities[-1], batch_truth, batch_files)
        seen += len(batch_truth)
    if not probabilities:
        raise UsageError(f"The {split} split of {source} holds no images.")
    predicted = np.concatenate(probabilities).astype("float64")
    truth = np.concatenate(labels_seen)

    report = _metrics(predicted, truth, trained.class_names)
    report = {
        "model": str(trained.source),
        "data": source,
        "split": split,
        "tta": tta,
        **report,
        "loss_kind": "cross-entropy",
        "label_smoothing": _label_smoothing(trained),
        "bad": list(data.bad),
        "note": note,
    }
    report["files"] = write_report(report, trained, split, tta, output_dir, worst)
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def _load_split(
    trained: TrainedModel,
    given: dict[str, str | None],
    split: str,
    input_size: tuple[int, int],
    batch_size: int,
) -> tuple[DataBundle, str, str]:
    """Loads the data and says which of its pipelines holds the split.

    The run's data settings (its split fraction, seed and file rules) reproduce
    its splits; the data given on the command line replaces its source. A split
    that has its own folder (`DIR/test`, `DIR/val`, ...) is read alone, so the
    other splits are not decoded for nothing. A folder of class folders that
    the run was not trained on is a test set as a whole.

    Returns:
        The `DataBundle`, the attribute holding the split's pipeline, and a
        description of the source.
    """
    run = RunLayout(trained.run_dir) if trained.run_dir is not None else None
    config = run.config() if run is not None else None
    settings = dataclasses.replace(config.data) if config is not None else DataSettings()
    seed = config.run.seed if config is not None else 0
    if given["data_dir"] or given["dataset"]:
        settings.data_dir, settings.dataset = given["data_dir"], given["dataset"]
        settings.tfds_dir = given["tfds_dir"] or settings.tfds_dir
    builtin = not settings.data_dir and not settings.dataset
    # One pass: decoding again beats holding every split in memory.
    settings.cache = "none"
    attribute = split
    folder = Path(settings.data_dir) if settings.data_dir else None
    if folder is not None and folder.is_dir():
        present = {name for name in _SPLIT_FOLDERS_ALL if (folder / name).is_dir()}
        own = [name for name in _SPLIT_FOLDERS[split] if name in present]
        has_val = bool(present & set(_SPLIT_FOLDERS["val"]))
        if own and (split != "train" or has_val):
            settings.data_dir, settings.val_split = str(folder / own[0]), 0.0
            attribute = "train"
        elif not present and split == "test" and not _trained_on(folder, config):
            settings.val_split = 0.0
            attribute = "train"
    bundle = load_data(
        settings,
        input_size=input_size,
        channels=trained.channels,
        batch_size=batch_size,
        seed=seed,
        classes=trained.num_classes if builtin else None,
        shuffle=False,
    )
    return bundle, attribute, bundle.source


def _label_smoothing(trained: TrainedModel) -> float:
    """The label smoothing the run trained with (0 for a bare model file)."""
    if trained.run_dir is None:
        return 0.0
    return float(RunLayout(trained.run_dir).config().optim.label_smoothing)


def _trained_on(folder: Path, config: Any) -> bool:
    trained_folder = config.data.data_dir if config is not None else None
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
    height, width = trained.input_size
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
    import tensorflow as tf

    count, classes = probabilities.shape
    clipped = np.clip(probabilities / probabilities.sum(axis=1, keepdims=True), _EPSILON, 1.0)
    loss = float(-np.mean(np.log(clipped[np.arange(count), truth])))
    predicted = np.argmax(probabilities, axis=1)
    confusion = tf.math.confusion_matrix(truth, predicted, num_classes=classes).numpy()
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
