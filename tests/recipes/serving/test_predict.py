"""`zoo predict` on a run trained by the real recipe: files, folders, globs and bad files."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from recipes.run.images import collect_images
from recipes.run.trained import float32_copy
from recipes.serving.predict import predict
from tests.trained_runs import SHAPES_CLASSES
from zoo.errors import UsageError

SIZE = 32
COLOURS = {"red": (220, 30, 30), "green": (30, 220, 30), "blue": (30, 30, 220)}


def solid(path, colour, size=SIZE, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), colour).save(path, format=fmt)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    solid(folder / "red.png", COLOURS["red"])
    solid(folder / "nested" / "GREEN.PNG", COLOURS["green"], fmt="PNG")
    solid(folder / "blue.bmp", COLOURS["blue"], size=48)  # resized to 32
    (folder / "broken.jpg").write_bytes(b"this is not a jpeg")
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image, ignored in folders")
    (folder / "photo.webp").write_bytes(b"RIFF....WEBP")  # unsupported type: reported
    solid(folder / "whole.jpg", COLOURS["red"], fmt="JPEG")
    whole = (folder / "whole.jpg").read_bytes()
    (folder / "whole.jpg").unlink()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    return folder


def test_collect_files_folders_and_globs(images, tmp_path):
    files, bad = collect_images(
        [str(images / "red.png"), str(images), str(images / "*.png"), str(tmp_path / "missing.jpg")]
    )
    names = [f.name for f in files]
    assert names[0] == "red.png"
    assert sorted(names) == [
        "GREEN.PNG",
        "blue.bmp",
        "broken.jpg",
        "empty.png",
        "photo.webp",
        "red.png",
        "truncated.jpg",
    ]
    assert bad == [{"path": str(tmp_path / "missing.jpg"), "reason": "no such file or folder"}]
    _, bad = collect_images([str(tmp_path / "*.gif")])
    assert bad[0]["reason"] == "no image file matches the pattern"


def test_predictions_match_the_model_and_bad_files_are_reported(images, shapes_run):
    # What an export computes: float32, whatever precision trained the run.
    model = float32_copy(keras.saving.load_model(shapes_run / "model.keras"))
    result = predict(shapes_run, [str(images)], top_k=2)
    by_name = {entry["path"].rsplit("/", 1)[-1]: entry for entry in result["predictions"]}
    assert set(by_name) == {"red.png", "GREEN.PNG", "blue.bmp"}
    for name, colour in [("red.png", "red"), ("GREEN.PNG", "green"), ("blue.bmp", "blue")]:
        expected = np.asarray(model(np.full((1, SIZE, SIZE, 3), COLOURS[colour], "float32")))[0]
        entry = by_name[name]
        assert len(entry["top_k"]) == 2
        assert entry["class"] == SHAPES_CLASSES[int(expected.argmax())]
        # One image alone against a batch of three: float32 kernels may round apart.
        assert entry["probability"] == pytest.approx(float(expected.max()), abs=1e-5)
        probabilities = [item["probability"] for item in entry["top_k"]]
        assert probabilities == sorted(probabilities, reverse=True)
    reasons = {entry["path"].rsplit("/", 1)[-1]: entry["reason"] for entry in result["bad"]}
    assert set(reasons) == {"empty.png", "broken.jpg", "photo.webp", "truncated.jpg"}
    assert reasons["empty.png"].startswith("empty file")
    assert reasons["broken.jpg"].startswith("not an image")
    assert reasons["photo.webp"].startswith("unsupported image type")
    assert "truncated" in reasons["truncated.jpg"].lower()
    assert all("\n" not in reason for reason in reasons.values())
    assert result["images"] == 3
    json.dumps(result)


def test_top_k_is_capped_at_the_class_count(images, shapes_run):
    result = predict(shapes_run, [str(images / "red.png")], top_k=10, batch_size=1)
    assert result["top_k"] == 3
    assert len(result["predictions"][0]["top_k"]) == 3


def test_no_readable_image_is_a_usage_error(images, shapes_run):
    with pytest.raises(UsageError, match="None of the inputs is a readable image"):
        predict(shapes_run, [str(images / "empty.png"), str(images / "broken.jpg")])
