"""One architecture's speed and cost: the zoo's way beside the plain-Keras way.

Both sides run the same architecture on the same synthetic batch (random
0-255 images and random one-hot labels, made once as tensors), in one process:

- `zoo`: the model `zoo train` builds (its fast layers, `zoo.fast_layers`; a float32
  softmax on the logits), in the precision and with the XLA setting `zoo train`
  resolves, compiled by `recipes.training.fit.compile_model` with the default
  preset's optimizer and loss; inference through a `tf.function` of the model,
  as `zoo predict` does;
- `keras`: the `keras.applications` model where the architecture is one of its
  bases (`weights=None`), otherwise the zoo's architecture with Keras' own
  `BatchNormalization`, in float32, `compile(optimizer="adam")`, `fit` and
  `predict`.

Every timed round runs the zoo side then the Keras side, so that other load
on the machine weighs on both; the first round (`warmup_steps` steps) traces
and compiles and is left out, and the best of the timed rounds is reported.
Model FLOP utilisation (MFU) divides the achieved FLOP/s (training: 3 x the
forward FLOPs per image, inference: 1 x) by a matmul peak measured in the same
run and precision (`recipes.bench.peak`), timed after every round as well.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import zoo
from recipes.bench.memory import gpu_peak_bytes, peak_rss_bytes
from recipes.bench.peak import MatmulPeak
from recipes.config import DEFAULT_PRESETS, load_preset, resolve_config
from recipes.training.devices import set_precision, setup_devices
from recipes.training.fit import compile_model
from recipes.training.train import build_classifier
from zoo.builder import resolve_input_shape
from zoo.complexity import count_macs, count_params
from zoo.errors import UsageError
from zoo.fast_layers import use_fast_layers
from zoo.registry import ArchSpec

MODES = ("train", "infer", "both")

_LATENCY_WARMUP = 3
_LATENCY_MIN, _LATENCY_MAX, _LATENCY_SECONDS = 10, 100, 1.5  # samples per side and round


@dataclass
class _Side:
    """One way of running the architecture, and what was measured of it."""

    model: keras.Model
    precision: str
    jit: bool
    description: str
    compiled: str
    infer_method: str
    forward: Callable[[tf.Tensor], tf.Tensor]
    train: list[float] = field(default_factory=list)
    infer: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    gpu_peak: int | None = None


class _Clock(keras.callbacks.Callback):
    """Seconds from the first step to the end of `fit` or `predict` (results read back)."""

    def __init__(self) -> None:
        super().__init__()
        self.start = self.seconds = 0.0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.start = time.perf_counter()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.seconds = time.perf_counter() - self.start

    on_predict_begin = on_train_begin
    on_predict_end = on_train_end


def _forward(model: keras.Model, jit: bool) -> Callable[[tf.Tensor], tf.Tensor]:
    def forward(images: tf.Tensor) -> tf.Tensor:
        return model(images, training=False)

    return tf.function(forward, jit_compile=jit, autograph=False)


def _zoo_side(spec: ArchSpec, size: int, classes: int, settings: dict[str, Any]) -> _Side:
    preset = DEFAULT_PRESETS["train"]
    config = resolve_config(load_preset(preset), {"arch": spec.name, **settings})
    setup = setup_devices(config.devices)  # sets the global dtype policy
    with setup.strategy.scope():
        model = build_classifier(config, classes, size)
        compile_model(model, config, setup, config.optim.lr, 1, 1, classes)
    optim = config.optim
    return _Side(
        model=model,
        precision=setup.precision,
        jit=setup.jit,
        description="zoo build (zoo.fast_layers, float32 softmax)",
        compiled=(
            f"zoo train's compile (preset {preset}): {optim.optimizer}, {optim.schedule} "
            f"schedule, categorical cross-entropy with label smoothing {optim.label_smoothing}"
        ),
        infer_method="tf.function of model(images, training=False), as zoo predict",
        forward=_forward(model, setup.jit),
    )


def _keras_side(spec: ArchSpec, size: int, classes: int) -> _Side:
    set_precision("fp32")
    application = spec.application
    if application is not None:
        constructor, fixed = application
        model = constructor(
            weights=None, input_shape=(size, size, spec.channels), classes=classes, **fixed
        )
        described = f"keras.applications.{constructor.__name__}(weights=None)"
    else:
        model = zoo.build_model(spec.name, classes=classes, input_shape=(size, size, spec.channels))
        use_fast_layers(model, fast=False)
        described = "zoo architecture with Keras' own layers"
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return _Side(
        model=model,
        precision="fp32",
        jit=bool(model.jit_compile),
        description=described,
        compiled='model.compile(optimizer="adam", loss="categorical_crossentropy")',
        infer_method="model.predict",
        forward=_forward(model, bool(model.jit_compile)),
    )


def _run_round(
    side: _Side,
    name: str,
    batches: tf.data.Dataset,
    one: tf.Tensor,
    steps: int,
    mode: str,
    timed: bool,
) -> None:
    """One round of one side: training, throughput and latency, as `mode` asks."""
    set_precision(side.precision)
    gpu_peak_bytes(reset=True)
    if mode in ("train", "both"):
        clock = _Clock()
        side.model.fit(
            batches, epochs=1, steps_per_epoch=steps, callbacks=[clock], shuffle=False, verbose=0
        )
        if timed:
            side.train.append(clock.seconds)
    if mode in ("infer", "both"):
        images = batches.map(lambda x, y: x)
        if name == "keras":
            clock = _Clock()
            side.model.predict(images, steps=steps, callbacks=[clock], verbose=0)
            seconds = clock.seconds
        else:
            iterator = iter(images)
            start = time.perf_counter()
            for _ in range(steps):
                outputs = side.forward(next(iterator))
            outputs.numpy()  # waits for the device's queue
            seconds = time.perf_counter() - start
        if timed:
            side.infer.append(seconds)
        _latency(side, one, timed)
    peak = gpu_peak_bytes()
    if peak is not None:
        side.gpu_peak = max(peak, side.gpu_peak or 0)


def _latency(side: _Side, one: tf.Tensor, timed: bool) -> None:
    if not timed:
        for _ in range(_LATENCY_WARMUP):
            side.forward(one).numpy()
        return
    start = time.perf_counter()
    for repeat in range(_LATENCY_MAX):
        if repeat >= _LATENCY_MIN and time.perf_counter() - start > _LATENCY_SECONDS:
            break
        tick = time.perf_counter()
        side.forward(one).numpy()
        side.latency.append(time.perf_counter() - tick)


def _figures(value: float) -> float:
    """Four significant figures (MFU of tiny models stays above zero)."""
    return float(f"{value:.4g}")


def _side_report(
    side: _Side, batch_size: int, steps: int, peaks: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    total, trainable = count_params(side.model)
    macs = count_macs(side.model)
    flops = 2 * macs
    peak = peaks[side.precision]["flops_per_second"]
    report: dict[str, Any] = {
        "model": side.description,
        "precision": side.precision,
        "jit": side.jit,
        "compile": side.compiled,
        "params": total,
        "trainable_params": trainable,
        "macs": macs,
        "forward_flops": flops,
    }
    for key, rounds, factor in (("train", side.train, 3), ("infer", side.infer, 1)):
        if not rounds:
            continue
        rates = [batch_size * steps / max(seconds, 1e-9) for seconds in rounds]
        achieved = factor * flops * max(rates)
        report[key] = {
            "images_per_second": round(max(rates), 2),
            "rounds_images_per_second": [round(rate, 2) for rate in rates],
            "achieved_flops_per_second": _figures(achieved),
            "mfu": _figures(achieved / peak),
        }
    if side.infer:
        report["infer"]["method"] = side.infer_method
    if side.latency:
        milliseconds = np.array(side.latency) * 1000
        report["latency"] = {
            "p50_ms": _figures(float(np.percentile(milliseconds, 50))),
            "p95_ms": _figures(float(np.percentile(milliseconds, 95))),
            "samples": len(side.latency),
            "method": (
                f"tf.function of the model (jit_compile={side.jit}) on a batch of one, "
                f"{_LATENCY_WARMUP} warm-up calls, then up to {_LATENCY_MAX} calls or "
                f"{_LATENCY_SECONDS} s per round"
            ),
        }
    report["gpu_peak_bytes"] = side.gpu_peak
    return report


def _device() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        return f"{len(gpus)} x GPU ({name}); measured on GPU:0"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU ({cores} cores)"


def _ratios(zoo_report: dict[str, Any], keras_report: dict[str, Any]) -> dict[str, Any]:
    ratios: dict[str, Any] = {
        "note": "zoo / keras; images/s higher is better, latency lower is better"
    }
    for key, section, figure in (
        ("train_images_per_second", "train", "images_per_second"),
        ("infer_images_per_second", "infer", "images_per_second"),
        ("latency_p50", "latency", "p50_ms"),
    ):
        zoo_value = zoo_report.get(section, {}).get(figure)
        keras_value = keras_report.get(section, {}).get(figure)
        ratios[key] = round(zoo_value / keras_value, 3) if zoo_value and keras_value else None
    return ratios


def measure_model(
    arch: str,
    mode: str = "both",
    batch_size: int = 32,
    image_size: int | None = None,
    precision: str = "auto",
    jit: str = "auto",
    steps: int = 10,
    classes: int = 1000,
    rounds: int = 2,
    warmup_steps: int = 2,
    strategy: str = "default",
) -> dict[str, Any]:
    """Measures an architecture's speed, cost and MFU, the zoo's way and the plain-Keras way.

    Args:
        arch: Registered architecture name (or alias).
        mode: `train`, `infer` or `both`.
        batch_size: Images per step.
        image_size: Square input side (default: the architecture's).
        precision: The zoo side's precision: `auto` (as `zoo train`), `fp32`,
            `bf16` or `fp16`; the Keras side is always fp32.
        jit: The zoo side's XLA setting: `auto`, `on` or `off`.
        steps: Steps of each timed round.
        classes: Classes of the classifier and of the random labels.
        rounds: Timed rounds of each side, after one warm-up round.
        warmup_steps: Steps of the warm-up round (tracing and compiling).
        strategy: The zoo side's tf.distribute strategy: `default`, or
            `mirrored` (MirroredStrategy over this machine's GPUs, or its CPU).

    Returns:
        The settings, `params`, `macs` and `forward_flops` (zoo model, one
        image), each side's figures, `ratios` (zoo / keras), `peak` (the
        matmul peak per precision used, and how it was measured) and `memory`.

    Raises:
        UsageError: A bad mode, an input too small for the architecture, or
            a precision the machine lacks (fp16 without a GPU).
        UnknownNameError: `arch` is not registered (the closest names are suggested).
    """
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}. Received: mode={mode!r}")
    if strategy not in ("default", "mirrored"):
        raise UsageError(f"strategy must be default or mirrored. Received: strategy={strategy!r}")
    spec = zoo.get_spec(arch)
    size = image_size or spec.default_size
    resolve_input_shape(spec, (size, size, spec.channels))
    settings = {"batch_size": batch_size, "image_size": size, "precision": precision}
    settings.update(jit=jit, strategy=strategy, epochs=1)
    try:
        sides = {"zoo": _zoo_side(spec, size, classes, settings)}
        sides["keras"] = _keras_side(spec, size, classes)
        generator = tf.random.Generator.from_seed(0)
        images = generator.uniform((batch_size, size, size, spec.channels), 0.0, 255.0)
        labels = tf.one_hot(generator.uniform((batch_size,), 0, classes, dtype=tf.int32), classes)
        batches = tf.data.Dataset.from_tensors((images, labels)).repeat()
        peaks: dict[str, MatmulPeak] = {}
        for round_index in range(rounds + 1):
            timed = round_index > 0
            for name, side in sides.items():
                _run_round(
                    side, name, batches, images[:1], steps if timed else warmup_steps, mode, timed
                )
            # The peak alternates with the sides too: other load weighs on it as on them.
            for precision_name in dict.fromkeys(side.precision for side in sides.values()):
                if precision_name not in peaks:
                    peaks[precision_name] = MatmulPeak(precision_name)
                if timed:
                    peaks[precision_name].measure()
    finally:
        set_precision("fp32")
    peak_reports = {name: peak.report() for name, peak in peaks.items()}
    reports = {
        name: _side_report(side, batch_size, steps, peak_reports) for name, side in sides.items()
    }
    zoo_report, keras_report = reports["zoo"], reports["keras"]
    return {
        "arch": spec.name,
        "mode": mode,
        "image_size": size,
        "batch_size": batch_size,
        "strategy": strategy,
        "classes": classes,
        "steps": steps,
        "warmup_steps": warmup_steps,
        "rounds": rounds,
        "device": _device(),
        "data": "synthetic: one batch of random 0-255 images and one-hot labels, made once",
        "timing": (
            f"best of {rounds} timed round{'s' if rounds > 1 else ''} of {steps} steps per "
            "side, zoo then keras then the matmul peak in each round, after a warm-up round "
            f"of {warmup_steps} steps"
        ),
        "params": zoo_report["params"],
        "trainable_params": zoo_report["trainable_params"],
        "macs": zoo_report["macs"],
        "forward_flops": zoo_report["forward_flops"],
        "zoo": zoo_report,
        "keras": keras_report,
        "ratios": _ratios(zoo_report, keras_report),
        "peak": peak_reports,
        "memory": {
            "peak_rss_bytes": peak_rss_bytes(),
            "peak_rss_note": "whole process (both sides, the matmul peak and TensorFlow itself)",
            "gpu_peak_bytes": max(
                (p for p in (zoo_report["gpu_peak_bytes"], keras_report["gpu_peak_bytes"]) if p),
                default=None,
            ),
        },
    }
