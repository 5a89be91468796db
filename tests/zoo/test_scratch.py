"""The from-scratch, paper-faithful architectures: counts, shapes, options, sizes."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from zoo.archs.lenet import C3_TABLE
from zoo.builder import build_model, classifier_top
from zoo.errors import UsageError
from zoo.layers import LocalResponseNormalization, PartiallyConnectedConv2D
from zoo.registry import get_spec

SCRATCH = [
    "lenet5",
    "alexnet",
    "zfnet",
    "vgg_a",
    "vgg_a_lrn",
    "vgg_b",
    "vgg_c",
    "googlenet",
    "resnet18",
    "resnet34",
]
SMALL = 75  # above every min_size, and the aux heads of GoogLeNet fit


def _trainable(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _side(model: keras.Model, layer: str) -> int:
    shape = model.get_layer(layer).output.shape
    assert shape[1] == shape[2]
    return shape[1]


@pytest.fixture(scope="module")
def alexnet() -> keras.Model:
    return build_model("alexnet")


@pytest.fixture(scope="module")
def zfnet() -> keras.Model:
    return build_model("zfnet")


# --- parameter counts at the default input size with the paper's classes ---------------


@pytest.mark.parametrize(
    ("name", "params", "trainable"),
    [
        ("lenet5", 60_850, 60_850),  # 10 classes
        ("googlenet", 6_998_552, 6_998_552),
        ("resnet18", 11_699_112, 11_689_512),
        ("resnet34", 21_814_696, 21_797_672),
        pytest.param("vgg_a", 132_863_336, None, marks=pytest.mark.slow),
        pytest.param("vgg_a_lrn", 132_863_336, None, marks=pytest.mark.slow),
        pytest.param("vgg_b", 133_047_848, None, marks=pytest.mark.slow),
        pytest.param("vgg_c", 133_638_952, None, marks=pytest.mark.slow),
    ],
)
def test_parameter_counts(name: str, params: int, trainable: int | None) -> None:
    model = build_model(name)
    assert model.count_params() == params == get_spec(name).params
    assert _trainable(model) == (params if trainable is None else trainable)


@pytest.mark.slow
@pytest.mark.parametrize(("fixture", "params"), [("alexnet", 62_378_344), ("zfnet", 62_357_608)])
def test_alexnet_zfnet_parameter_counts(
    fixture: str, params: int, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(fixture)
    assert model.count_params() == params == get_spec(fixture).params


# --- layer output sides -----------------------------------------------------------------


@pytest.mark.slow
def test_alexnet_layer_outputs(alexnet: keras.Model) -> None:
    expected = {
        "conv1": (55, 96),
        "pool1": (27, 96),
        "conv2": (27, 256),
        "pool2": (13, 256),
        "conv3": (13, 384),
        "conv4": (13, 384),
        "conv5": (13, 256),
        "pool5": (6, 256),
    }
    for layer, (side, maps) in expected.items():
        assert tuple(alexnet.get_layer(layer).output.shape[1:]) == (side, side, maps), layer
    rates = [layer.rate for layer in alexnet.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.5, 0.5]
    top = [layer.name for layer in alexnet.layers[-5:]]
    assert top == ["fc6", "fc6_dropout", "fc7", "fc7_dropout", "predictions"]


@pytest.mark.slow
def test_zfnet_layer_outputs(zfnet: keras.Model) -> None:
    layers = ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")
    assert [_side(zfnet, layer) for layer in layers] == [110, 55, 26, 13, 13, 13, 13, 6]
    conv1 = zfnet.get_layer("conv1")
    assert conv1.kernel_size == (7, 7) and conv1.strides == (2, 2) and conv1.filters == 96


def test_googlenet_layer_outputs() -> None:
    model = build_model("googlenet", classes=7)
    sides = [_side(model, name) for name in ("conv1", "pool1", "pool2", "pool3", "pool4")]
    assert sides == [112, 56, 28, 14, 7]
    maps = [model.get_layer(f"inception_{n}_concat").output.shape[-1] for n in ("3a", "4e", "5b")]
    assert maps == [256, 832, 1024]
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    for name in ("norm1", "norm2"):
        assert isinstance(model.get_layer(name), LocalResponseNormalization)


def test_lrn_follows_the_alexnet_formula() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(-30, 30, size=(1, 2, 2, 8)).astype("float32")
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    expected = np.empty_like(a)
    for i in range(8):
        neighbours = a[..., max(0, i - n // 2) : min(8, i + n // 2 + 1)]
        expected[..., i] = a[..., i] / (k + alpha * (neighbours**2).sum(-1)) ** beta
    layer = LocalResponseNormalization()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(a)), expected, rtol=1e-5)


# --- LeNet-5 ----------------------------------------------------------------------------


def _below_predictions(model: keras.Model) -> int:
    return model.count_params() - model.get_layer("predictions").count_params()


def test_lenet_c3_connection_table() -> None:
    sizes = [len(inputs) for inputs in C3_TABLE]
    assert sizes == [3] * 6 + [4] * 9 + [6]
    for inputs in C3_TABLE[:12]:  # the first twelve maps see contiguous S2 maps
        assert inputs == tuple((inputs[0] + k) % 6 for k in range(len(inputs)))
    model = build_model("lenet5", classes=10)
    assert model.get_layer("c3").count_params() == 1_516


def test_lenet_c3_is_only_partially_connected() -> None:
    layer = PartiallyConnectedConv2D(C3_TABLE, 5)
    zeros = np.zeros((1, 5, 5, 6), "float32")
    bias = keras.ops.convert_to_numpy(layer(zeros))[0, 0, 0]
    for map_ in range(6):
        x = zeros.copy()
        x[..., map_] = np.random.default_rng(map_).uniform(1, 2, (5, 5))
        changed = keras.ops.convert_to_numpy(layer(x))[0, 0, 0] != bias
        assert changed.tolist() == [map_ in inputs for inputs in C3_TABLE]


def test_lenet_sixty_thousand_parameters() -> None:
    # The paper's 60,000 trainable parameters are C1 to F6: its RBF output was fixed.
    paper = build_model("lenet5", classes=10)
    assert _below_predictions(paper) == 60_000
    assert paper.count_params() == 60_850
    assert _below_predictions(build_model("lenet", classes=1000)) == 60_000
    assert build_model("lenet").count_params() == 60_850  # the paper's 10 classes by default
    layers = ["c1", "s2_pool", "s2", "c3", "s4_pool", "s4", "c5", "flatten", "f6", "predictions"]
    assert [layer.name for layer in paper.layers[2:]] == layers  # after input, preprocessing
    assert paper.get_layer("s2").count_params() == 12
    assert paper.get_layer("f6").units == 84


def test_lenet_full_c3() -> None:
    common = build_model("lenet5", classes=10, full_c3=True, trainable_subsampling=False)
    assert common.count_params() == 61_706
    assert isinstance(common.get_layer("s2"), keras.layers.AveragePooling2D)
    full = build_model("lenet5", classes=10, full_c3=True)
    assert full.get_layer("c3").count_params() == 2_416
    assert full.count_params() == 60_850 + 900


def test_lenet_serialises(tmp_path) -> None:
    model = build_model("lenet5", classes=7, input_shape=(40, 40, 3))
    model.save(tmp_path / "lenet.keras")
    loaded = keras.models.load_model(tmp_path / "lenet.keras")
    x = np.random.default_rng(0).uniform(0, 255, (2, 40, 40, 3)).astype("float32")
    np.testing.assert_allclose(model(x), loaded(x), atol=1e-6)


# --- GoogLeNet's auxiliary classifiers --------------------------------------------------


def test_googlenet_aux_logits() -> None:
    model = build_model("googlenet", aux_logits=True, classifier_activation=None)
    assert model.output_names == ["predictions", "aux1_predictions", "aux2_predictions"]
    assert [tuple(output.shape) for output in model.outputs] == [(None, 1000)] * 3
    # Two heads: 1x1 conv 128 on 512 and 528 maps, FC 1024 on 4x4x128, FC 1000.
    heads = 512 * 128 + 528 * 128 + 2 * (128 + 2048 * 1024 + 1024 + 1024 * 1000 + 1000)
    assert model.count_params() == 6_998_552 + heads
    assert _side(model, "aux1_pool") == _side(model, "aux2_pool") == 4
    rates = {layer.name: layer.rate for layer in model.layers if "dropout" in layer.name}
    assert rates == {"aux1_dropout": 0.7, "aux2_dropout": 0.7, "dropout": 0.4}


def test_googlenet_aux_logits_small_input() -> None:
    model = build_model("googlenet", classes=7, input_shape=(SMALL, SMALL, 3), aux_logits=True)
    outputs = model(np.zeros((1, SMALL, SMALL, 3), "float32"))
    assert [tuple(output.shape) for output in outputs] == [(1, 7)] * 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"include_top": False}, "include_top=True"),
        ({"input_shape": (64, 64, 3)}, "at least 65x65"),
    ],
)
def test_googlenet_aux_logits_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_model("googlenet", aux_logits=True, **kwargs)


# --- options ----------------------------------------------------------------------------


def _layers_of(model: keras.Model, kind: type) -> list[str]:
    return [layer.name for layer in model.layers if isinstance(layer, kind)]


@pytest.mark.parametrize(
    ("name", "order"),
    [
        ("alexnet", ["conv1", "norm1", "pool1", "conv2", "norm2", "pool2"]),
        ("zfnet", ["conv1", "pool1", "norm1", "conv2", "pool2", "norm2"]),
    ],
)
def test_lrn_option(name: str, order: list[str]) -> None:
    shape = (SMALL, SMALL, 3)
    plain = build_model(name, classes=7, input_shape=shape)
    lrn = build_model(name, classes=7, input_shape=shape, lrn=True)
    names = [layer.name for layer in lrn.layers]
    assert [n for n in names if n in order] == order
    assert [layer.name for layer in plain.layers] == [n for n in names if "norm" not in n]
    assert lrn.count_params() == plain.count_params()


def test_vgg_a_lrn() -> None:
    shape = (32, 32, 3)
    plain = build_model("vgg11", classes=7, input_shape=shape)
    lrn = build_model("vgg11_lrn", classes=7, input_shape=shape)
    names = [layer.name for layer in lrn.layers]
    assert names[names.index("block1_lrn") - 1] == "block1_conv1"
    assert "block1_lrn" not in [layer.name for layer in plain.layers]
    assert lrn.count_params() == plain.count_params()


def test_vgg_c_has_1x1_convolutions() -> None:
    model = build_model("vgg_c", classes=7, input_shape=(32, 32, 3))
    ones = [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1)
    ]
    assert ones == ["block3_conv3", "block4_conv3", "block5_conv3"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alexnet", ["fc6_dropout", "fc7_dropout"]),
        ("vgg_a", ["fc1_dropout", "fc2_dropout"]),
        ("vgg16", ["fc1_dropout", "fc2_dropout"]),
        ("vgg19", ["fc1_dropout", "fc2_dropout"]),
    ],
)
def test_dropout_option(name: str, expected: list[str]) -> None:
    shape = (SMALL, SMALL, 3)
    model = build_model(name, classes=7, input_shape=shape, dropout=0.25)
    dropouts = {layer.name: layer.rate for layer in model.layers if "dropout" in layer.name}
    assert dropouts == dict.fromkeys(expected, 0.25)
    none = build_model(name, classes=7, input_shape=shape, dropout=0)
    assert not _layers_of(none, keras.layers.Dropout)
    assert none.count_params() == model.count_params()


def test_vgg_d_and_e_have_the_papers_dropout_by_default() -> None:
    for name in ("vgg16", "vgg19"):
        model = build_model(name, classes=7, input_shape=(32, 32, 3))
        rates = {layer.name: layer.rate for layer in model.layers if "dropout" in layer.name}
        assert rates == {"fc1_dropout": 0.5, "fc2_dropout": 0.5}, name


def test_googlenet_dropout_option() -> None:
    model = build_model("googlenet", classes=7, input_shape=(SMALL, SMALL, 3), dropout=0.2)
    assert model.get_layer("dropout").rate == 0.2


@pytest.mark.parametrize("rate", [1.0, -0.1, "0.5"])
def test_bad_dropout(rate: object) -> None:
    with pytest.raises(UsageError, match=r"dropout must be a number in \[0, 1\)"):
        build_model("zfnet", classes=7, input_shape=(SMALL, SMALL, 3), dropout=rate)


def test_unknown_option() -> None:
    with pytest.raises(UsageError, match="options: dropout"):
        build_model("vgg_b", lrn=True)


# --- names, blocks and sizes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("lenet", "lenet5"),
        ("vgg11", "vgg_a"),
        ("vgg11_lrn", "vgg_a_lrn"),
        ("vgg13", "vgg_b"),
        ("inception_v1", "googlenet"),
    ],
)
def test_aliases(alias: str, name: str) -> None:
    assert get_spec(alias).name == name


@pytest.mark.parametrize("name", SCRATCH)
def test_spec(name: str) -> None:
    spec = get_spec(name)
    assert spec.preprocessing == "tf"
    assert not spec.rgb_only
    assert spec.channels == (1 if name == "lenet5" else 3)
    assert spec.paper and spec.description and "\n" not in spec.description


@pytest.mark.parametrize("name", SCRATCH)
def test_small_input_forward_pass(name: str) -> None:
    channels = get_spec(name).channels
    model = build_model(name, classes=7, input_shape=(SMALL, SMALL, channels))
    images = np.random.default_rng(0).uniform(0, 255, (2, SMALL, SMALL, channels))
    probabilities = keras.ops.convert_to_numpy(model(images.astype("float32")))
    assert probabilities.shape == (2, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", SCRATCH)
def test_feature_extractor_and_blocks(name: str) -> None:
    spec = get_spec(name)
    model = build_model(name, include_top=False, pooling="avg", input_shape=(SMALL, SMALL, 5))
    body_end = model.layers[-2]
    assert body_end.name == spec.body_end
    assert model.output.shape == (None, body_end.output.shape[-1])
    block_ends = [layer.name for layer in model.layers if re.search(spec.block_pattern, layer.name)]
    assert len(block_ends) >= 3
    assert block_ends[-1] == spec.body_end


def _smallest_side(model: keras.Model) -> int:
    maps = [layer.output.shape for layer in model.layers]
    return min(min(shape[1:3]) for shape in maps if len(shape) == 4)


def _fits(name: str, side: int) -> bool:
    """Whether the raw builder (no size checks) builds with every spatial side >= 1."""
    spec = get_spec(name)
    inputs = keras.Input((side, side, spec.channels))
    try:
        outputs = classifier_top(spec.builder(inputs), spec.head, 7, "softmax")
    except ValueError:
        return False
    return _smallest_side(keras.Model(inputs, outputs)) >= 1


@pytest.mark.parametrize(
    ("name", "min_size"),
    [
        ("lenet5", 32),
        ("alexnet", 67),
        ("zfnet", 53),
        ("vgg_a", 32),
        ("vgg_a_lrn", 32),
        ("vgg_b", 32),
        ("vgg_c", 32),
        ("googlenet", 1),  # 'same' padding throughout and a global average pool
        ("resnet18", 1),
        ("resnet34", 1),
    ],
)
def test_min_size(name: str, min_size: int) -> None:
    spec = get_spec(name)
    assert spec.min_size == min_size
    model = build_model(name, classes=7, input_shape=(min_size, min_size, spec.channels))
    assert model.output.shape == (None, 7)
    assert _smallest_side(model) >= 1
    if min_size > 1:
        assert not _fits(name, min_size - 1)
    with pytest.raises(UsageError, match="Received: input_shape="):
        build_model(name, classes=7, input_shape=(min_size - 1, min_size - 1, spec.channels))
