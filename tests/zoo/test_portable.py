"""Saved models load in plain Keras, in a process where the zoo cannot be imported.

Each registered from-scratch architecture (and a few keras.applications bases)
is saved the way the zoo saves models (`zoo.fast_layers.keras_layers`: Keras'
own BatchNormalization and Conv2D), then one fresh Python process, started
without the project on its path, loads every file with `keras.saving.load_model`
and predicts. The architectures in `NEEDS_ZOO` hold a layer Keras does not
have; they must fail there with Keras' "Could not locate class" naming it, and
nothing else may.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from zoo.fast_layers import keras_layers

NEEDS_ZOO = {
    "lenet5": "PartiallyConnectedConv2D",  # C3's connection table (Table I)
    "googlenet": "LocalResponseNormalization",
    "vgg_a_lrn": "LocalResponseNormalization",
}
"""Architectures whose saved models need `import zoo`, and the layer Keras lacks."""

SCRATCH = [name for name in zoo.list_models() if zoo.get_spec(name).head is not None]
BASES = ["mobilenet_v3_small", "efficientnet_b0"]  # built-in preprocessing, Keras' own layers

# Run with `python -I -S`: no user site, no current directory, and no `.pth`
# files, so the project's editable install (a `.pth` finder) is not on the path.
LOADER = textwrap.dedent(
    """
    import json, sys
    site, folder = sys.argv[1], sys.argv[2]
    sys.path.append(site)
    results = {}
    try:
        import zoo
        results["import zoo"] = "imported"
    except ImportError as error:
        results["import zoo"] = type(error).__name__
    import keras
    import numpy as np
    inputs = np.load(folder + "/inputs.npz")
    for name in sorted(inputs.files):
        try:
            model = keras.saving.load_model(folder + "/" + name + ".keras")
        except Exception as error:
            results[name] = {"error": str(error)}
            continue
        outputs = np.asarray(model(inputs[name], training=False))
        dtypes = sorted({layer.dtype_policy.name for layer in model.layers})
        np.save(folder + "/" + name + ".out.npy", outputs)
        results[name] = {"dtypes": dtypes}
    print(json.dumps(results))
    """
)


def _side(name: str) -> int:
    return max(zoo.get_spec(name).min_size, 32)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    """Saves every model and loads them all in one plain-Keras process.

    Returns:
        That process's report, the predictions of the models as saved, and the folder.
    """
    folder = tmp_path_factory.mktemp("portable")
    inputs, expected = {}, {}
    rng = np.random.default_rng(0)
    for name in [*SCRATCH, *BASES]:
        spec = zoo.get_spec(name)
        shape = (_side(name), _side(name), spec.channels)
        model = zoo.build_model(name, classes=3, input_shape=shape)
        inputs[name] = rng.uniform(0, 255, (2, *shape)).astype("float32")
        with keras_layers(model):  # as the zoo saves models, and as plain Keras computes
            expected[name] = np.asarray(model(inputs[name], training=False))
            model.save(folder / f"{name}.keras")
        keras.backend.clear_session()
    np.savez(folder / "inputs.npz", **inputs)
    script = folder / "load.py"
    script.write_text(LOADER)
    site = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(script), site, str(folder)],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), expected, folder


def test_the_loading_process_cannot_import_the_zoo(loaded: tuple[dict, dict, Path]) -> None:
    report, _, _ = loaded
    assert report["import zoo"] == "ModuleNotFoundError"


@pytest.mark.parametrize("name", [*SCRATCH, *BASES])
def test_saved_model_loads_in_plain_keras(name: str, loaded: tuple[dict, dict, Path]) -> None:
    report, expected, folder = loaded
    if name in NEEDS_ZOO:
        assert set(report[name]) == {"error"}
        assert "Could not locate class" in report[name]["error"]
        assert NEEDS_ZOO[name] in report[name]["error"]
        return
    assert "error" not in report[name], report[name]
    assert report[name]["dtypes"] == ["float32"]
    outputs = np.load(folder / f"{name}.out.npy")
    np.testing.assert_allclose(outputs, expected[name], rtol=1e-5, atol=1e-6)
