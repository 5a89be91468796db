"""keras.applications bases behind the zoo's signature, with ImageNet weights.

Each base is built on the zoo's input tensor (`input_tensor=`), so the model is
flat: the preprocessing layer, then the Keras body, then the top. ImageNet
weights are resolved by `zoo.weights` (Keras' cache, hash-checked) and handed
to Keras as a file; where Keras builds differently for its own ImageNet weights
(EfficientNet B0-B7's stem), the difference is made up here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from zoo.alexnet import check_dropout
from zoo.errors import UsageError
from zoo.registry import ArchSpec, register

_apps = keras.applications


def _register_application(
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

    def build(
        x: keras.KerasTensor,
        *,
        classes: int,
        include_top: bool,
        pooling: str | None,
        classifier_activation: str | None,
        weights: str | None = None,
        include_preprocessing: bool = True,
    ) -> keras.KerasTensor:
        model = _construct(
            constructor,
            spec,
            x,
            classes=classes,
            include_top=include_top,
            pooling=pooling,
            classifier_activation=classifier_activation,
            weights=weights,
            include_preprocessing=include_preprocessing,
            builtin_preprocessing=builtin_preprocessing,
            imagenet_fix=imagenet_fix,
            **fixed,
        )
        return model.output

    register(spec)(build)


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


def _register_vgg(constructor: Callable[..., keras.Model], spec: ArchSpec) -> None:
    """Registers VGG16 or VGG19 with the paper's dropout in the top.

    Keras' VGG top has no dropout; the paper (Sec. 3.1) puts dropout 0.5 after
    fc1 and fc2, as the zoo's configurations A-C do. The top is rewired through
    Keras' own `fc1`, `fc2` and `predictions` layers, so ImageNet weights load
    as they are; `dropout=0` gives Keras' model.
    """

    def build(
        x: keras.KerasTensor,
        *,
        classes: int,
        include_top: bool,
        pooling: str | None,
        classifier_activation: str | None,
        weights: str | None = None,
        include_preprocessing: bool = True,
        dropout: float = 0.5,
    ) -> keras.KerasTensor:
        dropout = check_dropout(dropout)
        model = _construct(
            constructor,
            spec,
            x,
            classes=classes,
            include_top=include_top,
            pooling=pooling,
            classifier_activation=classifier_activation,
            weights=weights,
            include_preprocessing=include_preprocessing,
            builtin_preprocessing=False,
            imagenet_fix=None,
        )
        if not include_top or not dropout:
            return model.output
        x = model.get_layer("flatten").output
        for name in ("fc1", "fc2"):
            x = model.get_layer(name)(x)
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
        return model.get_layer("predictions")(x)

    register(spec)(build)


def _efficientnet_imagenet_stem(model: keras.Model) -> None:
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


def _spec(name: str, family: str, params: int, size: int, paper: str, **kw: Any) -> ArchSpec:
    kw.setdefault("min_size", 32)
    return ArchSpec(
        name=name,
        family=family,
        params=params,
        default_size=size,
        paper=paper,
        rgb_only=True,
        weights=("imagenet",),
        **kw,
    )


_INCEPTION_V3 = (
    "Szegedy et al., Rethinking the Inception Architecture for Computer Vision, CVPR 2016"
)
_RESNET = "He et al., Deep Residual Learning for Image Recognition, CVPR 2016"
_RESNET_V2 = "He et al., Identity Mappings in Deep Residual Networks, ECCV 2016"
_VGG = (
    "Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image Recognition, "
    "ICLR 2015"
)
_NASNET = (
    "Zoph et al., Learning Transferable Architectures for Scalable Image Recognition, CVPR 2018"
)
_MOBILENET = "Howard et al., MobileNets: Efficient CNNs for Mobile Vision Applications, 2017"
_MOBILENET_V2 = "Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018"
_MOBILENET_V3 = "Howard et al., Searching for MobileNetV3, ICCV 2019"
_EFFICIENTNET = "Tan & Le, EfficientNet: Rethinking Model Scaling for CNNs, ICML 2019"
_EFFICIENTNET_V2 = "Tan & Le, EfficientNetV2: Smaller Models and Faster Training, ICML 2021"
_DENSENET = "Huang et al., Densely Connected Convolutional Networks, CVPR 2017"
_XCEPTION = "Chollet, Xception: Deep Learning with Depthwise Separable Convolutions, CVPR 2017"
_INCEPTION_RESNET = (
    "Szegedy et al., Inception-v4, Inception-ResNet and the Impact of Residual Connections, "
    "AAAI 2017"
)
_CONVNEXT = "Liu et al., A ConvNet for the 2020s, CVPR 2022"

_RESNET_BLOCKS = r"^conv\d_block\d+_out$"
_EFFICIENTNET_BLOCKS = r"^block\d+[a-z]_project_bn$"

_register_application(
    _apps.InceptionV3,
    _spec(
        "inception_v3",
        "inception",
        23_851_784,
        299,
        _INCEPTION_V3,
        min_size=75,
        preprocessing="tf",
        body_end="mixed10",
        block_pattern=r"^mixed\d+$",
        aliases=("inception", "inceptionv3"),
    ),
)
for _name, _ctor, _params in (
    ("resnet50", _apps.ResNet50, 25_636_712),
    ("resnet101", _apps.ResNet101, 44_707_176),
    ("resnet152", _apps.ResNet152, 60_419_944),
):
    _register_application(
        _ctor,
        _spec(
            _name,
            "resnet",
            _params,
            224,
            _RESNET,
            preprocessing="caffe",
            body_end="conv5_block3_out",
            block_pattern=_RESNET_BLOCKS,
        ),
    )
for _name, _ctor, _params in (
    ("resnet50_v2", _apps.ResNet50V2, 25_613_800),
    ("resnet101_v2", _apps.ResNet101V2, 44_675_560),
    ("resnet152_v2", _apps.ResNet152V2, 60_380_648),
):
    _register_application(
        _ctor,
        _spec(
            _name,
            "resnet_v2",
            _params,
            224,
            _RESNET_V2,
            preprocessing="tf",
            body_end="post_relu",
            block_pattern=_RESNET_BLOCKS,
            aliases=(_name.replace("_v2", "v2"),),
        ),
    )
for _name, _ctor, _params, _alias, _config in (
    ("vgg16", _apps.VGG16, 138_357_544, "vgg_d", "D"),
    ("vgg19", _apps.VGG19, 143_667_240, "vgg_e", "E"),
):
    _register_vgg(
        _ctor,
        _spec(
            _name,
            "vgg",
            _params,
            224,
            _VGG,
            preprocessing="caffe",
            body_end="block5_pool",
            block_pattern=r"^block\d_pool$",
            aliases=(_alias,),
            description=f"VGG configuration {_config}",
        ),
    )
_register_application(
    _apps.NASNetMobile,
    _spec(
        "nasnet_mobile",
        "nasnet",
        5_326_716,
        224,
        _NASNET,
        preprocessing="tf",
        block_pattern=r"^(normal|reduction)_concat",
        aliases=("nasnetmobile",),
    ),
)
_register_application(
    _apps.NASNetLarge,
    _spec(
        "nasnet_large",
        "nasnet",
        88_949_818,
        331,
        _NASNET,
        preprocessing="tf",
        block_pattern=r"^(normal|reduction)_concat",
        aliases=("nasnetlarge",),
    ),
)
_register_application(
    _apps.MobileNet,
    _spec(
        "mobilenet",
        "mobilenet",
        4_253_864,
        224,
        _MOBILENET,
        preprocessing="tf",
        body_end="conv_pw_13_relu",
        block_pattern=r"^conv_pw_\d+_bn$",
        aliases=("mobilenet_v1",),
    ),
)
_register_application(
    _apps.MobileNetV2,
    _spec(
        "mobilenet_v2",
        "mobilenet",
        3_538_984,
        224,
        _MOBILENET_V2,
        preprocessing="tf",
        body_end="out_relu",
        block_pattern=r"^(block_\d+|expanded_conv)_project_BN$",
        aliases=("mobilenetv2",),
    ),
)
for _name, _ctor, _params in (
    ("mobilenet_v3_small", _apps.MobileNetV3Small, 2_554_968),
    ("mobilenet_v3_large", _apps.MobileNetV3Large, 5_507_432),
):
    _register_application(
        _ctor,
        _spec(
            _name,
            "mobilenet",
            _params,
            224,
            _MOBILENET_V3,
            preprocessing="builtin",
            block_pattern=r"^expanded_conv(_\d+)?_project_bn$",
        ),
        builtin_preprocessing=True,
    )
for _variant, _ctor, _params, _size in (
    ("b0", _apps.EfficientNetB0, 5_330_571, 224),
    ("b1", _apps.EfficientNetB1, 7_856_239, 240),
    ("b2", _apps.EfficientNetB2, 9_177_569, 260),
    ("b3", _apps.EfficientNetB3, 12_320_535, 300),
    ("b4", _apps.EfficientNetB4, 19_466_823, 380),
    ("b5", _apps.EfficientNetB5, 30_562_527, 456),
    ("b6", _apps.EfficientNetB6, 43_265_143, 528),
    ("b7", _apps.EfficientNetB7, 66_658_687, 600),
):
    _register_application(
        _ctor,
        _spec(
            f"efficientnet_{_variant}",
            "efficientnet",
            _params,
            _size,
            _EFFICIENTNET,
            preprocessing="builtin",
            body_end="top_activation",
            block_pattern=_EFFICIENTNET_BLOCKS,
            aliases=(f"efficientnet{_variant}",),
        ),
        imagenet_fix=_efficientnet_imagenet_stem,
    )
for _variant, _ctor, _params, _size in (
    ("b0", _apps.EfficientNetV2B0, 7_200_312, 224),
    ("b1", _apps.EfficientNetV2B1, 8_212_124, 240),
    ("b2", _apps.EfficientNetV2B2, 10_178_374, 260),
    ("b3", _apps.EfficientNetV2B3, 14_467_622, 300),
    ("s", _apps.EfficientNetV2S, 21_612_360, 384),
    ("m", _apps.EfficientNetV2M, 54_431_388, 480),
    ("l", _apps.EfficientNetV2L, 119_027_848, 480),
):
    _register_application(
        _ctor,
        _spec(
            f"efficientnet_v2_{_variant}",
            "efficientnet_v2",
            _params,
            _size,
            _EFFICIENTNET_V2,
            preprocessing="builtin",
            body_end="top_activation",
            block_pattern=_EFFICIENTNET_BLOCKS,
            aliases=(f"efficientnetv2{_variant}",),
        ),
        builtin_preprocessing=True,
    )
for _name, _ctor, _params in (
    ("densenet121", _apps.DenseNet121, 8_062_504),
    ("densenet169", _apps.DenseNet169, 14_307_880),
    ("densenet201", _apps.DenseNet201, 20_242_984),
):
    _register_application(
        _ctor,
        _spec(
            _name,
            "densenet",
            _params,
            224,
            _DENSENET,
            preprocessing="torch",
            body_end="relu",
            block_pattern=r"^conv\d_block\d+_concat$",
        ),
    )
_register_application(
    _apps.Xception,
    _spec(
        "xception",
        "xception",
        22_910_480,
        299,
        _XCEPTION,
        min_size=71,
        preprocessing="tf",
        body_end="block14_sepconv2_act",
        block_pattern=r"^block\d+_(pool|sepconv3_bn)$",
    ),
)
_register_application(
    _apps.InceptionResNetV2,
    _spec(
        "inception_resnet_v2",
        "inception",
        55_873_736,
        299,
        _INCEPTION_RESNET,
        min_size=75,
        preprocessing="tf",
        body_end="conv_7b_ac",
        block_pattern=r"^(mixed_\d[ab]|block\d+_\d+_conv)$",
        aliases=("inceptionresnetv2",),
    ),
)
for _variant, _ctor, _params in (
    ("tiny", _apps.ConvNeXtTiny, 28_589_128),
    ("small", _apps.ConvNeXtSmall, 50_223_688),
    ("base", _apps.ConvNeXtBase, 88_591_464),
    ("large", _apps.ConvNeXtLarge, 197_767_336),
    ("xlarge", _apps.ConvNeXtXLarge, 350_196_968),
):
    _register_application(
        _ctor,
        _spec(
            f"convnext_{_variant}",
            "convnext",
            _params,
            224,
            _CONVNEXT,
            preprocessing="builtin",
            block_pattern=r"_stage_\d+_block_\d+_identity$",
            aliases=(f"convnext{_variant}",),
        ),
        builtin_preprocessing=True,
    )
