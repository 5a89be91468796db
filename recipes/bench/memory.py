"""Peak memory of the benchmarking process: host (resident set) and GPU."""

from __future__ import annotations

import resource
import sys

import tensorflow as tf


def gpu_peak_bytes(reset: bool = False) -> int | None:
    """Peak bytes on GPU:0 since the last reset (or `None` without a GPU)."""
    if not tf.config.list_physical_devices("GPU"):
        return None
    try:
        if reset:
            tf.config.experimental.reset_memory_stats("GPU:0")
            return None
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    except (ValueError, RuntimeError):
        return None


def peak_rss_bytes() -> int:
    """The process's peak resident memory so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux
