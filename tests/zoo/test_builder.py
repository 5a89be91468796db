import keras
import numpy as np
import pytest

import zoo
from zoo.errors import UsageError


def test_classes_must_be_positive():
    with pytest.raises(UsageError, match=r"Received: classes=0"):
        zoo.build_model("mobilenet_v3_small", classes=0, input_shape=(32, 32, 3))


def test_too_small_input_is_refused_with_the_minimum():
    with pytest.raises(UsageError, match=r"at least 75x75.*Received: input_shape=\(64, 64, 3\)"):
        zoo.build_model("inception_v3", input_shape=(64, 64, 3))


def test_one_channel_input_to_rgb_base_is_refused():
    with pytest.raises(UsageError, match="RGB"):
        zoo.build_model("resnet50", input_shape=(64, 64, 1))


def test_classes_default_to_the_papers():
    assert zoo.get_spec("lenet5").classes == zoo.get_spec("resnet20").classes == 10
    assert zoo.build_model("lenet5").output_shape == (None, 10)
    assert zoo.build_model("resnet20", classes=None).output_shape == (None, 10)
    assert zoo.build_model("resnet18", input_shape=(32, 32, 3)).output_shape == (None, 1000)


def test_imagenet_weights_need_1000_classes_with_top():
    with pytest.raises(UsageError, match="classes=1000"):
        zoo.build_model("resnet50", weights="imagenet", classes=10)


def test_imagenet_weights_with_top_need_default_size():
    with pytest.raises(UsageError, match="224x224x3"):
        zoo.build_model("resnet50", weights="imagenet", input_shape=(64, 64, 3))


def test_no_imagenet_weights_for_scratch_models():
    with pytest.raises(UsageError, match="no ImageNet weights"):
        zoo.build_model("resnet18", weights="imagenet", include_top=False)


def test_missing_weights_file():
    with pytest.raises(UsageError, match="weights file"):
        zoo.build_model("resnet18", weights="/no/such/file.weights.h5")


def test_classifier_activation_is_checked():
    with pytest.raises(UsageError, match="Received: classifier_activation='bogus'"):
        zoo.build_model("lenet5", classifier_activation="bogus")


def test_pooling_values_are_checked():
    with pytest.raises(UsageError, match="pooling"):
        zoo.build_model("resnet18", include_top=False, pooling="mean")
    with pytest.raises(UsageError, match="include_top=False"):
        zoo.build_model("resnet18", pooling="avg")


def test_unknown_option_lists_the_accepted_ones():
    with pytest.raises(UsageError, match="lrn"):
        zoo.build_model("alexnet", lrm=True)


def test_malformed_input_shape():
    with pytest.raises(UsageError, match="input_shape"):
        zoo.build_model("resnet18", input_shape=(64, 64))


def test_preprocessing_layer_normalises_raw_pixels():
    model = zoo.build_model("mobilenet_v2", classes=3, input_shape=(32, 32, 3))
    layer = model.get_layer("preprocessing")
    out = layer(np.full((1, 2, 2, 3), 255.0, dtype="float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), 1.0, rtol=1e-6)
    bare = zoo.build_model(
        "mobilenet_v2", classes=3, input_shape=(32, 32, 3), include_preprocessing=False
    )
    assert "preprocessing" not in [layer.name for layer in bare.layers]


def test_caffe_preprocessing_flips_to_bgr_and_subtracts_the_mean():
    from zoo.layers import ImagePreprocessing

    pixel = np.array([[[[10.0, 20.0, 30.0]]]], dtype="float32")
    out = keras.ops.convert_to_numpy(ImagePreprocessing("caffe")(pixel))
    np.testing.assert_allclose(out[0, 0, 0], [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-5)


def test_builtin_preprocessing_cannot_be_removed_from_efficientnet_v1():
    with pytest.raises(UsageError, match="always normalises"):
        zoo.build_model("efficientnet_b0", input_shape=(32, 32, 3), include_preprocessing=False)


def test_huge_values_make_short_messages():
    for kwargs in (
        {"classifier_activation": "x" * 1_000_000},
        {"weights": "x" * 1_000_000},
        {"x" * 1_000_000: 1},
        {"dropout": list(range(1_000_000))},
        {"classes": -(10**5000)},
        {"input_shape": (10**5000, 32, 3)},
    ):
        with pytest.raises(UsageError) as info:
            zoo.build_model("alexnet", **kwargs)
        assert len(str(info.value)) < 400, list(kwargs)
