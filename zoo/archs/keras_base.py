"""How one keras.applications constructor becomes a zoo architecture.

The base is built on the zoo's input tensor (`input_tensor=`), so the model is
flat: the zoo's preprocessing, then the Keras body, then Keras' top. ImageNet
weights arrive as a file path from `zoo.weights`; where Keras builds
differently for its own ImageNet weights (EfficientNet B0-B7's stem), the
difference is made up here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import keras

from zoo.builder import check_dropout
from zoo.errors import UsageError
from zoo.registry import ArchSpec, ImagenetWeights, WeightsFile, register

KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
KERAS_EFFICIENTNET_URL = "https://storage.googleapis.com/keras-applications/"  # EfficientNet v1


def imagenet_files(
    top_url: str,
    notop_url: str,
    top_hash: str | None,
    notop_hash: str | None,
    top_file: str | None = None,
    notop_file: str | None = None,
) -> ImagenetWeights:
    """ImageNet files named, by default, as their URLs end."""
    return ImagenetWeights(
        top=WeightsFile(top_file or top_url.rsplit("/", 1)[-1], top_url, top_hash),
        notop=WeightsFile(notop_file or notop_url.rsplit("/", 1)[-1], notop_url, notop_hash),
    )


def suffixed_files(stem_url: str, notop_suffix: str, top_hash: str | None, notop_hash: str | None):
    """Files `STEM.h5` and `STEM{notop_suffix}.h5`."""
    return imagenet_files(f"{stem_url}.h5", f"{stem_url}{notop_suffix}.h5", top_hash, notop_hash)


def tf_kernels_files(folder: str, stem: str, top_hash: str, notop_hash: str) -> ImagenetWeights:
    """Keras' most common naming: `STEM_weights_tf_dim_ordering_tf_kernels[_notop].h5`."""
    return suffixed_files(
        f"{KERAS_APPLICATIONS_URL}{folder}/{stem}_weights_tf_dim_ordering_tf_kernels",
        "_notop",
        top_hash,
        notop_hash,
    )


def register_application(
    constructor: Callable[..., keras.Model],
    spec: ArchSpec,
    *,
    builtin_preprocessing: bool = False,
    imagenet_fix: Callable[[keras.Model], None] | None = None,
    **fixed: Any,
) -> None:
    """Registers one keras.applications constructor under `spec`.

    Args:
        constructor: e.g. `keras.applications.ResNet50`.
        spec: The zoo's description of it.
        builtin_preprocessing: Whether the constructor takes `include_preprocessing`.
        imagenet_fix: Applied to the built model after ImageNet weights are
            loaded from a file, where Keras builds differently for `"imagenet"`.
        **fixed: Constructor arguments that define this variant (e.g. `alpha`).
    """

    def build(x: keras.KerasTensor, **standard: Any) -> keras.KerasTensor:
        model = _construct(
            constructor,
            spec,
            x,
            builtin_preprocessing=builtin_preprocessing,
            imagenet_fix=imagenet_fix,
            **standard,
            **fixed,
        )
        return model.output

    register(dataclasses.replace(spec, application=(constructor, fixed)))(build)


def _construct(
    constructor: Callable[..., keras.Model],
    spec: ArchSpec,
    x: keras.KerasTensor,
    *,
    weights: str | None,
    include_preprocessing: bool,
    builtin_preprocessing: bool,
    imagenet_fix: Callable[[keras.Model], None] | None,
    **kwargs: Any,
) -> keras.Model:
    """Calls a keras.applications constructor on the zoo's input tensor."""
    if builtin_preprocessing:
        kwargs["include_preprocessing"] = include_preprocessing
    elif not include_preprocessing:
        raise UsageError(
            f"{spec.name} always normalises its input inside the network; build it with "
            "include_preprocessing=True and feed raw 0-255 images. "
            "Received: include_preprocessing=False"
        )
    model = constructor(input_tensor=x, input_shape=tuple(x.shape[1:]), weights=weights, **kwargs)
    # `weights` is only ever the path of an ImageNet file: `build_model` loads
    # other weights files itself, after building.
    if weights is not None and imagenet_fix is not None:
        imagenet_fix(model)
    return model


def register_vgg(constructor: Callable[..., keras.Model], spec: ArchSpec) -> None:
    """Registers VGG16 or VGG19 with the paper's dropout in the top.

    Keras' VGG top has no dropout; the paper (Sec. 3.1) puts dropout 0.5 after
    fc1 and fc2, as the zoo's configurations A-C do. The top is rewired through
    Keras' own `fc1`, `fc2` and `predictions` layers, so ImageNet weights load
    as they are; `dropout=0` gives Keras' model.
    """

    def build(x: keras.KerasTensor, *, dropout: float = 0.5, **standard: Any) -> keras.KerasTensor:
        dropout = check_dropout(dropout)
        model = _construct(
            constructor, spec, x, builtin_preprocessing=False, imagenet_fix=None, **standard
        )
        if not standard["include_top"] or not dropout:
            return model.output
        x = model.get_layer("flatten").output
        for name in ("fc1", "fc2"):
            x = model.get_layer(name)(x)
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
        return model.get_layer("predictions")(x)

    register(dataclasses.replace(spec, application=(constructor, {})))(build)


def efficientnet_imagenet_stem(model: keras.Model) -> None:
    """Makes EfficientNet B0-B7's stem compute `(x / 255 - mean) / std` with ImageNet weights.

    Keras' ImageNet files store the standard deviation where the stem's
    `Normalization` layer expects the variance, so that layer divides by
    `sqrt(std)`; `EfficientNetB0(weights="imagenet")` adds a
    `Rescaling(1 / sqrt(std))` after it, which a build from a file path lacks.
    Storing `std ** 2` as the variance gives the same output without the extra layer.
    """
    normalization = next(
        layer for layer in model.layers if isinstance(layer, keras.layers.Normalization)
    )
    normalization.adapt_variance.assign(keras.ops.square(normalization.adapt_variance))
    normalization.finalize_state()


def application_spec(
    name: str,
    family: str,
    params: int,
    size: int,
    paper: str,
    imagenet: ImagenetWeights,
    **kw: Any,
) -> ArchSpec:
    """The spec of a keras.applications base: RGB only, with ImageNet weights.

    Args:
        name: Registry name.
        family: Family for listing.
        params: Parameter count at the default size with the ImageNet top.
        size: Default input side.
        paper: The paper it follows.
        imagenet: Its ImageNet weights files.
        **kw: Other `ArchSpec` fields (`min_size` defaults to 32).

    Returns:
        The spec.
    """
    kw.setdefault("min_size", 32)
    return ArchSpec(
        name=name,
        family=family,
        params=params,
        default_size=size,
        paper=paper,
        rgb_only=True,
        imagenet=imagenet,
        **kw,
    )
