"""`zoo export` of a bf16 run trained by the real recipe: layout, signatures, versions."""

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes.serving.export.exporter as exporter
from recipes.run.trained import float32_copy
from recipes.serving.export import export_model, list_versions
from recipes.serving.export import versions as export_versions
from tests.trained_runs import SHAPES_CLASSES as CLASSES
from tests.trained_runs import train_run
from zoo.errors import UsageError, ZooError

SIZE = 32


def sample_images(count=5):
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (count, SIZE, SIZE, 3), dtype=np.uint8)


def png_bytes(images):
    return [tf.io.encode_png(image).numpy() for image in images]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A run trained in mixed precision (bf16), exported; the float32 model's answers."""
    root = tmp_path_factory.mktemp("export")
    run = train_run(root / "runs" / "shapes", precision="bf16")
    result = export_model(run, output=root / "saved_models")
    images = sample_images()
    trained = keras.saving.load_model(run / "model.keras")
    model = float32_copy(trained)
    expected = np.asarray(model(images.astype("float32")))
    return {
        "root": root,
        "result": result,
        "images": images,
        "expected": expected,
        "trained": trained,
    }


def test_layout_and_result(exported):
    result, root = exported["result"], exported["root"]
    version_dir = root / "saved_models" / "shapes" / "1"
    assert result["name"] == "shapes" and result["version"] == 1
    assert Path(result["path"]) == version_dir
    assert (version_dir / "saved_model.pb").is_file()
    assert (version_dir / "variables").is_dir()
    assert (version_dir / "assets" / "class_names.txt").read_text().split() == CLASSES
    assert sorted(p.name for p in (root / "saved_models" / "shapes").iterdir()) == ["1"]
    check = result["checks"]["savedmodel"]
    assert check["max_abs_diff"] < 1e-5
    assert check["max_abs_diff_image_bytes"] < 1e-5
    assert check["max_abs_diff_uint8"] < 1e-5
    assert set(result["signatures"]) == {
        "serving_default",
        "serving_images",
        "serving_images_uint8",
    }
    json.dumps(result)  # plain data


def test_signatures_in_process(exported):
    loaded = tf.saved_model.load(exported["result"]["path"])
    images, expected = exported["images"], exported["expected"]
    out = loaded.signatures["serving_default"](image_bytes=tf.constant(png_bytes(images)))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    classes = [name.decode() for name in out["classes"].numpy()]
    assert classes == [CLASSES[i] for i in expected.argmax(axis=1)]
    assert out["top_k_classes"].shape == (len(images), 3)
    np.testing.assert_allclose(
        out["top_k_probabilities"].numpy(), -np.sort(-expected, axis=1), atol=1e-5
    )
    uint8 = loaded.signatures["serving_images_uint8"](images=tf.constant(images))
    np.testing.assert_allclose(uint8["probabilities"].numpy(), expected, atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError):
        loaded.signatures["serving_default"](image_bytes=tf.constant([b"not an image"]))


FRESH_PROCESS = r"""
import importlib.abc, json, sys

# The venv may hold an editable install of the project: make it unimportable.
class NoProject(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"zoo", "recipes", "cli"}:
            raise ImportError("the project must not be needed: " + name)

sys.meta_path.insert(0, NoProject())
try:
    import zoo.layers  # noqa: F401
    raise SystemExit("the project is importable")
except ImportError:
    pass
import numpy as np
import tensorflow as tf

model = tf.saved_model.load(sys.argv[1])
images = np.load(sys.argv[2])
encoded = [tf.io.encode_png(image).numpy() for image in images]
out = model.signatures["serving_default"](image_bytes=tf.constant(encoded))
floats = model.signatures["serving_images"](images=tf.constant(images, tf.float32))
print(json.dumps({
    "probabilities": out["probabilities"].numpy().tolist(),
    "classes": [c.decode() for c in out["classes"].numpy()],
    "float_probabilities": floats["probabilities"].numpy().tolist(),
    "signatures": sorted(model.signatures),
}))
"""


