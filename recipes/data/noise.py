"""Keeping what C libraries print to the terminal off the user's output.

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
