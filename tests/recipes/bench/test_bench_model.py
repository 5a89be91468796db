"""`zoo bench model`'s measurement: both sides, the matmul peak, MFU."""

import keras
import pytest
import tensorflow as tf

import zoo
from recipes.bench.model import measure_model
from recipes.bench.peak import matmul_peak
from zoo.errors import UsageError


def test_keras_application_is_found_for_keras_bases_only():
    constructor, fixed = zoo.get_spec("resnet50").application
    assert constructor is keras.applications.ResNet50
    assert fixed == {}
    assert zoo.get_spec("resnet18").application is None
    assert zoo.get_spec("lenet5").application is None


def test_matmul_peak_says_how_it_was_measured():
    peak = matmul_peak("fp32")
    assert peak["flops_per_second"] > 0
    assert peak["dtype"] == "float32"
    assert peak["size"] >= 256 and peak["size"] & (peak["size"] - 1) == 0
    assert peak["best_of"] == peak["repeats"] >= 1
    assert f"{peak['size']}x{peak['size']}" in peak["method"]
    expected = 2 * peak["size"] ** 3 / peak["best_seconds"]
    assert peak["flops_per_second"] == pytest.approx(expected, rel=1e-2)


def test_inference_only_reports_both_sides_and_restores_the_policy():
    report = measure_model(
        "lenet5", mode="infer", batch_size=4, image_size=32, steps=2, classes=10, rounds=1
    )
    assert keras.mixed_precision.global_policy().name == "float32"
    assert report["forward_flops"] == 2 * report["macs"] > 0
    for side in ("zoo", "keras"):
        row = report[side]
        assert "train" not in row
        assert row["infer"]["images_per_second"] > 0
        assert 0 < row["infer"]["mfu"] < 2
        assert 0 < row["latency"]["p50_ms"] <= row["latency"]["p95_ms"]
        assert row["latency"]["samples"] >= 10
    assert report["keras"]["precision"] == "fp32"
    assert report["keras"]["model"] == "zoo architecture with Keras' own layers"
    assert report["ratios"]["train_images_per_second"] is None
    assert report["ratios"]["infer_images_per_second"] > 0
    assert set(report["peak"]) == {report["zoo"]["precision"], "fp32"}


def test_bad_mode_is_a_usage_error():
    with pytest.raises(UsageError, match="Received: mode='fast'"):
        measure_model("lenet5", mode="fast")


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="fp16 runs on GPUs")
def test_fp16_without_a_gpu_is_a_usage_error():
    with pytest.raises(UsageError, match="fp16 needs a GPU"):
        measure_model("lenet5", image_size=32, precision="fp16")
