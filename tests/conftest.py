"""Shared test set-up: quiet TensorFlow, a fresh Keras session per test, no network."""

from __future__ import annotations

import contextlib
import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


def pytest_configure(config):
    """Imports Keras once, then keeps what lives on out of later garbage collections.

    A test ends with a garbage collection (Keras' models are full of reference
    cycles); scanning TensorFlow's and Keras' half a million module-level
    objects each time made it take most of a second. `gc.freeze()` moves what
    is alive to the permanent generation, which collections skip, so each
    test's collection scans what that test made. The xdist controller runs no
    test and imports nothing.
    """
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    import keras  # noqa: F401

    gc.collect()
    gc.freeze()


@pytest.fixture(scope="module", autouse=True)
def _collect_what_the_module_kept():
    """After a module, collects everything once more: its fixtures' cycles were frozen alive."""
    yield
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    """Frees the graphs and weights of the test's models, then freezes what lives on."""
    yield
    import keras

    keras.backend.clear_session(free_memory=True)
    keras.mixed_precision.set_global_policy("float32")
    gc.freeze()


@pytest.fixture
def interrupted_after():
    """A context manager: inside it, a run stops like a kill right after epoch N's checkpoint."""
    from recipes.training.callbacks import RunRecorder

    record = RunRecorder.on_epoch_end

    @contextlib.contextmanager
    def stop_after(epoch: int):
        def record_then_stop(self, index, logs=None):
            record(self, index, logs)
            if index + 1 == epoch:
                raise KeyboardInterrupt

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(RunRecorder, "on_epoch_end", record_then_stop)
            with pytest.raises(KeyboardInterrupt):
                yield

    return stop_after


@pytest.fixture(scope="session")
def shapes_run(tmp_path_factory):
    """A ResNet-18 run on 3 classes of the built-in set, trained by the real recipe.

    Shared by the tests of one worker: copy it before changing it.
    """
    from tests.trained_runs import train_run

    return train_run(tmp_path_factory.mktemp("runs") / "shapes")


@pytest.fixture(scope="session")
def finetuned_run(tmp_path_factory):
    """A run fine-tuned by the real recipe on `shapes_run`'s classes: its base is a nested model.

    Its base is a run trained on three other classes of the built-in set
    (fine-tuning a run on the classes it knows already is refused).
    Shared by the tests of one worker: copy it before changing it.
    """
    from tests.trained_runs import OTHER_SHAPES, finetune_run, train_run

    runs = tmp_path_factory.mktemp("runs")
    base = train_run(runs / "others", shape_classes=",".join(OTHER_SHAPES))
    return finetune_run(base, runs / "finetuned")
