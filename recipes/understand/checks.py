"""Is an explanation worth anything? The model-randomisation test and deletion/insertion AUCs.

- Model randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency
  Maps"): the maps of copies of the model whose top layers are re-initialised
  (cascading: the top layer, the top quarter, half, all of the layers with
  weights), compared with the trained model's by Spearman rank correlation.
  A method that explains the model must change when the model does; one
  whose maps still correlate at `FLAG_CORRELATION` or more with the top half
  of the model random is flagged.
- Faithfulness (Petsiuk et al. 2018, RISE): the deletion curve (the target
  probability as the most important pixels are blacked out first) and the
  insertion curve (as they are put back into a blurred image), each as the
  area under the curve over `STEPS` steps, against a random map's.
  A faithful map deletes with a lower AUC and inserts with a higher one; one
  that does worse than the random map on either is flagged.

Each check gives a `verdict`: `passes`, `flagged: ...`, or `undetermined: ...`
when the maps are blank (a Grad-CAM whose ReLU leaves nothing): a blank map
ranks no pixel above another, so neither test can judge it.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

from recipes.understand.layers import list_layers
from recipes.understand.subject import Subject

FLAG_CORRELATION = 0.5
STEPS = 16
BLUR_FACTOR = 8
"""The insertion curve starts from the image shrunk by this factor and enlarged again."""

MapFunction = Callable[[Subject, Any, Any], Any]


def randomisation_test(
    subject: Subject, method: MapFunction, images: Any, targets: Any, maps: Any, seed: int = 0
) -> dict[str, Any]:
    """Compares the maps with those of progressively re-initialised copies of the model.

    Args:
        subject: The trained model.
        method: The explanation method.
        images: The images explained.
        targets: Their target classes.
        maps: The trained model's maps for them.
        seed: Seed of the re-initialisation.

    Returns:
        `levels` (per level: `layers` re-initialised, `top_layer` name, mean
        `spearman` over the images), `flagged`, `verdict`, and the randomised
        maps of each level (`maps`, not JSON).
    """
    import keras

    weighted = [
        info.path
        for info in list_layers(subject.model)
        if info.layer.weights and not isinstance(info.layer, keras.Model)
    ]
    counts = sorted({1, math.ceil(len(weighted) / 4), math.ceil(len(weighted) / 2), len(weighted)})
    levels, randomised = [], []
    for count in counts:
        copy = copy_model(subject.model)
        layers = {info.path: info.layer for info in list_layers(copy)}
        for position in range(len(weighted) - count, len(weighted)):
            reinitialise(layers[weighted[position]], seed=seed + 100 * position)
        with _quiet_retracing():
            level_maps = method(Subject(copy, subject.layer), images, targets)
        correlations = [spearman(a, b) for a, b in zip(maps, level_maps, strict=True)]
        valid = [value for value in correlations if value is not None]
        levels.append(
            {
                "layers": count,
                "from_layer": weighted[-count],
                "spearman": round(sum(valid) / len(valid), 4) if valid else None,
            }
        )
        randomised.append(level_maps)
    half = next(level for level in levels if level["layers"] >= len(weighted) / 2)
    flagged = half["spearman"] is not None and half["spearman"] >= FLAG_CORRELATION
    if _blank(maps):
        verdict = "undetermined: the trained model's maps are blank"
    elif half["spearman"] is None:
        verdict = "undetermined: the randomised models' maps are blank"
    else:
        verdict = "flagged: the maps barely change with the model" if flagged else "passes"
    return {"levels": levels, "flagged": flagged, "verdict": verdict, "maps": randomised}


def _blank(maps: Any) -> bool:
    """Whether every map is constant (it ranks no pixel above another)."""
    import numpy as np

    return all(float(np.ptp(np.asarray(item))) == 0.0 for item in maps)


class _RetracingNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_retracing() -> Iterator[None]:
    """Keeps TensorFlow's retracing notice off the terminal.

    Each level of the randomisation test is a new model, so each traces its
    own functions once: necessary work, which TensorFlow's logger reports
    after five traces as if it were a mistake.
    """
    logger = logging.getLogger("tensorflow")
    notice = _RetracingNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


def copy_model(model: Any) -> Any:
    """A new model with the same architecture and weights (the original is untouched)."""
    import keras

    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    copy.set_weights(model.get_weights())
    return copy


_INITIALIZERS = {
    "kernel": "kernel_initializer",
    "bias": "bias_initializer",
    "depthwise_kernel": "depthwise_initializer",
    "pointwise_kernel": "pointwise_initializer",
    "gamma": "gamma_initializer",
    "beta": "beta_initializer",
}


def reinitialise(layer: Any, seed: int = 0) -> None:
    """Draws a layer's weights again from its own kind of initialiser, frozen or not.

    Each initialiser is rebuilt with a new seed: a Keras initialiser keeps its
    seed, so calling the layer's own again would give back the values it
    started from. Weights without an initialiser attribute get Gaussian values
    of the trained weights' mean and spread; BatchNorm's moving statistics are
    kept.

    Args:
        layer: The layer.
        seed: Seed of the new values.
    """
    import keras

    initialised = set()
    for offset, (name, attribute) in enumerate(_INITIALIZERS.items()):
        variable = getattr(layer, name, None)
        initializer = getattr(layer, attribute, None)
        if isinstance(variable, keras.Variable) and initializer is not None:
            config = initializer.get_config()
            if "seed" in config:
                config["seed"] = seed + offset
            fresh = type(initializer).from_config(config)
            variable.assign(fresh(variable.shape, variable.dtype))
            initialised.add(id(variable))
    for variable in layer.weights:
        if id(variable) not in initialised and "moving_" not in variable.path:
            values = keras.ops.convert_to_numpy(variable)
            draw = keras.random.normal(
                variable.shape, float(values.mean()), float(values.std()), seed=seed
            )
            variable.assign(keras.ops.cast(draw, variable.dtype))


def spearman(first: Any, second: Any) -> float | None:
    """Spearman rank correlation of two maps (0 if the second is constant, None if the first is)."""
    import numpy as np
    from scipy.stats import spearmanr

    first, second = np.ravel(first), np.ravel(second)
    if np.ptp(first) == 0:
        return None
    if np.ptp(second) == 0:
        return 0.0
    return float(spearmanr(first, second).statistic)


def faithfulness(subject: Subject, images: Any, targets: Any, maps: Any, seed: int = 0) -> dict:
    """Deletion and insertion AUCs of the maps, and of random maps as the baseline.

    Args:
        subject: The model.
        images: The images explained.
        targets: Their target classes.
        maps: Their maps, `[N, H, W]`.
        seed: Seed of the random maps.

    Returns:
        Mean `deletion_auc`, `insertion_auc`, `random_deletion_auc`,
        `random_insertion_auc` over the images, `faithful` (deletes faster
        and inserts faster than random) and `verdict`.
    """
    import numpy as np

    generator = np.random.default_rng(seed)
    random_maps = generator.random(np.shape(maps))
    scores = {"deletion_auc": [], "insertion_auc": [], "random_deletion_auc": []}
    scores["random_insertion_auc"] = []
    for image, target, importance, noise in zip(images, targets, maps, random_maps, strict=True):
        blurred = _blur(image)
        for prefix, ranking in (("", importance), ("random_", noise)):
            deleted = _curve(subject, image, np.zeros_like(image), ranking, target)
            inserted = _curve(subject, blurred, image, ranking, target)
            scores[f"{prefix}deletion_auc"].append(deleted)
            scores[f"{prefix}insertion_auc"].append(inserted)
    result = {name: round(float(np.mean(values)), 4) for name, values in scores.items()}
    worse = [
        what
        for what, worse_than_random in (
            ("deletes slower", result["deletion_auc"] > result["random_deletion_auc"]),
            ("inserts slower", result["insertion_auc"] < result["random_insertion_auc"]),
        )
        if worse_than_random
    ]
    result["faithful"] = bool(
        result["deletion_auc"] < result["random_deletion_auc"]
        and result["insertion_auc"] > result["random_insertion_auc"]
    )
    result["verdict"] = "passes"
    if _blank(maps):
        result["verdict"] = "undetermined: the maps are blank"
    elif worse:
        result["verdict"] = f"flagged: {' and '.join(worse)} than a random map"
    return result


def _curve(subject: Subject, start: Any, end: Any, ranking: Any, target: int) -> float:
    """AUC of the target probability as pixels go from `start` to `end`, most important first."""
    import numpy as np

    height, width = ranking.shape
    order = np.argsort(-ranking, axis=None, kind="stable")
    steps = []
    for step in range(STEPS + 1):
        chosen = np.zeros(height * width, dtype=bool)
        chosen[order[: round(step * height * width / STEPS)]] = True
        mask = chosen.reshape(height, width, 1)
        steps.append(np.where(mask, end, start))
    probabilities = subject.probabilities(np.stack(steps).astype("float32"))[:, target]
    return float(np.trapezoid(probabilities, dx=1.0 / STEPS))


def _blur(image: Any) -> Any:
    import tensorflow as tf

    height, width = image.shape[:2]
    small = (max(1, height // BLUR_FACTOR), max(1, width // BLUR_FACTOR))
    shrunk = tf.image.resize(image[None], small, method="area")
    return tf.image.resize(shrunk, (height, width), method="bilinear")[0].numpy()
