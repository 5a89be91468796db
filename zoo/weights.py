"""ImageNet weights for the keras.applications bases: Keras' cache, hash-checked.

`IMAGENET_WEIGHTS` names, for every registered base with ImageNet weights, the
exact files Keras itself downloads (file name, URL and hash, with and without
the top), so the zoo and `keras.applications` share one cache:
`$KERAS_HOME/models`, or `~/.keras/models`.

The cache is always looked at first, so a machine without network that has the
files never touches it. A file that is missing and cannot be downloaded, or a
cached file whose hash is wrong, is a `WeightsUnavailableError` whose one-line
message says which file to put where; the zoo never falls back to random
weights. `import_weights` copies a file obtained elsewhere into the cache after
checking its hash.

Nothing here imports TensorFlow at module level: listing and importing hashed
files stay cheap, and `zoo.builder` can import this module freely.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import urllib.error
import warnings
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from zoo.errors import UsageError, WeightsUnavailableError

if TYPE_CHECKING:
    import keras

VARIANTS = ("top", "notop")
"""`top`: the file with the 1000-class ImageNet classifier; `notop`: the body only."""


class WeightsFile(NamedTuple):
    """One weights file as Keras publishes it.

    Attributes:
        file: The file's name in Keras' cache (Keras' `fname`; for NASNet it
            differs from the URL's last part).
        url: Where Keras downloads it from.
        hash: Keras' md5 (32 hex digits) or sha256 (64) of the file, or `None`
            where Keras publishes none.
    """

    file: str
    url: str
    hash: str | None


_KA = "https://storage.googleapis.com/tensorflow/keras-applications/"
# EfficientNet (v1) weights live in another bucket.
_KA_EFFICIENTNET = "https://storage.googleapis.com/keras-applications/"

# Taken from keras/src/applications/*.py (Keras 3): WEIGHTS_HASHES, the
# BASE_WEIGHTS_PATH constants and the `get_file(...)` calls. Keras publishes no
# hash for MobileNet v1/v2, whose files depend on alpha and input size: the
# entries are those of the zoo's variants, alpha 1.0 at 224 pixels.
IMAGENET_WEIGHTS: dict[str, dict[str, WeightsFile]] = {
    "inception_v3": {
        "top": WeightsFile(
            file="inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
            hash="9a0d58056eeedaa3f26cb7ebd46da564",
        ),
        "notop": WeightsFile(
            file="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="bcbd6486424b2319ff4ef7d526e38f63",
        ),
    },
    "resnet50": {
        "top": WeightsFile(
            file="resnet50_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
            hash="2cb95161c43110f7111970584f804107",
        ),
        "notop": WeightsFile(
            file="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="4d473c1dd8becc155b73f8504c6f6626",
        ),
    },
    "resnet101": {
        "top": WeightsFile(
            file="resnet101_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "resnet/resnet101_weights_tf_dim_ordering_tf_kernels.h5",
            hash="f1aeb4b969a6efcfb50fad2f0c20cfc5",
        ),
        "notop": WeightsFile(
            file="resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="88cf7a10940856eca736dc7b7e228a21",
        ),
    },
    "resnet152": {
        "top": WeightsFile(
            file="resnet152_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "resnet/resnet152_weights_tf_dim_ordering_tf_kernels.h5",
            hash="100835be76be38e30d865e96f2aaae62",
        ),
        "notop": WeightsFile(
            file="resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "resnet/resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="ee4c566cf9a93f14d82f913c2dc6dd0c",
        ),
    },
    "resnet50_v2": {
        "top": WeightsFile(
            file="resnet50v2_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "resnet/resnet50v2_weights_tf_dim_ordering_tf_kernels.h5",
            hash="3ef43a0b657b3be2300d5770ece849e0",
        ),
        "notop": WeightsFile(
            file="resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "resnet/resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="fac2f116257151a9d068a22e544a4917",
        ),
    },
    "resnet101_v2": {
        "top": WeightsFile(
            file="resnet101v2_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "resnet/resnet101v2_weights_tf_dim_ordering_tf_kernels.h5",
            hash="6343647c601c52e1368623803854d971",
        ),
        "notop": WeightsFile(
            file="resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "resnet/resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="c0ed64b8031c3730f411d2eb4eea35b5",
        ),
    },
    "resnet152_v2": {
        "top": WeightsFile(
            file="resnet152v2_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "resnet/resnet152v2_weights_tf_dim_ordering_tf_kernels.h5",
            hash="a49b44d1979771252814e80f8ec446f9",
        ),
        "notop": WeightsFile(
            file="resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "resnet/resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="ed17cf2e0169df9d443503ef94b23b33",
        ),
    },
    "vgg16": {
        "top": WeightsFile(
            file="vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            hash="64373286793e3c8b2b4e3219cbf3544b",
        ),
        "notop": WeightsFile(
            file="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="6d6bbae143d832006294945121d1f1fc",
        ),
    },
    "vgg19": {
        "top": WeightsFile(
            file="vgg19_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5",
            hash="cbe5617147190e668d6c5d5026f83318",
        ),
        "notop": WeightsFile(
            file="vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="253f8cb515780f3b799900260a226db6",
        ),
    },
    "nasnet_mobile": {
        "top": WeightsFile(
            file="nasnet_mobile.h5",
            url=_KA + "nasnet/NASNet-mobile.h5",
            hash="020fb642bf7360b370c678b08e0adf61",
        ),
        "notop": WeightsFile(
            file="nasnet_mobile_no_top.h5",
            url=_KA + "nasnet/NASNet-mobile-no-top.h5",
            hash="1ed92395b5b598bdda52abe5c0dbfd63",
        ),
    },
    "nasnet_large": {
        "top": WeightsFile(
            file="nasnet_large.h5",
            url=_KA + "nasnet/NASNet-large.h5",
            hash="11577c9a518f0070763c2b964a382f17",
        ),
        "notop": WeightsFile(
            file="nasnet_large_no_top.h5",
            url=_KA + "nasnet/NASNet-large-no-top.h5",
            hash="d81d89dc07e6e56530c4e77faddd61b5",
        ),
    },
    "mobilenet": {
        "top": WeightsFile(
            file="mobilenet_1_0_224_tf.h5",
            url=_KA + "mobilenet/mobilenet_1_0_224_tf.h5",
            hash=None,  # Keras publishes no hash for this file.
        ),
        "notop": WeightsFile(
            file="mobilenet_1_0_224_tf_no_top.h5",
            url=_KA + "mobilenet/mobilenet_1_0_224_tf_no_top.h5",
            hash=None,  # Keras publishes no hash for this file.
        ),
    },
    "mobilenet_v2": {
        "top": WeightsFile(
            file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
            url=_KA + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
            hash=None,  # Keras publishes no hash for this file.
        ),
        "notop": WeightsFile(
            file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
            url=(
                _KA + "mobilenet_v2/"
                "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
            ),
            hash=None,  # Keras publishes no hash for this file.
        ),
    },
    "mobilenet_v3_small": {
        "top": WeightsFile(
            file="weights_mobilenet_v3_small_224_1.0_float.h5",
            url=_KA + "mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float.h5",
            hash="8768d4c2e7dee89b9d02b2d03d65d862",
        ),
        "notop": WeightsFile(
            file="weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
            url=_KA + "mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
            hash="d3e8ec802a04aa4fc771ee12a9a9b836",
        ),
    },
    "mobilenet_v3_large": {
        "top": WeightsFile(
            file="weights_mobilenet_v3_large_224_1.0_float.h5",
            url=_KA + "mobilenet_v3/weights_mobilenet_v3_large_224_1.0_float.h5",
            hash="59e551e166be033d707958cf9e29a6a7",
        ),
        "notop": WeightsFile(
            file="weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
            url=_KA + "mobilenet_v3/weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
            hash="07fb09a5933dd0c8eaafa16978110389",
        ),
    },
    "efficientnet_b0": {
        "top": WeightsFile(
            file="efficientnetb0.h5",
            url=_KA_EFFICIENTNET + "efficientnetb0.h5",
            hash="902e53a9f72be733fc0bcb005b3ebbac",
        ),
        "notop": WeightsFile(
            file="efficientnetb0_notop.h5",
            url=_KA_EFFICIENTNET + "efficientnetb0_notop.h5",
            hash="50bc09e76180e00e4465e1a485ddc09d",
        ),
    },
    "efficientnet_b1": {
        "top": WeightsFile(
            file="efficientnetb1.h5",
            url=_KA_EFFICIENTNET + "efficientnetb1.h5",
            hash="1d254153d4ab51201f1646940f018540",
        ),
        "notop": WeightsFile(
            file="efficientnetb1_notop.h5",
            url=_KA_EFFICIENTNET + "efficientnetb1_notop.h5",
            hash="74c4e6b3e1f6a1eea24c589628592432",
        ),
    },
    "efficientnet_b2": {
        "top": WeightsFile(
            file="efficientnetb2.h5",
            url=_KA_EFFICIENTNET + "efficientnetb2.h5",
            hash="b15cce36ff4dcbd00b6dd88e7857a6ad",
        ),
        "notop": WeightsFile(
            file="efficientnetb2_notop.h5",
            url=_KA_EFFICIENTNET + "efficientnetb2_notop.h5",
            hash="111f8e2ac8aa800a7a99e3239f7bfb39",
        ),
    },
    "efficientnet_b3": {
        "top": WeightsFile(
            file="efficientnetb3.h5",
            url=_KA_EFFICIENTNET + "efficientnetb3.h5",
            hash="ffd1fdc53d0ce67064dc6a9c7960ede0",
        ),
        "notop": WeightsFile(
            file="efficientnetb3_notop.h5",
            url=_KA_EFFICIENTNET + "efficientnetb3_notop.h5",
            hash="af6d107764bb5b1abb91932881670226",
        ),
    },
    "efficientnet_b4": {
        "top": WeightsFile(
            file="efficientnetb4.h5",
            url=_KA_EFFICIENTNET + "efficientnetb4.h5",
            hash="18c95ad55216b8f92d7e70b3a046e2fc",
        ),
        "notop": WeightsFile(
            file="efficientnetb4_notop.h5",
            url=_KA_EFFICIENTNET + "efficientnetb4_notop.h5",
            hash="ebc24e6d6c33eaebbd558eafbeedf1ba",
        ),
    },
    "efficientnet_b5": {
        "top": WeightsFile(
            file="efficientnetb5.h5",
            url=_KA_EFFICIENTNET + "efficientnetb5.h5",
            hash="ace28f2a6363774853a83a0b21b9421a",
        ),
        "notop": WeightsFile(
            file="efficientnetb5_notop.h5",
            url=_KA_EFFICIENTNET + "efficientnetb5_notop.h5",
            hash="38879255a25d3c92d5e44e04ae6cec6f",
        ),
    },
    "efficientnet_b6": {
        "top": WeightsFile(
            file="efficientnetb6.h5",
            url=_KA_EFFICIENTNET + "efficientnetb6.h5",
            hash="165f6e37dce68623721b423839de8be5",
        ),
        "notop": WeightsFile(
            file="efficientnetb6_notop.h5",
            url=_KA_EFFICIENTNET + "efficientnetb6_notop.h5",
            hash="9ecce42647a20130c1f39a5d4cb75743",
        ),
    },
    "efficientnet_b7": {
        "top": WeightsFile(
            file="efficientnetb7.h5",
            url=_KA_EFFICIENTNET + "efficientnetb7.h5",
            hash="8c03f828fec3ef71311cd463b6759d99",
        ),
        "notop": WeightsFile(
            file="efficientnetb7_notop.h5",
            url=_KA_EFFICIENTNET + "efficientnetb7_notop.h5",
            hash="cbcfe4450ddf6f3ad90b1b398090fe4a",
        ),
    },
    "efficientnet_v2_b0": {
        "top": WeightsFile(
            file="efficientnetv2-b0.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-b0.h5",
            hash="21ecbf6da12460d5c40bb2f29ceb2188",
        ),
        "notop": WeightsFile(
            file="efficientnetv2-b0_notop.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-b0_notop.h5",
            hash="893217f2bb855e2983157299931e43ff",
        ),
    },
    "efficientnet_v2_b1": {
        "top": WeightsFile(
            file="efficientnetv2-b1.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-b1.h5",
            hash="069f0534ff22adf035c89e2d9547a9dc",
        ),
        "notop": WeightsFile(
            file="efficientnetv2-b1_notop.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-b1_notop.h5",
            hash="0e80663031ca32d657f9caa404b6ec37",
        ),
    },
    "efficientnet_v2_b2": {
        "top": WeightsFile(
            file="efficientnetv2-b2.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-b2.h5",
            hash="424e49f28180edbde1e94797771950a7",
        ),
        "notop": WeightsFile(
            file="efficientnetv2-b2_notop.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-b2_notop.h5",
            hash="1dfe2e7a5d45b6632553a8961ea609eb",
        ),
    },
    "efficientnet_v2_b3": {
        "top": WeightsFile(
            file="efficientnetv2-b3.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-b3.h5",
            hash="1f1fc43bd98a6e4fd8fdfd551e02c7a0",
        ),
        "notop": WeightsFile(
            file="efficientnetv2-b3_notop.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-b3_notop.h5",
            hash="f6abf7b5849ac99a89b50dd3fd532856",
        ),
    },
    "efficientnet_v2_s": {
        "top": WeightsFile(
            file="efficientnetv2-s.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-s.h5",
            hash="e1d88a8495beba45748fedd0cecbe016",
        ),
        "notop": WeightsFile(
            file="efficientnetv2-s_notop.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-s_notop.h5",
            hash="af0682fb74e8c54910f2d4393339c070",
        ),
    },
    "efficientnet_v2_m": {
        "top": WeightsFile(
            file="efficientnetv2-m.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-m.h5",
            hash="a3bf6aa3276309f4fc6a34aa114c95cd",
        ),
        "notop": WeightsFile(
            file="efficientnetv2-m_notop.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-m_notop.h5",
            hash="1b8dc055df72dde80d614482840fe342",
        ),
    },
    "efficientnet_v2_l": {
        "top": WeightsFile(
            file="efficientnetv2-l.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-l.h5",
            hash="27e6d408b53c7ebc868fefa357689935",
        ),
        "notop": WeightsFile(
            file="efficientnetv2-l_notop.h5",
            url=_KA + "efficientnet_v2/efficientnetv2-l_notop.h5",
            hash="b0b66b5c863aef5b46e8608fe1711615",
        ),
    },
    "densenet121": {
        "top": WeightsFile(
            file="densenet121_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "densenet/densenet121_weights_tf_dim_ordering_tf_kernels.h5",
            hash="9d60b8095a5708f2dcce2bca79d332c7",
        ),
        "notop": WeightsFile(
            file="densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="30ee3e1110167f948a6b9946edeeb738",
        ),
    },
    "densenet169": {
        "top": WeightsFile(
            file="densenet169_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "densenet/densenet169_weights_tf_dim_ordering_tf_kernels.h5",
            hash="d699b8f76981ab1b30698df4c175e90b",
        ),
        "notop": WeightsFile(
            file="densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "densenet/densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="b8c4d4c20dd625c148057b9ff1c1176b",
        ),
    },
    "densenet201": {
        "top": WeightsFile(
            file="densenet201_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "densenet/densenet201_weights_tf_dim_ordering_tf_kernels.h5",
            hash="1ceb130c1ea1b78c3bf6114dbdfd8807",
        ),
        "notop": WeightsFile(
            file="densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "densenet/densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="c13680b51ded0fb44dff2d8f86ac8bb1",
        ),
    },
    "xception": {
        "top": WeightsFile(
            file="xception_weights_tf_dim_ordering_tf_kernels.h5",
            url=_KA + "xception/xception_weights_tf_dim_ordering_tf_kernels.h5",
            hash="0a58e3b7378bc2990ea3b43d5981f1f6",
        ),
        "notop": WeightsFile(
            file="xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=_KA + "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
            hash="b0042744bf5b25fce3cb969f33bebb97",
        ),
    },
    "inception_resnet_v2": {
        "top": WeightsFile(
            file="inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
            url=(
                _KA + "inception_resnet_v2/"
                "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"
            ),
            hash="e693bd0210a403b3192acc6073ad2e96",
        ),
        "notop": WeightsFile(
            file="inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
            url=(
                _KA + "inception_resnet_v2/"
                "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
            ),
            hash="d19885ff4a710c122648d3b5c3b684e4",
        ),
    },
    "convnext_tiny": {
        "top": WeightsFile(
            file="convnext_tiny.h5",
            url=_KA + "convnext/convnext_tiny.h5",
            hash="8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
        ),
        "notop": WeightsFile(
            file="convnext_tiny_notop.h5",
            url=_KA + "convnext/convnext_tiny_notop.h5",
            hash="d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1",
        ),
    },
    "convnext_small": {
        "top": WeightsFile(
            file="convnext_small.h5",
            url=_KA + "convnext/convnext_small.h5",
            hash="ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
        ),
        "notop": WeightsFile(
            file="convnext_small_notop.h5",
            url=_KA + "convnext/convnext_small_notop.h5",
            hash="6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab",
        ),
    },
    "convnext_base": {
        "top": WeightsFile(
            file="convnext_base.h5",
            url=_KA + "convnext/convnext_base.h5",
            hash="52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
        ),
        "notop": WeightsFile(
            file="convnext_base_notop.h5",
            url=_KA + "convnext/convnext_base_notop.h5",
            hash="40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45",
        ),
    },
    "convnext_large": {
        "top": WeightsFile(
            file="convnext_large.h5",
            url=_KA + "convnext/convnext_large.h5",
            hash="070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
        ),
        "notop": WeightsFile(
            file="convnext_large_notop.h5",
            url=_KA + "convnext/convnext_large_notop.h5",
            hash="96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd",
        ),
    },
    "convnext_xlarge": {
        "top": WeightsFile(
            file="convnext_xlarge.h5",
            url=_KA + "convnext/convnext_xlarge.h5",
            hash="c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
        ),
        "notop": WeightsFile(
            file="convnext_xlarge_notop.h5",
            url=_KA + "convnext/convnext_xlarge_notop.h5",
            hash="de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05",
        ),
    },
}


def keras_home() -> str:
    """Keras' home directory, as Keras resolves it.

    `$KERAS_HOME` when set, else `~/.keras` (`/tmp/.keras` when the home
    directory is not writable). Read at every call, unlike Keras, which reads
    it once at import time.

    Returns:
        The directory (it need not exist yet).
    """
    if "KERAS_HOME" in os.environ:
        home = os.path.expanduser(os.environ["KERAS_HOME"])
    else:
        base = os.path.expanduser("~")
        if not os.access(base, os.W_OK):
            base = "/tmp"
        home = os.path.join(base, ".keras")
    # keras.utils.get_file uses /tmp/.keras when the home exists but is read-only.
    if os.path.isdir(home) and not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return os.path.abspath(home)


def cache_dir() -> str:
    """The directory holding Keras' weights files: `keras_home()/models`."""
    return os.path.join(keras_home(), "models")


def hash_algorithm(file_hash: str) -> str:
    """`"sha256"` for a 64-digit hash, else `"md5"`, as `keras.utils.get_file` decides."""
    return "sha256" if len(file_hash) == 64 else "md5"


def file_hash(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """The hex digest of a file.

    Args:
        path: The file.
        algorithm: `"sha256"` or `"md5"`.

    Returns:
        The lower-case hex digest.
    """
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def imagenet_weights_path(name: str, *, include_top: bool) -> str:
    """The local path of an architecture's ImageNet weights file.

    The cache is checked first; only a file that is not there is downloaded
    (with `keras.utils.get_file`, into Keras' cache).

    Args:
        name: Registry name or alias with ImageNet weights.
        include_top: Whether the file with the ImageNet classifier is wanted.

    Returns:
        The path of the verified file in Keras' cache.

    Raises:
        UnknownNameError: The name is not registered.
        UsageError: The architecture has no ImageNet weights.
        WeightsUnavailableError: The file is not cached and cannot be
            downloaded, or the cached file's hash is wrong.
    """
    key = _resolve(name)
    variant = _variant(include_top)
    entry = IMAGENET_WEIGHTS[key][variant]
    path = os.path.join(cache_dir(), entry.file)
    if os.path.isfile(path):
        actual = _cached_hash_mismatch(path, entry)
        if actual is not None:
            raise WeightsUnavailableError(_mismatch_message(key, variant, entry, path, actual))
        return path
    return _download(key, variant, entry)


def list_weights() -> list[dict[str, Any]]:
    """Every ImageNet weights file the zoo knows, and whether it is cached.

    Returns:
        One row per architecture and variant, sorted: `name`, `variant`
        (`top` or `notop`), `file`, `url`, `hash` (`None` where Keras publishes
        none), `hash_algorithm`, `cached` (the file is in the cache; its hash is
        checked when it is used) and `path` (where it is or would be).
    """
    return [_row(key, variant) for key in sorted(IMAGENET_WEIGHTS) for variant in VARIANTS]


def fetch(name: str, include_top: bool | None = None) -> list[dict[str, Any]]:
    """Downloads an architecture's ImageNet weights into Keras' cache.

    A cached file with the right hash is kept; one with a wrong hash is
    replaced by a fresh download.

    Args:
        name: Registry name or alias with ImageNet weights.
        include_top: `True` or `False` for one variant; `None` for both.

    Returns:
        The `list_weights` rows of the files, with `downloaded` (whether this
        call downloaded the file).

    Raises:
        UnknownNameError: The name is not registered.
        UsageError: The architecture has no ImageNet weights.
        WeightsUnavailableError: A file could not be downloaded.
    """
    key = _resolve(name)
    rows = []
    for variant in _variants(include_top):
        entry = IMAGENET_WEIGHTS[key][variant]
        path = os.path.join(cache_dir(), entry.file)
        mismatch = os.path.isfile(path) and _cached_hash_mismatch(path, entry) is not None
        downloaded = mismatch or not os.path.isfile(path)
        if downloaded:
            note = "the cached copy's hash is wrong; " if mismatch else ""
            _download(key, variant, entry, note=note)
        rows.append({**_row(key, variant), "downloaded": downloaded})
    return rows


def import_weights(name: str, file: str | os.PathLike[str], include_top: bool | None = None) -> str:
    """Copies a local weights file into Keras' cache under Keras' file name.

    The file's hash is checked against Keras' before anything is copied; the
    copy is atomic (a temporary file, then a rename). For files without a
    published hash (MobileNet v1/v2) the file is checked by loading it into
    the architecture instead.

    Args:
        name: Registry name or alias with ImageNet weights.
        file: The local file, e.g. downloaded on another machine.
        include_top: Which variant the file is; `None` decides by its hash.

    Returns:
        The path of the file in the cache.

    Raises:
        UnknownNameError: The name is not registered.
        UsageError: The architecture has no ImageNet weights, the file does
            not exist, or it is not Keras' file (nothing is copied then).
    """
    key = _resolve(name)
    source = os.fspath(file)
    if not os.path.isfile(source):
        raise UsageError(f"Weights file {source} does not exist. Received: file={source!r}")
    variants = _variants(include_top)
    entries = IMAGENET_WEIGHTS[key]
    digests: dict[str, str] = {}
    chosen = None
    for variant in variants:
        expected = entries[variant].hash
        if expected is None:
            continue
        algorithm = hash_algorithm(expected)
        if algorithm not in digests:
            digests[algorithm] = file_hash(source, algorithm)
        if digests[algorithm] == expected:
            chosen = variant
            break
    if chosen is None:
        unhashed = [variant for variant in variants if entries[variant].hash is None]
        if not unhashed:
            raise UsageError(_import_mismatch_message(key, source, variants, digests))
        chosen = _variant_by_loading(key, source, unhashed)
    destination = os.path.join(cache_dir(), entries[chosen].file)
    _atomic_copy(source, destination)
    return destination


def load_weights_file(model: keras.Model, path: str | os.PathLike[str]) -> None:
    """Loads a weights file into a built model.

    Accepts Keras 3 `.weights.h5` files, legacy `.h5` files (Keras' ImageNet
    files, `model.save("x.h5")`) and the weights of a `.keras` model file; the
    format is read from the file's content, not its name.

    Args:
        model: The built model.
        path: The weights file.

    Raises:
        UsageError: The file does not exist, is not a Keras weights file, or
            its layers or weight shapes do not match the model.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UsageError(f"Weights file {path} does not exist. Received: weights={path!r}")
    reason = _load_or_reason(model, path)
    if reason is not None:
        raise UsageError(
            f"Weights file {path} does not fit {model.name}: its layers or weight shapes do "
            f"not match this architecture ({reason}). Use weights saved from {model.name} "
            "built with the same classes, include_top and input channels, or build with "
            "weights=None or 'imagenet'."
        )


def _load_or_reason(model: keras.Model, path: str) -> str | None:
    """Loads `path` into `model`; on failure, the reason on one short line."""
    suffix = _weights_format(path)
    reason = None
    # Keras warns, rather than fails, about parts of a .weights.h5 file it could
    # not place; those layers would keep random weights, so they are a failure here.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _with_suffix(path, suffix) as loadable:
                model.load_weights(loadable)
        except (ValueError, KeyError, IndexError, TypeError, OSError) as error:
            reason = _short(error)
    partial = [w for w in caught if "freshly-initialized" in str(w.message)]
    if reason is None and partial:
        reason = _short(partial[0].message)
    if reason is None:
        for warning in caught:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return reason


def _resolve(name: str) -> str:
    """The table key of a registry name or alias."""
    key = str(name).strip().lower().replace("-", "_")
    if key in IMAGENET_WEIGHTS:
        return key
    from zoo.registry import get_spec  # Loads the architectures (and Keras).

    spec = get_spec(name)
    if spec.name not in IMAGENET_WEIGHTS:
        raise UsageError(
            f"{spec.name} has no ImageNet weights; build it with weights=None, or pick a "
            f"base that has them (`zoo weights list`). Received: name={name!r}"
        )
    return spec.name


def _variant(include_top: bool) -> str:
    return "top" if include_top else "notop"


def _variants(include_top: bool | None) -> tuple[str, ...]:
    return VARIANTS if include_top is None else (_variant(include_top),)


def _row(key: str, variant: str) -> dict[str, Any]:
    entry = IMAGENET_WEIGHTS[key][variant]
    path = os.path.join(cache_dir(), entry.file)
    return {
        "name": key,
        "variant": variant,
        "file": entry.file,
        "url": entry.url,
        "hash": entry.hash,
        "hash_algorithm": hash_algorithm(entry.hash) if entry.hash else None,
        "cached": os.path.isfile(path),
        "path": path,
    }


# (path, size, mtime_ns, expected hash) of cached files already checked, so a
# large file is hashed once per process, not at every build.
_VERIFIED: set[tuple[str, int, int, str]] = set()


def _cached_hash_mismatch(path: str, entry: WeightsFile) -> str | None:
    """The cached file's actual hash when it differs from Keras', else `None`."""
    if entry.hash is None:
        return None
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns, entry.hash)
    if key in _VERIFIED:
        return None
    actual = file_hash(path, hash_algorithm(entry.hash))
    if actual != entry.hash:
        return actual
    _VERIFIED.add(key)
    return None


def _download(key: str, variant: str, entry: WeightsFile, note: str = "") -> str:
    """Downloads one file with `keras.utils.get_file` and moves it into the cache.

    The download lands in a staging folder inside the cache, so an interrupted
    or corrupt download never takes the place of a file.
    """
    import keras

    models = cache_dir()
    os.makedirs(models, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".download-", dir=models)
    try:
        try:
            downloaded = keras.utils.get_file(
                entry.file,
                entry.url,
                cache_subdir="models",
                file_hash=entry.hash,
                cache_dir=staging,
            )
        except KeyboardInterrupt:
            raise
        except Exception as error:  # noqa: BLE001  (urllib, socket and Keras' own errors)
            raise WeightsUnavailableError(
                _unavailable_message(key, variant, entry, note + _download_reason(error))
            ) from error
        destination = os.path.join(models, entry.file)
        os.replace(downloaded, destination)
        return destination
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _download_reason(error: BaseException) -> str:
    """A short reason for a failed download: the network's, not Keras' wrapper."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, urllib.error.HTTPError):
            return f"HTTP {cause.code} {cause.reason}"
        if isinstance(cause, urllib.error.URLError):
            return str(cause.reason)
        cause = cause.__cause__ or cause.__context__
    text = _short(error)
    if "hash does not match" in text:
        return "the downloaded file's hash does not match Keras'"
    return text


def _unavailable_message(key: str, variant: str, entry: WeightsFile, reason: str) -> str:
    return (
        f"ImageNet weights for {key} ({variant}) are not in the Keras cache and could not be "
        f"downloaded ({reason}): save {entry.url} as {entry.file} in {cache_dir()}, "
        f"or run `zoo weights import {key} FILE`."
    )


def _mismatch_message(key: str, variant: str, entry: WeightsFile, path: str, actual: str) -> str:
    algorithm = hash_algorithm(entry.hash or "")
    return (
        f"The cached ImageNet weights {path} for {key} ({variant}) have {algorithm} {actual}, "
        f"not Keras' {entry.hash}: the file is incomplete or not {entry.url}. Delete it and run "
        f"`zoo weights fetch {key}`, or run `zoo weights import {key} FILE` with the right file."
    )


def _import_mismatch_message(
    key: str, source: str, variants: tuple[str, ...], digests: dict[str, str]
) -> str:
    entries = IMAGENET_WEIGHTS[key]
    found = ", ".join(f"{algorithm} {digest}" for algorithm, digest in digests.items())
    expected = " or ".join(
        f"{entries[v].hash} ({v}: {entries[v].file} from {entries[v].url})" for v in variants
    )
    return (
        f"{source} is not Keras' ImageNet weights file for {key}: it has {found}, expected "
        f"{expected}; nothing was copied. Download the right file and import it again."
    )


def _variant_by_loading(key: str, source: str, variants: list[str]) -> str:
    """The variant whose architecture the (unhashed) file loads into."""
    from zoo.builder import build_model

    reasons = []
    for variant in variants:
        model = build_model(key, weights=None, include_top=variant == "top")
        reason = _load_or_reason(model, source)
        if reason is None:
            return variant
        reasons.append(f"{variant}: {reason}")
    entries = IMAGENET_WEIGHTS[key]
    files = " or ".join(f"{entries[v].file} from {entries[v].url}" for v in variants)
    raise UsageError(
        f"{source} does not load into {key} ({'; '.join(reasons)}); Keras publishes no hash "
        f"for it, so the zoo checks it by loading: use {files}. Nothing was copied."
    )


def _atomic_copy(source: str, destination: str) -> None:
    """Copies to a temporary file beside `destination`, then renames it into place."""
    folder = os.path.dirname(destination)
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(destination)}.", suffix=".part", dir=folder
    )
    try:
        with os.fdopen(handle, "wb") as out, open(source, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _weights_format(path: str) -> str:
    """The suffix Keras needs to load the file: `.keras`, `.weights.h5` or `.h5`."""
    if zipfile.is_zipfile(path):
        return ".keras"
    import h5py

    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as handle:
            if "layer_names" in handle.attrs or "model_weights" in handle:
                return ".h5"
        return ".weights.h5"
    raise UsageError(
        f"{path} is not a Keras weights file: expected a .weights.h5 file, a legacy .h5 "
        "file (like Keras' ImageNet files) or a .keras model file."
    )


@contextlib.contextmanager
def _with_suffix(path: str, suffix: str) -> Iterator[str]:
    """`path`, or a link to it ending in `suffix`: Keras picks the loader by name."""
    legacy = (
        suffix == ".h5" and path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5")
    )
    if legacy or (suffix != ".h5" and path.endswith(suffix)):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="zoo-weights-") as folder:
        alias = os.path.join(folder, "weights" + suffix)
        try:
            os.symlink(os.path.abspath(path), alias)
        except OSError:
            shutil.copyfile(path, alias)
        yield alias


def _short(error: BaseException | Warning) -> str:
    """An error's message on one short line (Keras' run over several)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    text = lines[0]
    if text.endswith(":") and len(lines) > 1:  # "A total of 3 objects could not be loaded. ...:"
        text = f"{text} {lines[1]}"
    return text if len(text) <= 300 else text[:297] + "..."
