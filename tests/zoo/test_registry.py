import pytest

import zoo
from zoo.errors import UnknownNameError
from zoo.registry import PREPROCESSING_MODES


def test_names_are_lower_case_and_unique():
    names = zoo.list_models()
    assert names == sorted(set(names))
    assert all(name == name.lower() for name in names)
    assert len(names) >= 45


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("inception", "inception_v3"),
        ("InceptionV3", "inception_v3"),
        ("googlenet", "googlenet"),
        ("inception_v1", "googlenet"),
        ("vgg_d", "vgg16"),
        ("vgg-e", "vgg19"),
        ("ResNet-50", "resnet50"),
        ("VGG-16", "vgg16"),
        ("lenet-5", "lenet5"),
        ("MobileNetV3Small", "mobilenet_v3_small"),
        ("EfficientNet-B0", "efficientnet_b0"),
        ("vgg11", "vgg_a"),
        ("lenet", "lenet5"),
        ("ResNet50", "resnet50"),
    ],
)
def test_aliases_resolve(alias, name):
    assert zoo.get_spec(alias).name == name


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownNameError) as info:
        zoo.get_spec("resnet5")
    message = str(info.value)
    assert "resnet50" in message
    assert "zoo list" in message
    assert "\n" not in message


def test_list_models_pattern_matches_names_and_aliases():
    assert zoo.list_models("resnet1*") == [
        "resnet101",
        "resnet101_v2",
        "resnet110",
        "resnet152",
        "resnet152_v2",
        "resnet18",
    ]
    assert "inception_v3" in zoo.list_models("inception*")
    assert zoo.list_models("no_such_thing*") == []


@pytest.mark.parametrize("name", zoo.list_models())
def test_spec_is_complete(name):
    spec = zoo.get_spec(name)
    assert spec.preprocessing in PREPROCESSING_MODES
    assert spec.paper
    assert 1 <= spec.min_size <= spec.default_size
    assert spec.params > 0
    assert spec.block_pattern, "fine-tuning needs to know where blocks end"
    assert spec.builder is not None
