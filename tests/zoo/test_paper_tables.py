"""The classic builders against their papers' tables: feature-map sizes and multiply-adds.

Each network is built at its paper's input size and compared with what the
paper prints. Where the paper publishes a multiply-add figure, `count_macs`
must be within 2% of it; where it does not, the test counts the multiply-adds by
hand from the paper's layer table and the two must agree exactly. Parameter
counts are checked in `test_scratch.py` and `test_all_models.py`; they could
not see a doubled padding (it changes the maps, not the weights), these can.
"""

from __future__ import annotations

import keras
import pytest

from zoo.builder import build_model
from zoo.complexity import count_macs, macs_by_layer

M = 1_000_000
TOLERANCE = 0.02


def _conv(side: int, kernel: int, inputs: int, outputs: int) -> int:
    """Multiply-adds of a convolution with a square kernel giving a `side` x `side` map."""
    return side * side * kernel * kernel * inputs * outputs


def _assert_maps(model: keras.Model, expected: dict[str, tuple[int, int]]) -> None:
    """Each layer's output is `side` x `side` x `maps`."""
    found = {}
    for name in expected:
        _, height, width, maps = model.get_layer(name).output.shape
        assert height == width, name
        found[name] = (height, maps)
    assert found == expected


def _assert_near(macs: int, paper: float) -> None:
    assert abs(macs / paper - 1) <= TOLERANCE, f"{macs:,} against the paper's {paper:,.0f}"


# --- LeNet-5 ----------------------------------------------------------------------------

# LeCun et al. 1998, Sec. II-B: the connections of each layer, and the units they feed.
LENET_CONNECTIONS = {
    "c1": (122_304, 28 * 28 * 6),
    "s2": (5_880, 14 * 14 * 6),
    "c3": (151_600, 10 * 10 * 16),
    "s4": (2_000, 5 * 5 * 16),
    "c5": (48_120, 120),
    "f6": (10_164, 84),
}


def test_lenet5() -> None:
    model = build_model("lenet5")  # 32x32x1, the paper's input
    _assert_maps(model, {"c1": (28, 6), "s2": (14, 6), "c3": (10, 16), "s4": (5, 16)})
    _assert_maps(model, {"c5": (1, 120)})
    assert model.get_layer("f6").output.shape[-1] == 84
    macs = macs_by_layer(model)
    for layer, (connections, units) in LENET_CONNECTIONS.items():
        if layer.startswith("s"):
            # Each unit: 4 inputs summed (pooling, no multiply-add), times a
            # coefficient (1 multiply-add), plus a bias: 5 connections.
            assert connections == 5 * units
            expected = units
        else:  # one of each unit's connections is its bias, not a multiply-add
            expected = connections - units
        assert macs[layer] == expected, layer
    assert macs["predictions"] == 84 * 10  # the paper's 10 RBF units read the 84 of F6


# --- AlexNet and ZFNet ------------------------------------------------------------------


def _fc67(side: int) -> int:
    """fc6 and fc7 (4096 units each) and the 1000-way classifier on `side` x `side` x 256."""
    return side * side * 256 * 4096 + 4096 * 4096 + 4096 * 1000


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "conv1", "pool1", "conv2", "kernel1"),
    [
        # Krizhevsky et al. 2012, Sec. 3.5 and Fig. 2 (at 227x227, the side that gives
        # its 55x55), as a single tower: conv2, conv4 and conv5 see all the maps below
        # them (5x5x96, 3x3x384, 3x3x384 kernels; the two-GPU network's are half as deep).
        ("alexnet", 55, 27, 27, 11),
        # Zeiler & Fergus 2014, Fig. 3: a 7x7 stride-2 conv1 and a stride-2 conv2.
        ("zfnet", 110, 55, 26, 7),
    ],
)
def test_alexnet_and_zfnet(name: str, conv1: int, pool1: int, conv2: int, kernel1: int) -> None:
    # Neither paper gives a multiply-add figure: by hand from the figures' layers.
    model = build_model(name)
    upper = {"pool2": 13, "conv3": 13, "conv4": 13, "conv5": 13, "pool5": 6}
    sides = {"conv1": conv1, "pool1": pool1, "conv2": conv2, **upper}
    maps = dict.fromkeys(sides, 256) | {"conv1": 96, "pool1": 96, "conv3": 384, "conv4": 384}
    _assert_maps(model, {layer: (side, maps[layer]) for layer, side in sides.items()})
    by_hand = (
        _conv(conv1, kernel1, 3, 96)
        + _conv(conv2, 5, 96, 256)
        + _conv(13, 3, 256, 384)
        + _conv(13, 3, 384, 384)
        + _conv(13, 3, 384, 256)
        + _fc67(6)
    )
    assert count_macs(model) == by_hand


