"""Keeps TensorFlow's start-up chatter off the user's terminal.

TensorFlow's C++ core writes INFO lines (oneDNN, CUDA probing) straight to file
descriptor 2 while it loads, before any logging setting applies. The import is
done once with descriptor 2 filtered (`recipes.data.noise.filtered_stderr`):
everything but those lines reaches stderr.
"""

from __future__ import annotations

import os
import re
import sys

_CHATTER = re.compile(
    r"^(I\d{4} |WARNING: All log messages before absl::InitializeLog"
    r"|E\d{4} .*(cuInit|cuda_platform))"
)


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow (and Keras) with the start-up INFO lines dropped."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from recipes.data.noise import filtered_stderr

    with filtered_stderr(_CHATTER):
        import keras  # noqa: F401
        import tensorflow

        # Probing for GPUs logs a CUDA error on machines without one.
        tensorflow.config.list_physical_devices("GPU")
