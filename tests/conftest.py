"""Shared test set-up: quiet TensorFlow, a fresh Keras session per test, no network."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    """Frees the graphs and weights of the previous test's models."""
    yield
    if "keras" in __import__("sys").modules:
        import keras

        keras.backend.clear_session()
        keras.mixed_precision.set_global_policy("float32")
        gc.collect()
