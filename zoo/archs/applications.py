"""keras.applications bases behind the zoo's signature, with ImageNet weights.

Each base is built on the zoo's input tensor (`input_tensor=`), so the model is
flat: the preprocessing layer, then the Keras body, then Keras' top. Each spec
names the exact ImageNet files Keras itself downloads (file name, URL and hash,
with and without the top, from `keras/src/applications/*.py`: WEIGHTS_HASHES,
the BASE_WEIGHTS_PATH constants and the `get_file(...)` calls), so the zoo and
keras.applications share one cache. Keras publishes no hash for MobileNet v1/v2,
whose files depend on alpha and input size: the entries are those of the zoo's
variants, alpha 1.0 at 224 pixels. How a constructor is wrapped:
`zoo.archs.keras_base`.
"""

from __future__ import annotations

import keras

from zoo.archs.keras_base import (
    KERAS_APPLICATIONS_URL,
    KERAS_EFFICIENTNET_URL,
    application_spec,
    efficientnet_imagenet_stem,
    imagenet_files,
    register_application,
    register_vgg,
    suffixed_files,
    tf_kernels_files,
)

_apps = keras.applications
_KA = KERAS_APPLICATIONS_URL

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

register_application(
    _apps.InceptionV3,
    application_spec(
        "inception_v3",
        "inception",
        23_851_784,
        299,
        _INCEPTION_V3,
        tf_kernels_files(
            "inception_v3",
            "inception_v3",
            "9a0d58056eeedaa3f26cb7ebd46da564",
            "bcbd6486424b2319ff4ef7d526e38f63",
        ),
        min_size=75,
        preprocessing="tf",
        body_end="mixed10",
        block_pattern=r"^mixed\d+$",
        aliases=("inception", "inceptionv3"),
    ),
)
for _name, _ctor, _params, _stem, _hashes in (
    ("resnet50", _apps.ResNet50, 25_636_712, "resnet50",
     ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626")),
    ("resnet101", _apps.ResNet101, 44_707_176, "resnet101",
     ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21")),
    ("resnet152", _apps.ResNet152, 60_419_944, "resnet152",
     ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c")),
    ("resnet50_v2", _apps.ResNet50V2, 25_613_800, "resnet50v2",
     ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917")),
    ("resnet101_v2", _apps.ResNet101V2, 44_675_560, "resnet101v2",
     ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5")),
    ("resnet152_v2", _apps.ResNet152V2, 60_380_648, "resnet152v2",
     ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33")),
):  # fmt: skip
    _v2 = _name.endswith("_v2")
    register_application(
        _ctor,
        application_spec(
            _name,
            "resnet_v2" if _v2 else "resnet",
            _params,
            224,
            _RESNET_V2 if _v2 else _RESNET,
            tf_kernels_files("resnet", _stem, *_hashes),
            preprocessing="tf" if _v2 else "caffe",
            body_end="post_relu" if _v2 else "conv5_block3_out",
            block_pattern=_RESNET_BLOCKS,
            aliases=(_stem,) if _v2 else (),
        ),
    )
for _name, _ctor, _params, _alias, _config, _hashes in (
    ("vgg16", _apps.VGG16, 138_357_544, "vgg_d", "D",
     ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc")),
    ("vgg19", _apps.VGG19, 143_667_240, "vgg_e", "E",
     ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")),
):  # fmt: skip
    register_vgg(
        _ctor,
        application_spec(
            _name,
            "vgg",
            _params,
            224,
            _VGG,
            tf_kernels_files(_name, _name, *_hashes),
            preprocessing="caffe",
            body_end="block5_pool",
            block_pattern=r"^block\d_pool$",
            aliases=(_alias,),
            description=f"VGG configuration {_config}",
        ),
    )
for _name, _ctor, _params, _size, _url, _hashes in (
    ("nasnet_mobile", _apps.NASNetMobile, 5_326_716, 224, "NASNet-mobile",
     ("020fb642bf7360b370c678b08e0adf61", "1ed92395b5b598bdda52abe5c0dbfd63")),
    ("nasnet_large", _apps.NASNetLarge, 88_949_818, 331, "NASNet-large",
     ("11577c9a518f0070763c2b964a382f17", "d81d89dc07e6e56530c4e77faddd61b5")),
):  # fmt: skip
    register_application(
        _ctor,
        application_spec(
            _name,
            "nasnet",
            _params,
            _size,
            _NASNET,
            imagenet_files(
                f"{KERAS_APPLICATIONS_URL}nasnet/{_url}.h5",
                f"{KERAS_APPLICATIONS_URL}nasnet/{_url}-no-top.h5",
                *_hashes,
                top_file=f"{_name}.h5",
                notop_file=f"{_name}_no_top.h5",
            ),
            preprocessing="tf",
            block_pattern=r"^(normal|reduction)_concat",
            aliases=(_name.replace("_", ""),),
        ),
    )
register_application(
    _apps.MobileNet,
    application_spec(
        "mobilenet",
        "mobilenet",
        4_253_864,
        224,
        _MOBILENET,
        suffixed_files(
            f"{KERAS_APPLICATIONS_URL}mobilenet/mobilenet_1_0_224_tf", "_no_top", None, None
        ),
        preprocessing="tf",
        body_end="conv_pw_13_relu",
        block_pattern=r"^conv_pw_\d+_bn$",
        aliases=("mobilenet_v1",),
    ),
)
register_application(
    _apps.MobileNetV2,
    application_spec(
        "mobilenet_v2",
        "mobilenet",
        3_538_984,
        224,
        _MOBILENET_V2,
        suffixed_files(
            f"{KERAS_APPLICATIONS_URL}mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224",
            "_no_top",
            None,
            None,
        ),
        preprocessing="tf",
        body_end="out_relu",
        block_pattern=r"^(block_\d+|expanded_conv)_project_BN$",
        aliases=("mobilenetv2",),
    ),
)
for _variant, _ctor, _params, _hashes in (
    ("small", _apps.MobileNetV3Small, 2_554_968,
     ("8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836")),
    ("large", _apps.MobileNetV3Large, 5_507_432,
     ("59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389")),
):  # fmt: skip
    register_application(
        _ctor,
        application_spec(
            f"mobilenet_v3_{_variant}",
            "mobilenet",
            _params,
            224,
            _MOBILENET_V3,
            suffixed_files(
                f"{KERAS_APPLICATIONS_URL}mobilenet_v3/weights_mobilenet_v3_{_variant}_224_1.0_float",
                "_no_top_v2",
                *_hashes,
            ),
            preprocessing="builtin",
            block_pattern=r"^expanded_conv(_\d+)?_project_bn$",
        ),
        builtin_preprocessing=True,
    )
for _variant, _ctor, _params, _size, _hashes in (
    ("b0", _apps.EfficientNetB0, 5_330_571, 224,
     ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d")),
    ("b1", _apps.EfficientNetB1, 7_856_239, 240,
     ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432")),
    ("b2", _apps.EfficientNetB2, 9_177_569, 260,
     ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39")),
    ("b3", _apps.EfficientNetB3, 12_320_535, 300,
     ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226")),
    ("b4", _apps.EfficientNetB4, 19_466_823, 380,
     ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba")),
    ("b5", _apps.EfficientNetB5, 30_562_527, 456,
     ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f")),
    ("b6", _apps.EfficientNetB6, 43_265_143, 528,
     ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743")),
    ("b7", _apps.EfficientNetB7, 66_658_687, 600,
     ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a")),
):  # fmt: skip
    register_application(
        _ctor,
        application_spec(
            f"efficientnet_{_variant}",
            "efficientnet",
            _params,
            _size,
            _EFFICIENTNET,
            suffixed_files(f"{KERAS_EFFICIENTNET_URL}efficientnet{_variant}", "_notop", *_hashes),
            preprocessing="builtin",
            body_end="top_activation",
            block_pattern=_EFFICIENTNET_BLOCKS,
            aliases=(f"efficientnet{_variant}",),
        ),
        imagenet_fix=efficientnet_imagenet_stem,
    )
for _variant, _ctor, _params, _size, _hashes in (
    ("b0", _apps.EfficientNetV2B0, 7_200_312, 224,
     ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff")),
    ("b1", _apps.EfficientNetV2B1, 8_212_124, 240,
     ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37")),
    ("b2", _apps.EfficientNetV2B2, 10_178_374, 260,
     ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb")),
    ("b3", _apps.EfficientNetV2B3, 14_467_622, 300,
     ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856")),
    ("s", _apps.EfficientNetV2S, 21_612_360, 384,
     ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070")),
    ("m", _apps.EfficientNetV2M, 54_431_388, 480,
     ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342")),
    ("l", _apps.EfficientNetV2L, 119_027_848, 480,
     ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615")),
):  # fmt: skip
    register_application(
        _ctor,
        application_spec(
            f"efficientnet_v2_{_variant}",
            "efficientnet_v2",
            _params,
            _size,
            _EFFICIENTNET_V2,
            suffixed_files(
                f"{KERAS_APPLICATIONS_URL}efficientnet_v2/efficientnetv2-{_variant}",
                "_notop",
                *_hashes,
            ),
            preprocessing="builtin",
            body_end="top_activation",
            block_pattern=_EFFICIENTNET_BLOCKS,
            aliases=(f"efficientnetv2{_variant}",),
        ),
        builtin_preprocessing=True,
    )
for _name, _ctor, _params, _hashes in (
    ("densenet121", _apps.DenseNet121, 8_062_504,
     ("9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738")),
    ("densenet169", _apps.DenseNet169, 14_307_880,
     ("d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b")),
    ("densenet201", _apps.DenseNet201, 20_242_984,
     ("1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1")),
):  # fmt: skip
    register_application(
        _ctor,
        application_spec(
            _name,
            "densenet",
            _params,
            224,
            _DENSENET,
            tf_kernels_files("densenet", _name, *_hashes),
            preprocessing="torch",
            body_end="relu",
            block_pattern=r"^conv\d_block\d+_concat$",
        ),
    )
register_application(
    _apps.Xception,
    application_spec(
        "xception",
        "xception",
        22_910_480,
        299,
        _XCEPTION,
        tf_kernels_files(
            "xception",
            "xception",
            "0a58e3b7378bc2990ea3b43d5981f1f6",
            "b0042744bf5b25fce3cb969f33bebb97",
        ),
        min_size=71,
        preprocessing="tf",
        body_end="block14_sepconv2_act",
        block_pattern=r"^block\d+_(pool|sepconv3_bn)$",
    ),
)
register_application(
    _apps.InceptionResNetV2,
    application_spec(
        "inception_resnet_v2",
        "inception",
        55_873_736,
        299,
        _INCEPTION_RESNET,
        tf_kernels_files(
            "inception_resnet_v2",
            "inception_resnet_v2",
            "e693bd0210a403b3192acc6073ad2e96",
            "d19885ff4a710c122648d3b5c3b684e4",
        ),
        min_size=75,
        preprocessing="tf",
        body_end="conv_7b_ac",
        block_pattern=r"^(mixed_\d[ab]|block\d+_\d+_conv)$",
        aliases=("inceptionresnetv2",),
    ),
)
for _variant, _ctor, _params, _hashes in (
    ("tiny", _apps.ConvNeXtTiny, 28_589_128,
     ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1")),
    ("small", _apps.ConvNeXtSmall, 50_223_688,
     ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
      "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab")),
    ("base", _apps.ConvNeXtBase, 88_591_464,
     ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45")),
    ("large", _apps.ConvNeXtLarge, 197_767_336,
     ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
      "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd")),
    ("xlarge", _apps.ConvNeXtXLarge, 350_196_968,
     ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
      "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05")),
):  # fmt: skip
    register_application(
        _ctor,
        application_spec(
            f"convnext_{_variant}",
            "convnext",
            _params,
            224,
            _CONVNEXT,
            suffixed_files(
                f"{KERAS_APPLICATIONS_URL}convnext/convnext_{_variant}", "_notop", *_hashes
            ),
            preprocessing="builtin",
            block_pattern=r"_stage_\d+_block_\d+_identity$",
            aliases=(f"convnext{_variant}",),
        ),
        builtin_preprocessing=True,
    )
