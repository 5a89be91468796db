"""Keeping what C libraries and chatty loggers print off the user's output.

libjpeg, libpng and TensorFlow's C++ core write straight to file descriptor 2,
below Python and any logging setting: a truncated JPEG in a data check prints
"Improper call to JPEG library in state 201". `filtered_stderr` captures the
descriptor for a block and writes back only the lines that are not such noise.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

C_LIBRARY_NOISE = re.compile(
    r"^(Corrupt JPEG data|Premature end of JPEG|Improper call to JPEG library"
    r"|Invalid SOS parameters|Not a JPEG file|Unsupported marker type|Bogus marker length"
    r"|JPEG datastream contains no image|Warning: unknown JFIF|Quantization table"
    r"|Huffman table|Bogus (Huffman|DQT|DHT|DAC)|Unsupported JPEG process|Wrong JPEG library"
    r"|Input file read error|Premature end of (data|file)"
    r"|libpng (warning|error)|.*decode_(image|jpeg|png|gif|bmp).*"
    r"|[IWE]\d{4} \d\d:\d\d:\d\d)"
)
"""Lines the image libraries and TensorFlow's core print while decoding broken files."""

TENSORFLOW_CHATTER = re.compile(
    r"^(I\d{4} |WARNING: All log messages before absl::InitializeLog"
    r"|E\d{4} .*(cuInit|cuda_platform))"
)
"""The INFO lines (oneDNN, CUDA probing) TensorFlow's core prints while it loads."""


@contextlib.contextmanager
def filtered_stderr(noise: re.Pattern[str]) -> Iterator[None]:
    """Within the block, file descriptor 2 is captured; afterwards all but `noise` is written back.

    Args:
        noise: Lines that match are dropped.

    Yields:
        Nothing; the block runs with descriptor 2 captured.
    """
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines():
                if not noise.match(line):
                    print(line, file=sys.stderr)


def quiet_c_libraries() -> contextlib.AbstractContextManager[None]:
    """`filtered_stderr` for image decoding: drops `C_LIBRARY_NOISE`."""
    return filtered_stderr(C_LIBRARY_NOISE)


@contextlib.contextmanager
def quiet_loggers(*names: str) -> Iterator[None]:
    """Within the block, Python loggers (`tensorflow`, `tf2onnx`, ...) say only errors.

    Their warnings about what the caller knows to be harmless (a search's
    retracing of each trial's new model, converters' progress) stay off the
    terminal; errors still show.

    Args:
        *names: The loggers.

    Yields:
        Nothing.
    """
    import logging

    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow (and Keras) with its start-up chatter dropped from stderr."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr(TENSORFLOW_CHATTER):
        import keras  # noqa: F401
        import tensorflow

        # Probing for GPUs logs a CUDA error on machines without one.
        tensorflow.config.list_physical_devices("GPU")
