"""Image headers: the format and size of a JPEG, PNG, GIF or BMP file from its first bytes.

Much cheaper than opening the file with Pillow, so every file can be checked
(pixel limit, palette BMP) before the decoder sees it.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import struct
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Header:
    """What the first bytes of an image file say.

    Attributes:
        format: `JPEG`, `PNG`, `GIF` or `BMP`.
        width: Width in pixels (0 when the header does not say).
        height: Height in pixels (0 when the header does not say).
        bits: Bits per pixel for BMP (TensorFlow misreads fewer than 24), else 0.
        frames: Frames of a GIF (TensorFlow decodes every one), else 1.

    For a GIF the size covers every frame: a frame may reach beyond the
    logical screen its header announces, and decoders size the image by it.
    """

    format: str
    width: int
    height: int
    bits: int = 0
    frames: int = 1

    @property
    def pixels(self) -> int:
        """Pixels a decoder allocates: width x height, for each frame of a GIF."""
        return self.width * self.height * max(1, self.frames)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers (baseline, progressive, lossless, ...): not DHT, JPG or DAC.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def read_header(path: str) -> Header | None:
    """Reads the format and size of a JPEG, PNG, GIF or BMP file from its header.

    Much cheaper than opening the file with Pillow, so every file can be
    checked (pixel limit, palette BMP) before the decoder sees it.

    Args:
        path: The file.

    Returns:
        The header, or `None` when the file does not start like one of the four
        formats (empty, another format, or not an image).

    Raises:
        OSError: The file cannot be read, or is not a regular file (a FIFO,
            socket or device, which is never read).
    """
    with open_regular(path) as handle:
        return _header_from_stream(handle)


def header_from_bytes(data: bytes) -> Header | None:
    """`read_header` for an image held in memory (a request's image bytes)."""
    return _header_from_stream(io.BytesIO(data))


def _header_from_stream(handle: Any) -> Header | None:
    """The header of the image a binary stream holds from its start (see `read_header`)."""
    head = handle.read(_HEAD_BYTES)
    if head[:3] == b"\xff\xd8\xff":
        height, width = _jpeg_size(head, handle)
        return Header("JPEG", width, height)
    if head[:4] == b"GIF8" and len(head) >= 13:
        return _gif_header(head + handle.read())
    if head[:8] == PNG_SIGNATURE and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return Header("PNG", width, height)
    if head[:2] == b"BM" and len(head) >= 30:
        if struct.unpack("<I", head[14:18])[0] == 12:  # OS/2 core header: 16-bit fields
            width, height, _, bits = struct.unpack("<HHHH", head[18:26])
        else:
            width, height = struct.unpack("<ii", head[18:26])
            bits = struct.unpack("<H", head[28:30])[0]
        return Header("BMP", abs(width), abs(height), bits)
    return None


def open_regular(path: str) -> Any:
    """Opens a file for reading, unbuffered, only when it is a regular file (links followed).

    The check is made on the opened file, so a FIFO put in place of an image
    after the folder was listed cannot make a read wait forever.

    Raises:
        OSError: The file cannot be opened, or is not a regular file.
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        os.set_blocking(descriptor, True)
        return open(descriptor, "rb", buffering=0)
    except BaseException:
        os.close(descriptor)
        raise


_HEAD_BYTES = 4096
_BLOCK_BYTES = 1 << 16
_JPEG_SCAN_BYTES = 4 << 20
"""Most bytes of a JPEG read looking for its frame header.

Long segments are skipped by their length without being read, so mostly junk
between segments counts; a real JPEG's frame header comes within a few
kilobytes read.
"""
_JPEG_SCAN_STEPS = 1 << 16
"""Most markers and junk runs looked at: a real JPEG has a few dozen segments before its frame."""
_FILL = re.compile(rb"\xff+")


def _jpeg_size(head: bytes, handle: Any) -> tuple[int, int]:
    """`(height, width)` from a JPEG's start-of-frame segment, or `(0, 0)` when unknown.

    `head` holds the file's first bytes; the segments before the frame header
    (EXIF thumbnails, ...) are skipped with `seek`, junk between segments is
    searched for the next marker in blocks, and the search gives up after
    `_JPEG_SCAN_BYTES` read or `_JPEG_SCAN_STEPS` markers, so a file of junk
    costs little whatever its size.
    """
    window, start = head, 0  # `window` holds the file's bytes from offset `start`
    position, read = 2, len(head)
    for _ in range(_JPEG_SCAN_STEPS):
        offset = position - start
        if offset + 9 > len(window):
            if read >= _JPEG_SCAN_BYTES:
                return 0, 0
            block = _BLOCK_BYTES
            if offset > len(window):  # a segment longer than what is read: skip it unread
                handle.seek(position)
                window, offset, block = b"", 0, _HEAD_BYTES  # the next segment's header
            window, start = window[offset:], position  # keeps under 9 bytes
            more = handle.read(block)
            if not more:
                return 0, 0
            window += more
            read += len(more)
            continue
        if window[offset] != 0xFF:  # junk between segments: look for the next marker
            found = window.find(b"\xff", offset)
            position = start + (found if found >= 0 else len(window))
            continue
        fill_end = _FILL.match(window, offset).end()
        if fill_end > offset + 1:  # fill bytes: the marker follows the last 0xFF
            position = start + fill_end - 1
            continue
        marker = window[offset + 1]
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # segments without a length
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return 0, 0
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", window[offset + 5 : offset + 9])
            return height, width
        length = struct.unpack(">H", window[offset + 2 : offset + 4])[0]
        position += 2 + length
    return 0, 0


def _gif_header(data: bytes) -> Header:
    """A GIF's size over its logical screen and every frame, and its frame count.

    Walks the blocks (extensions, image descriptors and their data sub-blocks)
    without decoding any pixels; a file cut short ends the walk.
    """
    width, height, flags = struct.unpack("<HHB", data[6:11])
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while position < len(data):
        block = data[position]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            position = _skip_sub_blocks(data, position + 2)
        elif block == 0x2C and position + 10 <= len(data):  # image descriptor
            left, top, frame_width, frame_height, local = struct.unpack(
                "<HHHHB", data[position + 1 : position + 10]
            )
            width, height = max(width, left + frame_width), max(height, top + frame_height)
            frames += 1
            position += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            position = _skip_sub_blocks(data, position + 1)  # after the LZW code size
        else:
            break
    return Header("GIF", width, height, frames=max(1, frames))


def _skip_sub_blocks(data: bytes, position: int) -> int:
    """The position after a chain of data sub-blocks (size byte, data; ends with 0)."""
    while position < len(data):
        size = data[position]
        position += 1 + size
        if size == 0:
            break
    return position
