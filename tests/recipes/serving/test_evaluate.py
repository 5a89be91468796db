"""`zoo evaluate`: exact metrics on a model whose answers are known, and runs' own data.

The metric tests use a bare `.keras` file whose predictions are known exactly
(softmax of the mean colour); what depends on a run directory uses runs
trained by the real recipe.
"""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from recipes.data.shapes import write_folder
from recipes.serving.evaluate import crop_offsets, evaluate
from tests.trained_runs import train_run
from zoo.errors import UsageError

SIZE = 32
COLOURS = {
    "blue": (30, 30, 220),
    "green": (30, 220, 30),
    "red": (220, 30, 30),
    "cyan": (30, 200, 200),
    "magenta": (200, 30, 200),
    "yellow": (200, 200, 30),
}


def colour_model(class_names, kernel=None):
    """Softmax of the mean colour times a fixed kernel: predictions are known exactly."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(len(class_names), activation="softmax")
    model = keras.Model(inputs, dense(x))
    if kernel is None:  # class k is the channel of its name's dominant colour
        kernel = np.zeros((3, len(class_names)), "float32")
        for k, name in enumerate(class_names):
            kernel[int(np.argmax(COLOURS[name])), k] = 10.0
    dense.set_weights([np.asarray(kernel, "float32"), np.zeros(len(class_names), "float32")])
    return model


def model_file(directory, model, class_names):
    """A bare model file with its class names next to it."""
    directory.mkdir(parents=True)
    model.save(directory / "model.keras")
    (directory / "class_names.json").write_text(json.dumps(class_names))
    return directory / "model.keras"


def write_images(folder, colour, count, start=0):
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(start, start + count):
        Image.new("RGB", (SIZE + 8, SIZE + 8), colour).save(folder / f"{index}.png")


def make_data(root, classes, mislabelled=None):
    for name in classes:
        write_images(root / "train" / name, COLOURS[name], 3)
        write_images(root / "test" / name, COLOURS[name], 2)
    if mislabelled:  # (folder, colour): an image of one colour filed under another class
        folder, colour = mislabelled
        write_images(root / "test" / folder, COLOURS[colour], 1, start=10)
    return root


def expected_probabilities(model, colours):
    images = np.stack([np.full((SIZE, SIZE, 3), COLOURS[c], "float32") for c in colours])
    return np.asarray(model(images))


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    names = ["blue", "green", "red"]
    model = colour_model(names)
    path = model_file(root / "colours", model, names)
    make_data(root / "data", names, mislabelled=("green", "red"))
    return {"root": root, "names": names, "model": model, "path": path}


def test_metrics_confusion_and_files(three_classes):
    root = three_classes["root"]
    report = evaluate(three_classes["path"], data_dir=str(root / "data"), batch_size=4)
    assert report["images"] == 7
    assert report["accuracy"] == pytest.approx(6 / 7)
    assert "top5_accuracy" not in report  # 3 classes
    assert report["confusion_matrix"] == [[2, 0, 0], [0, 2, 1], [0, 0, 2]]
    assert report["per_class"]["red"]["precision"] == pytest.approx(2 / 3)
    assert report["per_class"]["red"]["recall"] == 1.0
    assert report["per_class"]["green"]["recall"] == pytest.approx(2 / 3)
    assert report["per_class"]["green"]["support"] == 3
    assert report["per_class"]["blue"]["f1"] == 1.0
    truth = ["blue"] * 2 + ["green"] * 3 + ["red"] * 2
    seen = ["blue"] * 2 + ["green"] * 2 + ["red"] * 3
    probabilities = expected_probabilities(three_classes["model"], seen)
    true_index = [three_classes["names"].index(name) for name in truth]
    loss = -np.mean(np.log(probabilities[np.arange(7), true_index]))
    assert report["loss"] == pytest.approx(loss, rel=1e-4)

    files = report["files"]
    saved = json.loads(open(files["json"]).read())
    assert saved["accuracy"] == report["accuracy"]
    assert files["json"].endswith("colours/model-evaluation-test.json")
    rows = open(files["csv"]).read().splitlines()
    assert rows[0] == "true \\ predicted,blue,green,red"
    assert rows[2] == "green,0,2,1"
    assert open(files["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # The red image filed under green is the worst, and the report says which file it is.
    worst = saved["top_losses"][0]
    assert worst["file"] == str(root / "data" / "test" / "green" / "10.png")
    assert (worst["true"], worst["predicted"]) == ("green", "red")
    assert len(saved["top_losses"]) == 7 and Path(files["top_losses"]).is_file()


@pytest.mark.parametrize("tta", ["flip", "crops"])
def test_tta_on_uniform_images_changes_nothing(three_classes, tta):
    root = three_classes["root"]
    plain = evaluate(three_classes["path"], data_dir=str(root / "data"))
    augmented = evaluate(three_classes["path"], data_dir=str(root / "data"), tta=tta)
    assert augmented["tta"] == tta
    assert augmented["accuracy"] == plain["accuracy"]
    assert augmented["loss"] == pytest.approx(plain["loss"], abs=1e-4)
    assert augmented["files"]["json"].endswith(f"model-evaluation-test-{tta}.json")


def test_crop_offsets_are_corners_and_centre():
    assert crop_offsets((37, 37), (32, 32)) == [(0, 0), (0, 5), (5, 0), (5, 5), (2, 2)]


def test_top5_with_more_than_five_classes(tmp_path):
    names = sorted(COLOURS)
    kernel = np.random.default_rng(3).normal(0, 4, (3, len(names)))
    model = colour_model(names, kernel)
    path = model_file(tmp_path / "m", model, names)
    make_data(tmp_path / "data", names)
    report = evaluate(path, data_dir=str(tmp_path / "data"))
    probabilities = expected_probabilities(model, [n for n in names for _ in range(2)])
    truth = np.repeat(np.arange(len(names)), 2)
    top5 = np.argsort(-probabilities, axis=1)[:, :5]
    assert report["accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == truth))
    assert report["top5_accuracy"] == pytest.approx(np.mean((top5 == truth[:, None]).any(1)))


def test_same_classes_in_another_order_are_remapped(tmp_path):
    names = ["red", "green", "blue"]  # the data's label order is blue, green, red
    path = model_file(tmp_path / "m", colour_model(names), names)
    make_data(tmp_path / "data", names)
    report = evaluate(path, data_dir=str(tmp_path / "data"))
    assert report["accuracy"] == 1.0
    assert list(report["per_class"]) == names


def test_mismatched_class_names(three_classes, tmp_path):
    make_data(tmp_path / "data", ["blue", "green", "magenta"])
    with pytest.raises(UsageError, match="do not match the model's.*red.*magenta"):
        evaluate(three_classes["path"], data_dir=str(tmp_path / "data"))


def test_a_folder_of_class_folders_is_a_test_set(three_classes, tmp_path):
    for name in three_classes["names"]:
        write_images(tmp_path / "holdout" / name, COLOURS[name], 2)
    report = evaluate(three_classes["path"], data_dir=str(tmp_path / "holdout"))
    assert report["images"] == 6 and report["accuracy"] == 1.0


def test_bare_model_file_needs_data(tmp_path):
    colour_model(["blue", "green", "red"]).save(tmp_path / "m.keras")
    with pytest.raises(UsageError, match="--data DIR or --dataset NAME"):
        evaluate(tmp_path / "m.keras")


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """A real run trained on a flat folder of class folders, 40% held out for validation."""
    root = tmp_path_factory.mktemp("folder-run")
    folder = write_folder(root / "flat", 3, 5, 40, image_format="png")
    return {"run": train_run(root / "run", data_dir=str(folder), val_split=0.4), "data": folder}


def test_the_runs_own_flat_folder_has_no_test_split_so_validation_is_measured(folder_run):
    fallback = evaluate(folder_run["run"])  # --split test, the default
    assert fallback["split"] == "val" and "no test split" in fallback["note"]
    report = evaluate(folder_run["run"], split="val")
    assert report["split"] == "val" and report["images"] == 6  # 2 of 5 per class
    assert report["note"] == "" and fallback["accuracy"] == report["accuracy"]
    again = evaluate(folder_run["run"], data_dir=str(folder_run["data"]), split="val")
    assert again["images"] == 6
    assert again["confusion_matrix"] == report["confusion_matrix"]


def test_a_run_is_evaluated_on_its_own_data_by_default(shapes_run):
    report = evaluate(shapes_run)
    assert report["data"].startswith("shapes (3 classes")
    assert report["images"] == 6  # the built-in set's test split: 2 per class here
    assert report["files"]["json"] == str(shapes_run / "evaluation-test.json")
    assert sum(map(sum, report["confusion_matrix"])) == report["images"]
    # The plain cross-entropy, named so; the run trained with label smoothing (see
    # test_seeding for the loss matching metrics.json's test_cross_entropy).
    assert report["loss_kind"] == "cross-entropy" and report["label_smoothing"] == 0.1


def test_a_run_and_its_checkpoint_agree_with_keras(shapes_run, tmp_path):
    from recipes.data import load_data
    from recipes.run.layout import RunLayout

    run = tmp_path / "run"
    shutil.copytree(shapes_run, run)
    config = RunLayout(run).config()
    data = load_data(
        config.data, input_size=(32, 32), classes=3, seed=config.run.seed, shuffle=False
    )
    model = keras.saving.load_model(run / "model.keras")
    images, labels = zip(*((x.numpy(), y.numpy()) for x, y in data.test), strict=True)
    predicted = model.predict(np.concatenate(images), verbose=0).argmax(axis=1)
    expected = np.mean(predicted == np.concatenate(labels).argmax(axis=1))
    report = evaluate(run)
    assert report["accuracy"] == pytest.approx(expected)
    checkpoint = evaluate(run / "best.keras")  # the checkpoint a finished run keeps
    assert checkpoint["files"]["json"] == str(run / "best-evaluation-test.json")


def test_evaluation_sees_the_pixels_predict_sees(tmp_path):
    from recipes.serving.predict import predict

    names = ["blue", "green", "red"]
    kernel = np.random.default_rng(4).normal(0, 8, (3, 3))
    path = model_file(tmp_path / "m", colour_model(names, kernel), names)
    rng = np.random.default_rng(6)
    files = []
    for name in names:  # textured, odd-sized images: resizing makes fractional pixels
        folder = tmp_path / "holdout" / name
        folder.mkdir(parents=True)
        pixels = rng.integers(0, 256, (45, 37, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "0.png")
        files.append(folder / "0.png")
    report = evaluate(path, data_dir=str(tmp_path / "holdout"))
    result = predict(path, [str(f) for f in files], top_k=3)
    true_probability = [
        {item["class"]: item["probability"] for item in entry["top_k"]}[name]
        for entry, name in zip(result["predictions"], names, strict=True)
    ]
    assert report["loss"] == pytest.approx(-np.mean(np.log(true_probability)), abs=1e-6)
