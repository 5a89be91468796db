"""`recipes.ensemble`: averaging runs in one model, and measuring it against them.

The exact tests use runs whose answers are known (`tests.colour_runs`); the
runs trained by the real recipes check nesting, the built-in data and a file
that plain Keras loads.
"""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from recipes.ensemble import make_ensemble
from recipes.run.layout import RunLayout
from recipes.run.trained import load_trained
from recipes.runs import describe
from recipes.serving.evaluate import evaluate
from recipes.serving.predict import predict
from tests.colour_runs import CLASSES, COLOURS, KERNELS, colour_folder, colour_run
from zoo.errors import UsageError


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    """Two colour runs, at 32 and 48 px, each right on 2 of 3 classes, and their ensemble."""
    root = tmp_path_factory.mktemp("ensemble")
    data = colour_folder(root / "data")
    small = colour_run(root / "small", KERNELS["wrong_on_red"], 32, data)
    large = colour_run(root / "large", KERNELS["wrong_on_green"], 48, data)
    result = make_ensemble([small, large], output=root / "ensemble", batch_size=4)
    return {"root": root, "data": data, "small": small, "large": large, "result": result}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shapes_run, finetuned_run):
    """The ensemble of two runs trained by the real recipes on the built-in set."""
    output = tmp_path_factory.mktemp("trained-ensemble") / "ensemble"
    return make_ensemble([shapes_run, finetuned_run], output=output)


def test_the_ensemble_beats_members_that_err_on_different_classes(colours):
    result = colours["result"]
    members = result["members"]
    assert [m["accuracy"] for m in members] == [pytest.approx(2 / 3), pytest.approx(2 / 3)]
    assert result["accuracy"] == 1.0
    assert result["gain"] == pytest.approx(1 / 3)
    assert result["accuracy"] >= max(m["accuracy"] for m in members)
    assert (result["split"], result["images"]) == ("test", 6)
    assert result["input_size"] == [48, 48]
    assert [m["input_size"] for m in members] == [[32, 32], [48, 48]]
    assert result["warnings"] == []

    run = RunLayout(result["run_dir"])
    metrics = run.read_json(RunLayout.METRICS)
    assert metrics["accuracy"] == metrics["test_accuracy"] == 1.0
    assert metrics["members"] == members
    assert metrics["best_member"] in {m["run"] for m in members}
    assert [m["run"] for m in members] == [
        str(colours["small"].resolve()),
        str(colours["large"].resolve()),
    ]
    assert run.class_names() == CLASSES
    assert run.config().model.image_size == 48
    run.lock()  # released by the ensemble
    run.unlock()
    assert Path(result["files"]["json"]).parent == run.path
    listed = describe(run.path)  # as `zoo runs` shows it
    assert (listed.task, listed.epochs_done, listed.epochs_planned) == ("ensemble", None, None)
    assert listed.model == f"ensemble of 2 (best {Path(metrics['best_member']).name})"


def test_the_model_averages_members_of_different_sizes(colours):
    ensemble = load_trained(colours["result"]["run_dir"]).model
    names = [layer.name for layer in ensemble.layers]
    # Both members are called "colours": nested, they need names of their own.
    assert names == ["image", "resize_0", "member_0", "member_1", "probabilities"]
    assert ensemble.get_layer("resize_0").get_config()["height"] == 32
    assert ensemble.get_layer("probabilities").dtype_policy.compute_dtype == "float32"
    images = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 3)).astype("float32")
    small = load_trained(colours["small"]).model
    large = load_trained(colours["large"]).model
    expected = (
        small.predict(tf.image.resize(images, (32, 32)).numpy(), verbose=0)
        + large.predict(images, verbose=0)
    ) / 2
    np.testing.assert_allclose(ensemble.predict(images, verbose=0), expected, atol=1e-6)


def test_evaluate_and_predict_take_the_ensemble_like_any_run(colours, tmp_path):
    run_dir = colours["result"]["run_dir"]
    report = evaluate(run_dir, output_dir=tmp_path)  # its own data: the comparison's
    assert (report["accuracy"], report["images"]) == (1.0, 6)
    image = tmp_path / "red.png"
    keras.utils.save_img(image, np.full((20, 20, 3), COLOURS["red"], "uint8"))
    result = predict(run_dir, [str(image)], top_k=1)
    assert result["predictions"][0]["class"] == "red"


