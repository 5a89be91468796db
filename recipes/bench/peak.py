"""The machine's matrix-multiply peak, measured in the run that uses it.

Model FLOP utilisation divides a model's achieved FLOP/s by what the same
device reaches on its best case, a large square `tf.matmul`, in the same
precision. The size adapts to the device: a small probe estimates its speed,
then the largest power-of-two side whose product takes at most
`target_seconds` is used. A benchmark calls `measure` between its timed
rounds, so that other load on the machine weighs on the peak as on the model,
and the best product of all calls counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import tensorflow as tf

DTYPES = {"fp32": tf.float32, "bf16": tf.bfloat16, "fp16": tf.float16}
"""The matmul dtype of each precision (mixed precision computes in the low one)."""

_PROBE_SIZE = 512
_MIN_SIZE = 256
_MAX_SIZE = 8192


def _timer(size: int, dtype: tf.DType) -> Callable[[], float]:
    """A function that multiplies two `size` x `size` matrices once and returns the seconds."""
    generator = tf.random.Generator.from_seed(0)
    a = tf.cast(generator.normal((size, size)), dtype)
    b = tf.cast(generator.normal((size, size)), dtype)
    # The sum makes the result one number: reading it waits for the product
    # (GPUs run asynchronously) without copying a large matrix back.
    product = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)), autograph=False)
    product(a, b).numpy()  # trace and warm up

    def timed() -> float:
        start = time.perf_counter()
        product(a, b).numpy()
        return time.perf_counter() - start

    return timed


class MatmulPeak:
    """The best matmul FLOP/s of the first device TensorFlow places on, in one precision.

    Args:
        precision: `fp32`, `bf16` or `fp16`.
        repeats: Timed products per `measure` call.
        target_seconds: Longest wanted time of one product (keeps a call to
            about a second on a slow CPU).
    """

    def __init__(self, precision: str, repeats: int = 5, target_seconds: float = 0.1) -> None:
        self.dtype = DTYPES[precision]
        self.repeats = repeats
        self.calls = 0
        self.best = float("inf")
        probe = _timer(_PROBE_SIZE, self.dtype)
        rate = 2 * _PROBE_SIZE**3 / min(probe(), probe())
        size = _MIN_SIZE
        while size < _MAX_SIZE and 2 * (2 * size) ** 3 / rate <= target_seconds:
            size *= 2
        self.size = size
        self._timed = probe if size == _PROBE_SIZE else _timer(size, self.dtype)

    def measure(self) -> None:
        """Times `repeats` more products; the fastest of all calls counts."""
        self.calls += 1
        self.best = min(self.best, *(self._timed() for _ in range(self.repeats)))

    def report(self) -> dict[str, Any]:
        """The peak and how it was measured.

        Returns:
            `flops_per_second` (2 N^3 over the best time), `size`, `dtype`,
            `repeats`, `best_of`, `warmup_calls`, `best_seconds`, `method`, and
            on GPUs whether TensorFloat-32 was on (what fp32 runs there).
        """
        if not self.calls:
            self.measure()
        best_of = self.calls * self.repeats
        name = self.dtype.name
        report: dict[str, Any] = {
            "flops_per_second": float(f"{2 * self.size**3 / self.best:.4g}"),
            "size": self.size,
            "dtype": name,
            "repeats": self.repeats,
            "best_of": best_of,
            "warmup_calls": 1,
            "best_seconds": round(self.best, 6),
            "method": (
                f"tf.matmul of two {self.size}x{self.size} {name} matrices in a tf.function "
                f"(2*N^3 FLOPs), best of {best_of} ({self.calls} x {self.repeats}) "
                "after a warm-up call"
            ),
        }
        if tf.config.list_physical_devices("GPU"):
            report["tensor_float_32"] = tf.config.experimental.tensor_float_32_execution_enabled()
        return report


def matmul_peak(precision: str, repeats: int = 5) -> dict[str, Any]:
    """Measures the matmul peak once (see `MatmulPeak`).

    Args:
        precision: `fp32`, `bf16` or `fp16`.
        repeats: Timed products; the fastest counts.

    Returns:
        `MatmulPeak.report()`.
    """
    peak = MatmulPeak(precision, repeats)
    peak.measure()
    return peak.report()
