"""GoogLeNet, the Inception-v1 network (Szegedy et al., 2015, Table 1).

All convolutions have biases and ReLUs; there is no batch normalisation. Local
response normalisation follows the first max pool and the 3x3 stem convolution.
The top is the final 7x7 average pool as a global average pool (the same at
224x224, and valid at any input size), dropout 0.4 and the classifier.
6,998,552 parameters with 1000 classes, without the auxiliary classifiers of
Sec. 5 (`aux_logits=True` adds them).
"""

from __future__ import annotations

import math

import keras

from zoo.errors import UsageError
from zoo.layers import LocalResponseNormalization
from zoo.registry import ArchSpec, Head, register

# Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
_INCEPTIONS: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
_POOL_AFTER = ("3b", "4e")  # max pools 3x3/2 between the inception stages
_AUX_AFTER = ("4a", "4d")
_AUX_MIN_SIDE = 5  # the auxiliary heads' 5x5 average pool needs a 5x5 map


def _conv(
    x: keras.KerasTensor, filters: int, size: int, name: str, strides: int = 1
) -> keras.KerasTensor:
    """A 'same' convolution with bias and ReLU."""
    conv = keras.layers.Conv2D(
        filters, size, strides=strides, padding="same", activation="relu", name=name
    )
    return conv(x)


def _inception(x: keras.KerasTensor, name: str) -> keras.KerasTensor:
    """One inception module; its output is the concatenation `inception_{name}_concat`."""
    n1, r3, n3, r5, n5, proj = _INCEPTIONS[name]
    prefix = f"inception_{name}"
    branch3 = _conv(x, r3, 1, f"{prefix}_3x3_reduce")
    branch5 = _conv(x, r5, 1, f"{prefix}_5x5_reduce")
    pool = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{prefix}_pool")(x)
    branches = [
        _conv(x, n1, 1, f"{prefix}_1x1"),
        _conv(branch3, n3, 3, f"{prefix}_3x3"),
        _conv(branch5, n5, 5, f"{prefix}_5x5"),
        _conv(pool, proj, 1, f"{prefix}_pool_proj"),
    ]
    return keras.layers.Concatenate(name=f"{prefix}_concat")(branches)


def _aux_head(
    x: keras.KerasTensor, name: str, classes: int, classifier_activation: str | None
) -> keras.KerasTensor:
    """An auxiliary classifier of Sec. 5, on the output of one inception module."""
    x = keras.layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)
    x = _conv(x, 128, 1, f"{name}_conv")
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = keras.layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return keras.layers.Dense(
        classes, activation=classifier_activation, name=f"{name}_predictions"
    )(x)


def _max_pool(x: keras.KerasTensor, name: str) -> keras.KerasTensor:
    return keras.layers.MaxPooling2D(3, strides=2, padding="same", name=name)(x)


@register(
    ArchSpec(
        name="googlenet",
        family="inception",
        params=6_998_552,
        default_size=224,
        min_size=1,
        paper="Szegedy et al., Going Deeper with Convolutions, CVPR 2015",
        preprocessing="tf",
        head=Head(pool="avg", dropout=0.4),
        body_end="inception_5b_concat",
        block_pattern=r"^inception_\d[a-e]_concat$",
        aliases=("inception_v1",),
        description="GoogLeNet (Inception-v1), optional auxiliary classifiers",
    )
)
def build(
    x: keras.KerasTensor,
    *,
    include_top: bool,
    classes: int,
    classifier_activation: str | None,
    aux_logits: bool = False,
) -> keras.KerasTensor | tuple[keras.KerasTensor, list[keras.KerasTensor]]:
    """Builds GoogLeNet's body, conv1 to inception 5b, on a preprocessed input.

    Args:
        x: The preprocessed input tensor.
        include_top: Whether the model gets its classifier (the auxiliary
            classifiers need it).
        classes: Number of classes of the auxiliary classifiers.
        classifier_activation: Their activation.
        aux_logits: Add the two auxiliary classifiers (after inception 4a and
            4d); the model then has three outputs, `[main, aux1, aux2]`.

    Returns:
        Inception 5b's output, and with `aux_logits` the two auxiliary outputs.

    Raises:
        UsageError: `aux_logits` without the top, or on inputs too small for
            the auxiliary heads.
    """
    if aux_logits:
        _check_aux(x, include_top)
    x = _conv(x, 64, 7, "conv1", strides=2)
    x = _max_pool(x, "pool1")
    x = LocalResponseNormalization(name="norm1")(x)
    x = _conv(x, 64, 1, "conv2_reduce")
    x = _conv(x, 192, 3, "conv2")
    x = LocalResponseNormalization(name="norm2")(x)
    x = _max_pool(x, "pool2")
    aux = []
    for name in _INCEPTIONS:
        x = _inception(x, name)
        if name in _AUX_AFTER and aux_logits:
            aux.append(_aux_head(x, f"aux{len(aux) + 1}", classes, classifier_activation))
        if name in _POOL_AFTER:
            x = _max_pool(x, f"pool{name[0]}")
    return (x, aux) if aux_logits else x


def _check_aux(x: keras.KerasTensor, include_top: bool) -> None:
    if not include_top:
        raise UsageError(
            "aux_logits adds classifiers; pass include_top=True with it, or leave it out. "
            "Received: aux_logits=True, include_top=False"
        )
    # Inception 4a and 4d see the input downsampled 16 times ('same' padding).
    side = min(x.shape[1], x.shape[2])
    if math.ceil(side / 16) < _AUX_MIN_SIDE:
        need = 16 * (_AUX_MIN_SIDE - 1) + 1
        raise UsageError(
            f"googlenet with aux_logits needs inputs of at least {need}x{need} pixels; use a "
            f"larger image size or aux_logits=False. Received: input_shape={tuple(x.shape[1:])}"
        )
