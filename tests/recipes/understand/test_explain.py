"""`zoo explain` on runs trained by the real recipes: a flat ResNet-18 and a fine-tuned one."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from recipes.run.trained import load_trained
from recipes.understand.explain import METHODS, explain, parse_methods
from tests.recipes.understand.tiny_models import correlation, reference_grad_cam
from tests.trained_runs import SHAPES_CLASSES
from zoo.errors import UsageError

PICTURE_SIZE = (640, 360)
MIDDLE_LAYER = "conv3_block2_out"  # 4x4 at 32 px: a map with some detail


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from recipes.data.shapes import write_folder

    return write_folder(
        tmp_path_factory.mktemp("photos"),
        num_classes=3,
        count_per_class=2,
        image_size=32,
        image_format="png",
    )


def _assert_same_map(ours, reference):
    """Grad-CAM agrees with the reference; after its ReLU a map may be all zeros, in both."""
    if reference.std() > 0:
        assert correlation(ours, reference) > 0.99
    else:
        np.testing.assert_allclose(ours, reference, atol=1e-6)


def _files(photos):
    return sorted(str(path) for path in photos.rglob("*.png"))


def test_grad_cam_on_a_fine_tuned_model_agrees_with_a_reference(finetuned_run, photos, tmp_path):
    layer = f"base_features/{MIDDLE_LAYER}"
    result = explain(finetuned_run, _files(photos)[:3], layer=layer, output_dir=tmp_path)
    assert result["layer"] == layer and result["target"] == "logits"
    model = load_trained(finetuned_run, float32=True).model
    base = model.get_layer("base_features")
    features_of = keras.Model(base.inputs, base.get_layer(MIDDLE_LAYER).output)
    rest_of_base = keras.Model(base.get_layer(MIDDLE_LAYER).output, base.outputs[0])

    def logits_of(feature_map):
        pooled = model.get_layer("head_pool")(rest_of_base(feature_map))
        return model.get_layer("head_logits")(pooled)

    assert len(result["images"]) == 3  # the loop below checks every one of them
    for row, entry in zip(result["images"], result["methods"]["gradcam"]["files"], strict=True):
        image = np.asarray(Image.open(row["path"]).convert("RGB"), dtype="float32")
        target = SHAPES_CLASSES.index(row["target"])
        ours = np.load(entry["npy"])
        assert ours.shape == (32, 32)
        _assert_same_map(ours, reference_grad_cam(features_of, logits_of, image, target))
        assert Image.open(entry["png"]).size == PICTURE_SIZE


def test_the_default_layer_of_a_fine_tuned_model_is_inside_its_base(
    finetuned_run, photos, tmp_path
):
    result = explain(finetuned_run, _files(photos)[:1], output_dir=tmp_path)
    assert result["layer"].startswith("base_features/")


def test_grad_cam_on_a_flat_run_agrees_with_a_reference(shapes_run, photos, tmp_path):
    result = explain(shapes_run, _files(photos), layer=MIDDLE_LAYER, output_dir=tmp_path)
    model = load_trained(shapes_run, float32=True).model
    features_of = keras.Model(model.inputs, model.get_layer(MIDDLE_LAYER).output)
    rest = keras.Model(model.get_layer(MIDDLE_LAYER).output, model.get_layer("probabilities").input)
    assert len(result["images"]) == len(_files(photos))  # the loop below checks every one
    for row, entry in zip(result["images"], result["methods"]["gradcam"]["files"], strict=True):
        image = np.asarray(Image.open(row["path"]).convert("RGB"), dtype="float32")
        reference = reference_grad_cam(
            features_of, rest, image, SHAPES_CLASSES.index(row["target"])
        )
        _assert_same_map(np.load(entry["npy"]), reference)


def test_every_method_writes_a_picture_and_a_map_of_the_input_size(shapes_run, photos, tmp_path):
    files = _files(photos)[:2]
    result = explain(shapes_run, files, methods=["all"], layer=MIDDLE_LAYER, output_dir=tmp_path)
    assert list(result["methods"]) == list(METHODS)
    for method, written in result["methods"].items():
        assert written["folder"] == str(tmp_path / method)
        assert [entry["image"] for entry in written["files"]] == files
        for entry in written["files"]:
            raw = np.load(entry["npy"])
            assert raw.shape == (32, 32) and np.isfinite(raw).all()
            assert Image.open(entry["png"]).size == PICTURE_SIZE
    for method in ("gradcam", "saliency", "integrated-gradients", "occlusion"):
        assert np.load(result["methods"][method]["files"][0]["npy"]).std() > 0, method


def test_a_named_class_is_the_target_of_every_image(shapes_run, photos, tmp_path):
    result = explain(shapes_run, _files(photos)[:2], class_name="square", output_dir=tmp_path)
    assert [row["target"] for row in result["images"]] == ["square", "square"]
    assert all(row["predicted"] in SHAPES_CLASSES for row in result["images"])


def test_the_default_folder_is_inside_the_run(shapes_run, photos, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(shapes_run, run)
    result = explain(run, _files(photos)[:1], methods=["saliency"])
    assert result["methods"]["saliency"]["folder"] == str(run / "explain" / "saliency")


def test_unreadable_images_are_reported_and_the_others_explained(shapes_run, photos, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = explain(shapes_run, [str(broken), _files(photos)[0]], output_dir=tmp_path / "out")
    assert [entry["path"] for entry in result["bad"]] == [str(broken)]
    assert len(result["methods"]["gradcam"]["files"]) == 1


def test_bad_names_get_the_closest_ones(shapes_run, photos, tmp_path):
    files = _files(photos)[:1]
    with pytest.raises(
        UsageError,
        match=r"Unknown class 'sqare'\. Did you mean: square\?.*circle, square, triangle",
    ):
        explain(shapes_run, files, class_name="sqare", output_dir=tmp_path)
    with pytest.raises(UsageError, match="Did you mean: conv3_block2_out"):
        explain(shapes_run, files, layer="conv3_block2_ot", output_dir=tmp_path)
    with pytest.raises(UsageError, match="Did you mean: gradcam"):
        parse_methods(["gradcm"])
    with pytest.raises(UsageError, match="4-D feature map"):
        explain(shapes_run, files, layer="avg_pool", output_dir=tmp_path)


def test_methods_are_repeated_or_comma_separated():
    assert parse_methods(["saliency,gradcam", "gradcam"]) == ["saliency", "gradcam"]
    assert parse_methods([]) == ["gradcam"]
    assert parse_methods(["all"]) == list(METHODS)


def test_check_scores_grad_cam_and_draws_the_randomised_maps(
    finetuned_run, photos, tmp_path, capfd
):
    result = explain(
        finetuned_run,
        _files(photos)[:2],
        layer=f"base_features/{MIDDLE_LAYER}",
        output_dir=tmp_path,
        check=True,
    )
    check = result["methods"]["gradcam"]["check"]
    assert (
        json.loads((tmp_path / "gradcam" / "check.json").read_text())["faithfulness"]
        == check["faithfulness"]
    )
    levels = check["randomisation"]["levels"]
    assert levels[0]["from_layer"] == "head_logits"
    assert levels[-1]["from_layer"].startswith("base_features/")
    verdict = check["randomisation"]["verdict"]
    if verdict.startswith("undetermined"):  # a Grad-CAM may be blank after its ReLU
        assert all(
            np.load(entry["npy"]).std() == 0 for entry in result["methods"]["gradcam"]["files"]
        )
    else:  # a randomised model changes the maps
        assert min(level["spearman"] for level in levels) < 0.9 and verdict == "passes"
    assert check["faithfulness"]["verdict"].split(":")[0] in ("passes", "flagged", "undetermined")
    assert Image.open(check["png"]).size[0] > 600
    assert "retracing" not in capfd.readouterr().err