def test_fresh_process_without_the_project(exported, tmp_path):
    np.save(tmp_path / "images.npy", exported["images"])
    (tmp_path / "client.py").write_text(FRESH_PROCESS)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    completed = subprocess.run(
        [sys.executable, "-I", "client.py", exported["result"]["path"], "images.npy"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    expected = exported["expected"]
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
    np.testing.assert_allclose(out["float_probabilities"], expected, atol=1e-5)
    assert out["classes"] == [CLASSES[i] for i in expected.argmax(axis=1)]
    assert {"serving_default", "serving_images"} <= set(out["signatures"])


def test_saved_model_cli_lists_both_signatures(exported):
    cli = Path(sys.executable).with_name("saved_model_cli")
    completed = subprocess.run(
        [str(cli), "show", "--all", "--dir", exported["result"]["path"]],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    text = completed.stdout
    assert "signature_def['serving_default']" in text
    assert "signature_def['serving_images']" in text
    assert "inputs['image_bytes']" in text and "DT_STRING" in text
    assert "outputs['top_k_classes']" in text


def test_versions_overwrite_and_refusal(exported, tmp_path):
    run = exported["root"] / "runs" / "shapes"
    out = tmp_path / "models"
    (out / "pets").mkdir(parents=True)
    shutil.copytree(exported["result"]["path"], out / "pets" / "1")  # an earlier export
    second = export_model(run, output=out, name="pets", top_k=2, samples=1)
    assert second["version"] == 2 and second["top_k"] == 2
    with pytest.raises(UsageError, match=r"already exists; pass --overwrite.*next free one is 3"):
        export_model(run, output=out, name="pets", version=2)
    marker = out / "pets" / "2" / "marker"
    marker.write_text("old")
    again = export_model(run, output=out, name="pets", version=2, overwrite=True, samples=1)
    assert again["version"] == 2 and not marker.exists()
    assert list_versions(out / "pets") == [1, 2]
    assert sorted(p.name for p in (out / "pets").iterdir()) == ["1", "2"]


def test_concurrent_exports_without_version_both_succeed(exported, tmp_path, monkeypatch):
    # Both exports list the versions before either claims one, so both try version 1.
    listed = threading.Barrier(2, timeout=120)
    waited = threading.local()
    list_versions_now = export_versions.list_versions

    def list_versions_in_step(model_root):
        versions = list_versions_now(model_root)
        if not getattr(waited, "once", False):
            waited.once = True
            listed.wait()
        return versions

    monkeypatch.setattr(export_versions, "list_versions", list_versions_in_step)
    run, out = exported["root"] / "runs" / "shapes", tmp_path / "models"
    results, errors = [], []

    def export_once():
        try:
            results.append(export_model(run, output=out, name="pets", samples=1))
        except Exception as error:  # noqa: BLE001  (reported by the assertion below)
            errors.append(error)

    threads = [threading.Thread(target=export_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert sorted(result["version"] for result in results) == [1, 2]
    assert sorted(p.name for p in (out / "pets").iterdir()) == ["1", "2"]
    for result in results:
        assert Path(result["path"]) == out / "pets" / str(result["version"])
        loaded = tf.saved_model.load(result["path"])
        probabilities = loaded.signatures["serving_images"](
            images=tf.constant(exported["images"], tf.float32)
        )["probabilities"]
        np.testing.assert_allclose(probabilities.numpy(), exported["expected"], atol=1e-5)


def test_explicit_version_taken_during_the_export_is_refused(exported, tmp_path, monkeypatch):
    out = tmp_path / "models"
    write_saved_model = exporter.write_saved_model

    def a_concurrent_export_takes_version_1(trained, directory, *settings):
        write_saved_model(trained, directory, *settings)
        (out / "pets" / "1").mkdir()
        (out / "pets" / "1" / "saved_model.pb").write_bytes(b"other")

    monkeypatch.setattr(exporter, "write_saved_model", a_concurrent_export_takes_version_1)
    run = exported["root"] / "runs" / "shapes"
    with pytest.raises(UsageError, match="already exists; pass --overwrite"):
        export_model(run, output=out, name="pets", version=1, samples=1)
    assert sorted(p.name for p in (out / "pets").iterdir()) == ["1"]
    assert (out / "pets" / "1" / "saved_model.pb").read_bytes() == b"other"


def test_failed_check_leaves_nothing(exported, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        return {"samples": 1, "max_abs_diff": 0.5}

    monkeypatch.setattr(exporter, "check_saved_model", broken)
    with pytest.raises(ZooError, match="differs from the Keras model"):
        export_model(exported["root"] / "runs" / "shapes", output=tmp_path, name="broken")
    assert not (tmp_path / "broken").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "../escape"}, "Invalid model name"),
        ({"format": "pickle"}, "Unknown format"),
        ({"version": 0}, "positive integer"),
    ],
)
def test_bad_arguments(exported, tmp_path, kwargs, message):
    with pytest.raises(UsageError, match=message):
        export_model(exported["root"] / "runs" / "shapes", output=tmp_path, **kwargs)


def test_image_bytes_the_training_decoder_would_not_read_are_refused(exported):
    import io

    from PIL import Image

    serve = tf.saved_model.load(exported["result"]["path"]).signatures["serving_default"]
    image = Image.fromarray(exported["images"][0])

    def encoded(picture, file_format):
        buffer = io.BytesIO()
        picture.save(buffer, format=file_format)
        return buffer.getvalue()

    rgb_bmp = serve(image_bytes=tf.constant([encoded(image, "BMP")]))["probabilities"]
    np.testing.assert_allclose(rgb_bmp.numpy()[0], exported["expected"][0], atol=1e-5)
    palette_bmp = encoded(image.convert("P"), "BMP")
    with pytest.raises(tf.errors.InvalidArgumentError, match="fewer than 24 bits"):
        serve(image_bytes=tf.constant([palette_bmp]))
    for other in (b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"not an image", b""):
        with pytest.raises(tf.errors.InvalidArgumentError, match="not a JPEG, PNG, GIF or BMP"):
            serve(image_bytes=tf.constant([other]))


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_tflite_round_trip(exported, tmp_path):
    result = export_model(exported["root"] / "runs" / "shapes", output=tmp_path, format="tflite")
    assert result["checks"]["tflite"]["max_abs_diff"] < 1e-4
    tflite_file = Path(result["files"]["tflite"])
    assert tflite_file.parent == Path(result["path"]) and tflite_file.is_file()
    assert (tflite_file.parent / "saved_model.pb").is_file()
    interpreter = tf.lite.Interpreter(model_path=str(tflite_file))
    runner = interpreter.get_signature_runner("serving_images")
    out = runner(images=exported["images"].astype("float32"))["probabilities"]
    np.testing.assert_allclose(out, exported["expected"], atol=1e-4)


def test_onnx_round_trip(exported, tmp_path):
    pytest.importorskip("tf2onnx", reason="the optional 'onnx' extra (tf2onnx) is not installed")
    onnxruntime = pytest.importorskip(
        "onnxruntime", reason="the optional 'onnx' extra (onnxruntime) is not installed"
    )
    result = export_model(exported["root"] / "runs" / "shapes", output=tmp_path, format="onnx")
    assert result["checks"]["onnx"]["max_abs_diff"] < 1e-4
    session = onnxruntime.InferenceSession(result["files"]["onnx"])
    name = session.get_inputs()[0].name
    out = session.run(None, {name: exported["images"].astype("float32")})[0]
    np.testing.assert_allclose(out, exported["expected"], atol=1e-4)


def test_predict_and_the_exported_signature_agree_on_resized_images(exported, tmp_path):
    from PIL import Image

    from recipes.serving.predict import predict

    rng = np.random.default_rng(5)
    paths = []
    for index, size in enumerate([(50, 41), (17, 23)]):  # (width, height), resized to 32x32
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        paths.append(tmp_path / f"{index}.jpg")
        Image.fromarray(pixels).save(paths[-1], quality=85)
    result = predict(exported["root"] / "runs" / "shapes", [str(p) for p in paths], top_k=3)
    loaded = tf.saved_model.load(exported["result"]["path"])
    out = loaded.signatures["serving_default"](
        image_bytes=tf.constant([p.read_bytes() for p in paths])
    )
    for entry, row in zip(result["predictions"], out["probabilities"].numpy(), strict=True):
        by_class = {item["class"]: item["probability"] for item in entry["top_k"]}
        np.testing.assert_allclose([by_class[name] for name in CLASSES], row, atol=1e-6)


def test_a_mixed_precision_run_exports_in_float32(exported):
    # The run trained in bfloat16; its model.keras and its export compute in float32.
    trained = exported["trained"]
    # The input layer computes nothing; its policy is the loading process's global one.
    layers = [layer for layer in trained.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert {layer.dtype_policy.name for layer in layers} == {"float32"}
    images = sample_images().astype("float32")
    loaded = tf.saved_model.load(exported["result"]["path"])
    out = loaded.signatures["serving_images"](images=tf.constant(images))["probabilities"]
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), np.asarray(trained(images)), atol=1e-5)
