"""Keras' JAX backend (the one `--strategy multihost` runs on): the zoo's own layers train there,
and a run trained there exports on TensorFlow."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("jax")

JAX = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"}

# One training step of each architecture built on the zoo's own layers: LeNet-5's C3
# (PartiallyConnectedConv2D), AlexNet's LRN, the CIFAR ResNets' zero-padded shortcuts and
# BatchNorm, and Caffe's preprocessing. The keras.applications bases are Keras' own code.
STEPS = textwrap.dedent(
    """
    import numpy as np, keras, zoo
    from zoo.layers import ImagePreprocessing
    assert keras.backend.backend() == "jax"
    for name in ("lenet5", "alexnet", "resnet20"):
        spec = zoo.get_spec(name)
        side = max(spec.min_size, 32)
        model = zoo.build_model(name, classes=3, input_shape=(side, side, spec.channels))
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        images = np.random.default_rng(0).uniform(0, 255, (4, side, side, spec.channels))
        before = [np.array(w) for w in model.trainable_weights]
        loss = model.train_on_batch(images.astype("float32"), np.eye(3)[[0, 1, 2, 0]])
        after = [np.array(w) for w in model.trainable_weights]
        moved = any(np.abs(a - b).max() > 0 for a, b in zip(after, before))
        print(name, float(loss), moved)
    pixels = np.full((1, 2, 2, 3), 200.0, "float32")
    print("caffe", *np.asarray(ImagePreprocessing("caffe")(pixels))[0, 0, 0].round(3))
    """
)


@pytest.mark.slow
def test_the_zoos_own_layers_train_on_jax():
    out = subprocess.run(
        [sys.executable, "-c", STEPS], capture_output=True, text=True, env=JAX, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    for name in ("lenet5", "alexnet", "resnet20"):
        loss, moved = lines[name].split()
        assert np.isfinite(float(loss)) and moved == "True", name
    # RGB to BGR, minus the ImageNet mean: as on TensorFlow.
    np.testing.assert_allclose(
        [float(v) for v in lines["caffe"].split()], [96.061, 83.221, 76.32], atol=1e-3
    )


def test_a_run_trained_on_jax_exports_on_tensorflow(tmp_path):
    run = tmp_path / "run"
    train = [
        sys.executable, "-m", "cli.main", "train", "--arch", "lenet5", "--classes", "3",
        "--image-size", "32", "--shapes-per-class", "8", "--epochs", "1", "--batch-size", "8",
        "--output", str(run),
    ]  # fmt: skip
    out = subprocess.run(train, capture_output=True, text=True, env=JAX, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "1 device (default strategy)" in out.stdout

    from recipes.serving.export import export_model  # this process: Keras on TensorFlow

    exported = export_model(run, output=tmp_path / "saved_models", name="jax_run")
    assert exported["checks"]["savedmodel"]["max_abs_diff"] < 1e-4