# --- VGG --------------------------------------------------------------------------------

# Simonyan & Zisserman 2015, Table 1: the columns as printed ("conv3-64" is a 3x3
# convolution with 64 maps, "M" a 2x2 max pool; LRN costs no multiply-adds).
VGG_TABLE_1 = {
    "A": "conv3-64 M conv3-128 M conv3-256 conv3-256 M conv3-512 conv3-512 M conv3-512 conv3-512 M",
    "B": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 M "
    "conv3-512 conv3-512 M conv3-512 conv3-512 M",
    "C": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 conv1-256 M "
    "conv3-512 conv3-512 conv1-512 M conv3-512 conv3-512 conv1-512 M",
    "D": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 conv3-256 M "
    "conv3-512 conv3-512 conv3-512 M conv3-512 conv3-512 conv3-512 M",
    "E": "conv3-64 conv3-64 M conv3-128 conv3-128 M conv3-256 conv3-256 conv3-256 conv3-256 M "
    "conv3-512 conv3-512 conv3-512 conv3-512 M conv3-512 conv3-512 conv3-512 conv3-512 M",
}


def _vgg_by_hand(column: str, side: int = 224) -> int:
    """Multiply-adds of a Table 1 column at 224x224, FC-4096, FC-4096 and FC-1000 included."""
    macs, maps = 0, 3
    for entry in VGG_TABLE_1[column].split():
        if entry == "M":
            side //= 2
            continue
        kernel, width = entry.removeprefix("conv").split("-")
        macs += _conv(side, int(kernel), maps, int(width))
        maps = int(width)
    return macs + side * side * maps * 4096 + 4096 * 4096 + 4096 * 1000


def _vgg_maps(column: str) -> dict[str, tuple[int, int]]:
    """Every convolution at its block's side, and every pool halving it."""
    maps, block, conv, side = {}, 1, 0, 224
    for entry in VGG_TABLE_1[column].split():
        conv += 1
        if entry == "M":
            side //= 2
            maps[f"block{block}_pool"] = (side, maps[f"block{block}_conv{conv - 1}"][1])
            block, conv = block + 1, 0
        else:
            maps[f"block{block}_conv{conv}"] = (side, int(entry.split("-")[1]))
    return maps


# He et al. 2016, Sec. 4.1: "VGG-16/19 nets (15.3/19.6 billion FLOPs)", FLOPs being
# multiply-adds (Sec. 3.3). The VGG paper itself prints none.
VGG_PAPER_MACS = {"vgg16": 15.3e9, "vgg19": 19.6e9}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("vgg_a", "A"),
        ("vgg_a_lrn", "A"),
        ("vgg_b", "B"),
        ("vgg_c", "C"),
        ("vgg16", "D"),
        ("vgg19", "E"),
    ],
)
def test_vgg(name: str, column: str) -> None:
    model = build_model(name)
    _assert_maps(model, _vgg_maps(column))
    macs = count_macs(model)
    assert macs == _vgg_by_hand(column)
    if name in VGG_PAPER_MACS:
        _assert_near(macs, VGG_PAPER_MACS[name])


# --- GoogLeNet --------------------------------------------------------------------------

# Szegedy et al. 2015, Table 1: the "ops" column (multiply-adds), rounded to millions.
GOOGLENET_OPS = {
    "conv1": 34,
    "conv2": 360,
    **{"3a": 128, "3b": 304, "4a": 73, "4b": 88, "4c": 100, "4d": 119, "4e": 170},
    **{"5a": 54, "5b": 71},
    "linear": 1,
}
# Two rows of the ops column disagree with their own rows' layers: conv1 (7x7/2,
# 64 maps of 112x112 on an RGB image) and inception 5a (4e's module on 7x7x832).
# For those the test counts the row by hand.
GOOGLENET_BY_HAND = {
    "conv1": _conv(112, 7, 3, 64),
    "5a": _conv(7, 1, 832, 256 + 160 + 32 + 128) + _conv(7, 3, 160, 320) + _conv(7, 5, 32, 128),
}


