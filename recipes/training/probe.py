"""Phase 1 of fine-tuning: a linear probe fitted on the frozen base's cached features.

The base runs once over the training images (as the model will see them at
inference, plus one augmented view when augmentation is on), the pooled
features are cached, and a multinomial logistic regression is fitted on them
to convergence with scikit-learn's L-BFGS solver, its L2 strength chosen on the
validation split. The fitted weights become the new head's Dense layer, so
fine-tuning starts from a head that already classifies (LP-FT: Kumar et al.,
"Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution", ICLR 2022). A few steps of Adam on a random head, as
before, left 15-images-a-class runs near chance where this probe reaches 80%.

A k-nearest-neighbour classifier on the same (L2-normalised) features is
scored beside it: the lecture notes' baseline, and a check on the features.
scikit-learn does the fitting: its solvers are well tested and converge in
seconds on a few thousand feature vectors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STRENGTHS = (0.01, 0.1, 1.0, 10.0)
"""Inverse L2 strengths (scikit-learn's `C`) tried on standardised features."""
NEIGHBOURS = 5
"""k of the k-nearest-neighbour baseline (fewer when the training split is smaller)."""


@dataclass
class Probe:
    """A fitted linear head, and how it and the kNN baseline score.

    Attributes:
        kernel: `[features, classes]` weights on the raw pooled features.
        bias: `[classes]` biases.
        strength: The chosen inverse L2 strength (`C`).
        train_loss: Its cross-entropy on the training views.
        scores: `probe_val_accuracy`, `knn_val_accuracy` (and `*_test_*` with a
            test split): fractions of images classified correctly.
        images: Feature vectors it was fitted on (training images times views).
        seconds: Time to extract the features and fit.
    """

    kernel: np.ndarray
    bias: np.ndarray
    strength: float
    train_loss: float
    scores: dict[str, float] = field(default_factory=dict)
    images: int = 0
    seconds: float = 0.0

    def facts(self) -> dict[str, float]:
        """The numbers a run's `metrics.json` records."""
        return {
            **self.scores,
            "probe_strength": self.strength,
            "probe_train_loss": round(self.train_loss, 4),
            "probe_seconds": round(self.seconds, 2),
        }


def pooled_features(extractor: Any, batches: Any) -> tuple[np.ndarray, np.ndarray]:
    """Runs `extractor` over `(images, one-hot labels[, weights])` batches.

    Args:
        extractor: Maps images to `[batch, features]`.
        batches: The pipeline (padding images of weight 0 are dropped).

    Returns:
        `(features float64 [n, d], labels int [n])`.
    """
    features, labels = [], []
    for batch in batches:
        images, onehot = batch[0], np.asarray(batch[1])
        keep = np.asarray(batch[2]) > 0 if len(batch) > 2 else np.ones(len(onehot), bool)
        output = np.asarray(extractor(images, training=False), dtype="float64")
        features.append(output[keep])
        labels.append(onehot[keep].argmax(axis=1))
    if not features:
        return np.zeros((0, 0)), np.zeros(0, int)
    return np.concatenate(features), np.concatenate(labels)


def fit_probe(
    extractor: Any,
    train_views: list[Any],
    val: Any | None,
    test: Any | None,
    classes: int,
    seed: int = 0,
) -> Probe:
    """Fits the linear head on cached features, and scores it and the kNN baseline.

    Args:
        extractor: The frozen base and pooling: images to `[batch, features]`.
        train_views: Pipelines of the training images (the plain view first).
        val: Validation batches, or `None`.
        test: Test batches, or `None`.
        classes: Number of classes.
        seed: Seed of the solver.

    Returns:
        The probe, its weights on the raw features.
    """
    started = time.perf_counter()
    parts = [pooled_features(extractor, view) for view in train_views]
    train_x = np.concatenate([x for x, _ in parts])
    train_y = np.concatenate([y for _, y in parts])
    evaluated = {
        name: pooled_features(extractor, batches)
        for name, batches in (("val", val), ("test", test))
        if batches is not None
    }
    evaluated = {name: pair for name, pair in evaluated.items() if len(pair[1])}
    mean, scale = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    standard = (train_x - mean) / scale
    model, strength = _choose_strength(standard, train_y, evaluated.get("val"), mean, scale, seed)
    weights = np.zeros((classes, train_x.shape[1]))
    biases = np.full(classes, -1e4)  # a class with no training image is never predicted
    fitted = _class_weights(model)
    weights[model.classes_], biases[model.classes_] = fitted
    kernel = (weights / scale).T
    bias = biases - kernel.T @ mean
    scores = {}
    for name, (x, y) in evaluated.items():
        scores[f"probe_{name}_accuracy"] = _accuracy(x @ kernel + bias, y)
        scores[f"knn_{name}_accuracy"] = _knn_accuracy(train_x, train_y, x, y, len(parts))
    from sklearn.metrics import log_loss

    train_loss = float(log_loss(train_y, model.predict_proba(standard), labels=model.classes_))
    return Probe(
        kernel=kernel.astype("float32"),
        bias=bias.astype("float32"),
        strength=strength,
        train_loss=train_loss,
        scores=scores,
        images=len(train_y),
        seconds=time.perf_counter() - started,
    )


def _choose_strength(
    x: np.ndarray,
    y: np.ndarray,
    val: tuple[np.ndarray, np.ndarray] | None,
    mean: np.ndarray,
    scale: np.ndarray,
    seed: int,
) -> tuple[Any, float]:
    """The logistic regression whose strength scores best on validation (`C=1` without one).

    Ties in accuracy, common on small validation splits, go to the lower
    validation cross-entropy.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    def fitted(strength: float) -> Any:
        return LogisticRegression(C=strength, max_iter=2000, random_state=seed).fit(x, y)

    if val is None:
        return fitted(1.0), 1.0
    val_x = (val[0] - mean) / scale
    best: tuple[tuple[float, float], Any, float] | None = None
    for strength in STRENGTHS:
        model = fitted(strength)
        probabilities = model.predict_proba(val_x)
        seen = np.isin(val[1], model.classes_)
        loss = (
            log_loss(val[1][seen], probabilities[seen], labels=model.classes_)
            if seen.any()
            else np.inf
        )
        key = (float((model.predict(val_x) == val[1]).mean()), -float(loss))
        if best is None or key > best[0]:
            best = (key, model, strength)
    assert best is not None
    return best[1], best[2]


def _class_weights(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-class weights and biases of a fitted model (softmax logits, one row a class)."""
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2 and coef.shape[0] == 1:
        # Binary: scikit-learn keeps one row; softmax over [-z/2, z/2] is sigmoid(z).
        coef = np.concatenate([-coef / 2, coef / 2])
        intercept = np.concatenate([-intercept / 2, intercept / 2])
    return coef, intercept


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return round(float((logits.argmax(axis=1) == labels).mean()), 4)


def _knn_accuracy(
    train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray, y: np.ndarray, views: int
) -> float:
    """Accuracy of a cosine k-nearest-neighbour vote over the plain training view."""
    from sklearn.neighbors import KNeighborsClassifier

    plain = len(train_y) // views
    neighbours = min(NEIGHBOURS, plain)
    knn = KNeighborsClassifier(n_neighbors=neighbours, metric="cosine")
    knn.fit(train_x[:plain], train_y[:plain])
    return round(float((knn.predict(x) == y).mean()), 4)