def test_a_trained_ensemble_is_measured_on_the_first_runs_data(trained, tmp_path):
    metrics = RunLayout(trained["run_dir"]).read_json(RunLayout.METRICS)
    assert metrics["members"] == trained["members"]
    assert (trained["split"], trained["images"]) == ("test", 6)
    assert trained["data"].startswith("shapes (3 classes")
    # Without --data, `zoo evaluate` measures the images the comparison used.
    again = evaluate(trained["run_dir"], output_dir=tmp_path)
    assert again["accuracy"] == pytest.approx(metrics["accuracy"])
    assert again["images"] == trained["images"]
    best = max(m["accuracy"] for m in metrics["members"])
    assert metrics["gain"] == pytest.approx(metrics["accuracy"] - best)


def test_a_trained_ensemble_loads_in_a_process_that_never_imports_the_project(trained, tmp_path):
    images = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    expected = load_trained(trained["run_dir"]).model.predict(images, verbose=0)
    script = (
        "import sys, keras, numpy; "
        "model = keras.saving.load_model(sys.argv[1], safe_mode=True); "
        "out = model.predict(numpy.load(sys.argv[2]), verbose=0); "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('zoo', 'recipes')]; "
        "print(out.tolist())"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, trained["model"], str(tmp_path / "images.npy")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(json.loads(out.stdout), expected, atol=1e-5)


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (["blue", "green", "yellow"], "only in"),
        (["green", "blue", "red"], "in another order (label by label, theirs/its: blue/green"),
    ],
)
def test_members_must_share_their_classes(colours, tmp_path, classes, message):
    other = colour_run(tmp_path / "other", KERNELS["wrong_on_red"], 32, colours["data"], classes)
    with pytest.raises(UsageError, match=r"different classes|another order") as error:
        make_ensemble([colours["small"], other], output=tmp_path / "ensemble")
    assert message in str(error.value)
    if message == "only in":
        assert "red" in str(error.value) and "yellow" in str(error.value)
    assert not (tmp_path / "ensemble").exists()


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        (["small"], "at least two runs"),
        (["small", "small"], "is given twice"),
        (["small", "data"], "not a zoo run directory"),
        (["small", "small/model.keras"], "is a model file"),
    ],
)
def test_bad_runs_are_refused_before_anything_is_written(colours, tmp_path, runs, message):
    paths = [colours["root"] / run for run in runs]
    with pytest.raises(UsageError, match=message):
        make_ensemble(paths, output=tmp_path / "ensemble")
    assert not (tmp_path / "ensemble").exists()


@pytest.mark.parametrize(
    ("kernel", "settings", "message"),
    [
        ([[10, 0, 0]], {}, "takes 1-channel images"),
        (KERNELS["wrong_on_red"], {"interpolation": "gaussian"}, "Resizing does not offer"),
    ],
)
def test_members_that_cannot_be_fed_one_input_are_refused(
    colours, tmp_path, kernel, settings, message
):
    other = colour_run(tmp_path / "other", kernel, 24, colours["data"], **settings)
    with pytest.raises(UsageError, match=message):
        make_ensemble([colours["small"], other], output=tmp_path / "ensemble")
    assert not (tmp_path / "ensemble").exists()


def test_an_existing_output_is_never_overwritten(colours):
    output = Path(colours["result"]["run_dir"])
    before = sorted(path.name for path in output.iterdir())
    with pytest.raises(UsageError, match="already exists"):
        make_ensemble([colours["small"], colours["large"]], output=output)
    assert sorted(path.name for path in output.iterdir()) == before


def test_members_measured_on_different_images_are_refused(tmp_path):
    # A folder of class folders the runs were trained on: each holds out its own share.
    data = colour_folder(tmp_path / "data", per_class=4) / "test"
    first = colour_run(tmp_path / "a", KERNELS["wrong_on_red"], 32, data, val_split=0.5)
    second = colour_run(tmp_path / "b", KERNELS["wrong_on_green"], 32, data, name="b")
    with pytest.raises(UsageError, match="hold out different images"):
        make_ensemble([first, second], output=tmp_path / "ensemble")
    assert not (tmp_path / "ensemble").exists()


def test_validation_splits_of_other_seeds_are_measured_with_a_warning(tmp_path):
    data = colour_folder(tmp_path / "data", per_class=4) / "test"
    first = colour_run(tmp_path / "a", KERNELS["wrong_on_red"], 32, data, val_split=0.5)
    second = colour_run(
        tmp_path / "b", KERNELS["wrong_on_green"], 32, data, name="b", val_split=0.5, seed=1
    )
    result = make_ensemble([first, second], output=tmp_path / "ensemble")
    assert (result["split"], result["images"]) == ("val", 6)
    assert "different seeds" in result["warnings"][0]
    metrics = RunLayout(result["run_dir"]).read_json(RunLayout.METRICS)
    assert metrics["warnings"] == result["warnings"]
    assert RunLayout(result["run_dir"]).config().run.seed == 0  # the first run's split