def test_googlenet() -> None:
    model = build_model("googlenet")
    _assert_maps(
        model,
        {
            "conv1": (112, 64),
            "pool1": (56, 64),
            "conv2": (56, 192),
            "pool2": (28, 192),
            "inception_3a_concat": (28, 256),
            "inception_3b_concat": (28, 480),
            "pool3": (14, 480),
            "inception_4a_concat": (14, 512),
            "inception_4d_concat": (14, 528),
            "inception_4e_concat": (14, 832),
            "pool4": (7, 832),
            "inception_5a_concat": (7, 832),
            "inception_5b_concat": (7, 1024),
        },
    )
    macs = macs_by_layer(model)
    rows = {"conv1": ["conv1"], "conv2": ["conv2_reduce", "conv2"], "linear": ["predictions"]}
    for row in GOOGLENET_OPS:
        rows.setdefault(row, [name for name in macs if name.startswith(f"inception_{row}_")])
    for row, paper in GOOGLENET_OPS.items():
        ours = sum(macs[name] for name in rows[row])
        if row in GOOGLENET_BY_HAND:
            assert ours == GOOGLENET_BY_HAND[row], row
        else:  # within 2%, or the table's rounding to whole millions
            assert abs(ours - paper * M) <= max(TOLERANCE * paper * M, M / 2), row
    # The paper's "1.5 billion multiply-adds" (Sec. 1) is Table 1's sum; with the
    # two rows above counted as their layers are, the network costs 1.58 billion.
    table = sum(GOOGLENET_BY_HAND.get(row, paper * M) for row, paper in GOOGLENET_OPS.items())
    _assert_near(sum(macs.values()), table)


# --- ResNets ----------------------------------------------------------------------------


def _resnet_by_hand(
    depths: tuple[int, ...],
    widths: tuple[int, ...],
    sides: tuple[int, ...],
    projection: bool = True,
) -> int:
    """The stages of basic blocks, two 3x3 convolutions each.

    Where a stage halves the map and widens, its first convolution has stride 2
    and its shortcut is a 1x1 projection (option B) or free (option A).
    """
    macs = 0
    for stage, (blocks, width, side) in enumerate(zip(depths, widths, sides, strict=True)):
        inputs = width if stage == 0 else widths[stage - 1]
        macs += _conv(side, 3, inputs, width) + _conv(side, 3, width, width) * (2 * blocks - 1)
        if inputs != width and projection:
            macs += _conv(side, 1, inputs, width)
    return macs


IMAGENET_STAGES = ((64, 128, 256, 512), (56, 28, 14, 7))

# He et al. 2016, Table 1: FLOPs (multiply-adds, Sec. 3.3) of one 224x224 image.
RESNET_TABLE_1 = {"resnet18": 1.8e9, "resnet34": 3.6e9, "resnet50": 3.8e9}


@pytest.mark.parametrize(
    ("name", "depths"), [("resnet18", (2, 2, 2, 2)), ("resnet34", (3, 4, 6, 3))]
)
def test_resnet_18_34(name: str, depths: tuple[int, ...]) -> None:
    model = build_model(name)
    stages = {
        f"conv{stage}_block{blocks}_out": (side, width)
        for stage, blocks, width, side in zip(range(2, 6), depths, *IMAGENET_STAGES, strict=True)
    }
    _assert_maps(model, {"conv1_conv": (112, 64), "pool1_pool": (56, 64), **stages})
    macs = count_macs(model)
    by_hand = _conv(112, 7, 3, 64) + _resnet_by_hand(depths, *IMAGENET_STAGES) + 512 * 1000
    assert macs == by_hand
    _assert_near(macs, RESNET_TABLE_1[name])


def test_resnet50() -> None:
    model = build_model("resnet50")
    _assert_maps(
        model,
        {
            "conv1_conv": (112, 64),
            "pool1_pool": (56, 64),
            "conv2_block3_out": (56, 256),
            "conv3_block4_out": (28, 512),
            "conv4_block6_out": (14, 1024),
            "conv5_block3_out": (7, 2048),
        },
    )
    _assert_near(count_macs(model), RESNET_TABLE_1["resnet50"])


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_cifar_resnets(depth: int) -> None:
    # The paper gives no multiply-add figure for these (Table 6 lists parameters);
    # by hand from Sec. 4.2: a 3x3 convolution of 16 maps, then 2n 3x3 layers on
    # maps of 32, 16 and 8 pixels with 16, 32 and 64 maps, the shortcuts
    # parameter-free (option A), and the 10-way classifier.
    n = (depth - 2) // 6
    model = build_model(f"resnet{depth}")  # 32x32, 10 classes
    _assert_maps(
        model,
        {
            "conv1_conv": (32, 16),
            f"conv2_block{n}_out": (32, 16),
            f"conv3_block{n}_out": (16, 32),
            f"conv4_block{n}_out": (8, 64),
        },
    )
    assert model.output.shape == (None, 10)
    stages = _resnet_by_hand((n, n, n), (16, 32, 64), (32, 16, 8), projection=False)
    assert count_macs(model) == _conv(32, 3, 3, 16) + stages + 64 * 10
