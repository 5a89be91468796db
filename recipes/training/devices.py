"""Devices: mixed precision, XLA, and the strategy a run trains under.

One machine: a tf.distribute strategy (the default one, or MirroredStrategy
over its GPUs). Several: `multihost`, Keras' data parallelism on the JAX
backend (`recipes.training.multihost`); its `strategy` is the default
tf.distribute one, whose scope does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from recipes.config.schema import DeviceSettings
from recipes.data import Share
from recipes.training.multihost import describe_cluster, join_cluster
from zoo.errors import UsageError

_POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


@dataclass(frozen=True)
class DeviceSetup:
    """What a run executes on.

    Attributes:
        precision: `fp32`, `bf16` or `fp16` (resolved from `auto`).
        jit: Whether XLA compiles the train step.
        strategy: The tf.distribute strategy (the default one for one device
            and for `multihost`).
        strategy_name: `default`, `mirrored` or `multihost`.
        replicas: Number of replicas in sync.
        devices: Short description of the devices, e.g. `CPU` or `2 x GPU`.
        processes: How many processes train together (`multihost`).
        process_index: This process's id among them; only process 0 writes
            the run directory.
    """

    precision: str
    jit: bool
    strategy: tf.distribute.Strategy
    strategy_name: str
    replicas: int
    devices: str
    processes: int = 1
    process_index: int = 0

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the run directory (process 0)."""
        return self.process_index == 0

    @property
    def share(self) -> Share | None:
        """This process's share of each batch, when several processes train together."""
        return Share(self.processes, self.process_index) if self.processes > 1 else None


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


def precision_reason(precision: str) -> str:
    """Why `--precision auto` picks `precision` on this machine (for `--dry-run`)."""
    gpus = _gpu_capabilities()
    if gpus:
        return f"{precision}: the oldest GPU here has compute capability {min(gpus)}"
    if precision == "bf16":
        return "bf16: this CPU has native bfloat16 (AVX512-BF16 or AMX)"
    return "fp32: no GPU, and this CPU has no native bfloat16 (AVX512-BF16 or AMX)"


def set_precision(precision: str) -> None:
    """Sets Keras' global dtype policy; layers built afterwards follow it."""
    keras.mixed_precision.set_global_policy(_POLICIES[precision])


def make_strategy(requested: str) -> tuple[tf.distribute.Strategy, str]:
    """Builds the tf.distribute strategy of one machine.

    `auto` uses MirroredStrategy on all visible GPUs when there are two or more,
    else the default strategy.

    Args:
        requested: `auto`, `default` or `mirrored`.

    Returns:
        The strategy and its resolved name.
    """
    gpus = tf.config.list_logical_devices("GPU")
    if requested == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices), "mirrored"
    if requested == "auto" and len(gpus) > 1:
        return tf.distribute.MirroredStrategy(), "mirrored"
    return tf.distribute.get_strategy(), "default"


def resolve_jit(requested: str) -> bool:
    """Whether to XLA-compile the train step.

    `auto` follows Keras: on the TensorFlow backend, XLA on GPUs, not on
    CPU-only machines, where it compiles slowly and gains little for
    convolutions; on JAX, always (JAX runs uncompiled steps op by op).

    Args:
        requested: `auto`, `on` or `off`.

    Returns:
        Whether to pass `jit_compile=True` to `compile`.
    """
    if requested != "auto":
        return requested == "on"
    if keras.backend.backend() == "jax":
        return True
    return bool(tf.config.list_physical_devices("GPU"))


def setup_devices(devices: DeviceSettings) -> DeviceSetup:
    """Resolves and applies precision, XLA and the strategy for a run.

    With `multihost`, this is where the process joins its cluster.

    Args:
        devices: The device settings (`precision`, `jit`, `strategy`,
            `cluster_timeout`).

    Returns:
        The resolved set-up; the dtype policy is already set.

    Raises:
        UsageError: fp16 without a GPU; a bad cluster description.
        ClusterError: The cluster could not form.
    """
    enable_memory_growth()
    resolved = resolve_precision(devices.precision)
    set_precision(resolved)
    gpus = tf.config.list_physical_devices("GPU")
    described = f"{len(gpus)} x GPU" if gpus else "CPU"
    if devices.strategy == "multihost":
        cluster = describe_cluster()
        join_cluster(cluster, devices.cluster_timeout)
        return DeviceSetup(
            precision=resolved,
            jit=resolve_jit(devices.jit),
            strategy=tf.distribute.get_strategy(),
            strategy_name="multihost",
            replicas=len(keras.distribution.list_devices()),
            devices=f"{described} x {cluster.processes} processes",
            processes=cluster.processes,
            process_index=cluster.index,
        )
    strategy_obj, name = make_strategy(devices.strategy)
    return DeviceSetup(
        precision=resolved,
        jit=resolve_jit(devices.jit),
        strategy=strategy_obj,
        strategy_name=name,
        replicas=strategy_obj.num_replicas_in_sync,
        devices=described,
    )
