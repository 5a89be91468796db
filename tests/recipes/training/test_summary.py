"""The summary printed before epoch 1: the data (loud for the built-in set), upscaling, model."""

from types import SimpleNamespace

import pytest

from recipes.config import load_preset, resolve_config
from recipes.data.bundle import median_size
from recipes.data.shapes import write_folder
from recipes.data.sources.tfds import _declared_size
from recipes.training.summary import run_summary, upscale_note
from recipes.training.train import prepare_train


def prepared(**settings):
    config = resolve_config(
        load_preset("modern"),
        {"task": "train", "arch": "lenet5", "classes": 3, "shapes_per_class": 8, **settings},
    )
    return prepare_train(config)


def test_the_built_in_set_is_announced_loudly_with_the_settings():
    lines = run_summary(prepared(image_size=32))
    assert lines[0].startswith("NOTE: no --data or --dataset given: training on the built-in set")
    assert "train 18, val 6, test 6; 3 classes; input 32x32 px (--image-size)" in lines[1]
    assert lines[2].startswith("model: lenet5, ") and "preset modern" in lines[2]
    assert "adamw lr 0.003 (cosine after 1 warm-up epoch), batch 32, 30 epochs" in lines[3]
    assert "augmentation auto (light at this input size)" in lines[3]


def test_a_folder_is_named_and_the_default_size_is_said_to_be_the_models(tmp_path):
    folder = write_folder(tmp_path / "photos", num_classes=3, count_per_class=4, image_size=32)
    lines = run_summary(prepared(data_dir=str(folder)))
    assert lines[0].startswith("data: ") and str(folder) in lines[0]
    assert "input 32x32 px (the model's default)" in lines[1]


def test_images_scaled_up_to_the_architecture_s_size_are_announced(tmp_path):
    folder = write_folder(tmp_path / "small", num_classes=3, count_per_class=4, image_size=32)
    run = prepared(arch="alexnet", data_dir=str(folder), batch_size=4)
    assert run.data.source_size == (32, 32)
    lines = run_summary(run)
    assert "input 227x227 px (the model's default)" in lines[1]
    assert lines[2] == (
        "NOTE: the images (32x32 px, the median) are scaled up to 227x227 px, alexnet's "
        "default input size (it takes 67 px at least): 50x the pixels per image, and no new "
        "detail; --image-size 67 is the least work."
    )


def _sized(arch, source, input_size, image_size=None, layout="tfds"):
    config = resolve_config({"task": "train", "arch": arch, "image_size": image_size})
    data = SimpleNamespace(source_size=source, input_size=input_size, layout=layout)
    return SimpleNamespace(config=config, data=data, name=arch)


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            _sized("resnet18", (32, 32), (224, 224)),
            "NOTE: the images (32x32 px) are scaled up to 224x224 px, resnet18's default input "
            "size: 49x the pixels per image, and no new detail; --image-size 32 trains at the "
            "images' own size.",
        ),
        (
            _sized("lenet5", (28, 28), (32, 32)),
            "NOTE: the images (28x28 px) are scaled up to 32x32 px, lenet5's default input "
            "size, also the smallest it takes: 1.3x the pixels per image, and no new detail.",
        ),
        (
            _sized("resnet18", (32, 48), (64, 64), image_size=64),
            "NOTE: the images (32x48 px) are scaled up to 64x64 px (--image-size): 2.7x the "
            "pixels per image, and no new detail.",
        ),
        (_sized("resnet18", (500, 375), (224, 224)), None),  # made smaller: nothing to say
        (_sized("resnet18", None, (224, 224), layout="shapes"), None),  # drawn at the size
        (
            _sized("my_base", (32, 32), (96, 96)),
            "NOTE: the images (32x32 px) are scaled up to 96x96 px, the base's input size: "
            "9x the pixels per image, and no new detail.",
        ),
    ],
)
def test_the_note_says_from_what_size_to_what_size_and_why(run, expected):
    assert upscale_note(run) == expected


def test_a_dataset_s_declared_size_is_its_source_size():
    assert _declared_size(SimpleNamespace(shape=(32, 32, 3))) == (32, 32)
    assert _declared_size(SimpleNamespace(shape=(None, None, 3))) is None
    assert median_size([(10, 40), None, (30, 20), (20, 30)]) == (20, 30)
    assert median_size([None]) is None
