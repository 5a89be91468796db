"""Devices: mixed precision, XLA and tf.distribute strategies for a run."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from recipes.config.schema import DeviceSettings
from zoo.errors import UsageError

_POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


@dataclass(frozen=True)
class DeviceSetup:
    """What a run executes on.

    Attributes:
        precision: `fp32`, `bf16` or `fp16` (resolved from `auto`).
        jit: Whether XLA compiles the train step.
        strategy: The tf.distribute strategy (the default one for one device).
        strategy_name: `default`, `mirrored` or `multiworker`.
        replicas: Number of replicas in sync.
        devices: Short description of the devices, e.g. `CPU` or `2 x GPU`.
        is_chief: Whether this process writes the run directory (always, but
            for the non-chief workers of a multi-worker cluster).
    """

    precision: str
    jit: bool
    strategy: tf.distribute.Strategy
    strategy_name: str
    replicas: int
    devices: str
    is_chief: bool = True


def enable_memory_growth() -> None:
    """Lets TensorFlow take GPU memory as needed instead of all of it at start."""
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # Devices already initialised: the setting is fixed by now.
            pass


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _gpu_capabilities() -> list[tuple[int, int]]:
    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capabilities.append(tuple(details.get("compute_capability", (0, 0))))
    return capabilities


def resolve_precision(requested: str) -> str:
    """Picks the precision for `auto`, or checks an explicit one.

    `auto` gives bf16 on GPUs of compute capability 8.0 or newer and on CPUs with
    AVX512-BF16/AMX, fp16 on older GPUs with tensor cores (7.0+), fp32 otherwise.

    Args:
        requested: `auto`, `fp32`, `bf16` or `fp16`.

    Returns:
        `fp32`, `bf16` or `fp16`.

    Raises:
        UsageError: fp16 asked for on a machine without a GPU.
    """
    gpus = _gpu_capabilities()
    if requested == "fp16" and not gpus:
        raise UsageError(
            "fp16 needs a GPU; on this CPU use --precision bf16 (if supported) or fp32."
        )
    if requested != "auto":
        return requested
    if gpus:
        oldest = min(gpus)
        if oldest >= (8, 0):
            return "bf16"
        return "fp16" if oldest >= (7, 0) else "fp32"
    return "bf16" if cpu_supports_bf16() else "fp32"


def set_precision(precision: str) -> None:
    """Sets Keras' global dtype policy; layers built afterwards follow it."""
    keras.mixed_precision.set_global_policy(_POLICIES[precision])


def make_strategy(requested: str) -> tuple[tf.distribute.Strategy, str]:
    """Builds the tf.distribute strategy.

    `auto` uses MirroredStrategy on all visible GPUs when there are two or more,
    else the default strategy; `multiworker` reads the cluster from `TF_CONFIG`.

    Args:
        requested: `auto`, `default`, `mirrored` or `multiworker`.

    Returns:
        The strategy and its resolved name.

    Raises:
        UsageError: `multiworker` without a valid `TF_CONFIG`.
    """
    if requested == "multiworker":
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy(), "multiworker"
    gpus = tf.config.list_logical_devices("GPU")
    if requested == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices), "mirrored"
    if requested == "auto" and len(gpus) > 1:
        return tf.distribute.MirroredStrategy(), "mirrored"
    return tf.distribute.get_strategy(), "default"


def is_chief_worker() -> bool:
    """Whether this process is the chief of a `TF_CONFIG` cluster (`chief`, else worker 0)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return True
    parsed = json.loads(raw)
    task = parsed.get("task", {})
    if "chief" in parsed.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def _check_tf_config() -> None:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UsageError(
            "--strategy multiworker needs TF_CONFIG describing the cluster and this worker's task; "
            "see tf.distribute.MultiWorkerMirroredStrategy."
        )
    try:
        parsed = json.loads(raw)
        parsed["cluster"]["worker"]
        parsed["task"]["index"]
    except (ValueError, KeyError, TypeError):
        raise UsageError(
            'TF_CONFIG must be JSON like {"cluster": {"worker": [...]}, '
            '"task": {"type": "worker", "index": 0}}.'
        ) from None


def resolve_jit(requested: str) -> bool:
    """Whether to XLA-compile the train step.

    `auto` follows Keras: XLA on GPUs, not on CPU-only machines, where it
    compiles slowly and gains little for convolutions.

    Args:
        requested: `auto`, `on` or `off`.

    Returns:
        Whether to pass `jit_compile=True` to `compile`.
    """
    if requested != "auto":
        return requested == "on"
    return bool(tf.config.list_physical_devices("GPU"))


def setup_devices(devices: DeviceSettings) -> DeviceSetup:
    """Resolves and applies precision, XLA and the strategy for a run.

    Args:
        devices: The device settings (`precision`, `jit`, `strategy`).

    Returns:
        The resolved set-up; the dtype policy is already set.
    """
    enable_memory_growth()
    resolved = resolve_precision(devices.precision)
    set_precision(resolved)
    strategy_obj, name = make_strategy(devices.strategy)
    gpus = tf.config.list_physical_devices("GPU")
    return DeviceSetup(
        precision=resolved,
        jit=resolve_jit(devices.jit),
        strategy=strategy_obj,
        strategy_name=name,
        replicas=strategy_obj.num_replicas_in_sync,
        devices=f"{len(gpus)} x GPU" if gpus else "CPU",
        is_chief=name != "multiworker" or is_chief_worker(),
    )
