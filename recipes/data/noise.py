"""Keeping what C libraries and chatty loggers print off the user's output.

libjpeg, libpng and TensorFlow's C++ core write straight to file descriptor 2,
below Python and any logging setting: a truncated JPEG in a data check prints
"Improper call to JPEG library in state 201". `filtered_stderr` captures the
descriptor for a block and writes back only the lines that are not such noise;
`live_filtered_stderr` passes the other lines on as they come, for blocks that
run for minutes and show progress (training, serving).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator

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

DECODER_WARNINGS = re.compile(
    r"^(Corrupt JPEG data|Premature end of JPEG file|Invalid SOS parameters"
    r"|Unsupported marker type|Bogus marker length|Warning: unknown JFIF|libpng warning)"
)
"""What libjpeg and libpng print for files they still decode (an extra byte, a cut tail)."""

TFLITE_CHATTER = re.compile(r"^INFO: (Created TensorFlow Lite|Initialized TensorFlow Lite)")
"""The TFLite interpreter's notice of its CPU delegate (XNNPACK) and runtime."""

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


@contextlib.contextmanager
def live_filtered_stderr(
    noise: re.Pattern[str], unless: Callable[[], bool] = lambda: False
) -> Iterator[None]:
    """Within the block, lines written to file descriptor 2 that match `noise` are dropped.

    Unlike `filtered_stderr`, every other line goes on at once: descriptor 2
    is a pipe that a thread reads and copies to the real stderr. A progress
    bar's line without its end is passed on after a moment's quiet.

    Args:
        noise: Lines that match are dropped.
        unless: Asked for each noisy line; when it says `True` the line is
            kept (e.g. once `--debug` is known).

    Yields:
        Nothing; the block runs with descriptor 2 filtered.
    """
    if os.name != "posix":  # `select` on pipes is POSIX-only; the noise is harmless
        yield
        return
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    saved = os.dup(2)
    forward = threading.Thread(
        target=_forward_lines,
        args=(read_end, os.dup(saved), noise, unless),
        name="stderr-filter",
        daemon=True,
    )
    forward.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end here: the thread reads its end
        os.close(saved)
        # A child process still holding the pipe keeps the thread alive; it forwards on.
        forward.join(timeout=2)


_QUIET_SECONDS = 0.05
"""How long an unfinished line waits for its end before it is passed on as it is."""


def _forward_lines(
    read_fd: int, out_fd: int, noise: re.Pattern[str], unless: Callable[[], bool]
) -> None:
    """Copies the pipe to `out_fd` line by line (a line ends at LF or CR), dropping noise."""
    lost = False  # the real stderr is gone: the pipe is still drained, or writers would block

    def write(piece: bytes) -> None:
        nonlocal lost
        line = piece.decode(errors="replace").strip("\r\n")
        if lost or (noise.match(line) and not unless()):
            return
        try:
            while piece:  # a terminal or pipe may take less than all at once
                piece = piece[os.write(out_fd, piece) :]
        except OSError:
            lost = True

    pending = b""
    try:
        while True:
            if pending and not select.select([read_fd], [], [], _QUIET_SECONDS)[0]:
                write(pending)
                pending = b""
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            *lines, pending = re.split(rb"(?<=[\r\n])", pending + chunk)
            for line in lines:
                write(line)
        if pending:
            write(pending)
    finally:
        os.close(read_fd)
        os.close(out_fd)


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
