"""Image headers: the format and size of a JPEG, PNG, GIF or BMP file from its first bytes.

Much cheaper than opening the file with Pillow, so every file can be checked
(pixel limit, palette BMP) before the decoder sees it.
"""

from __future__ import annotations

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
        OSError: The file cannot be read.
    """
    with open(path, "rb", buffering=0) as handle:
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


_HEAD_BYTES = 4096


def _jpeg_size(data: bytes, handle: Any) -> tuple[int, int]:
    """`(height, width)` from a JPEG's start-of-frame segment, or `(0, 0)`.

    `data` holds the file's first bytes; more are read from `handle` when the
    segments before the frame header (EXIF thumbnails, ...) are longer.
    """
    position = 2
    while True:
        if position + 9 > len(data):
            more = handle.read(max(_HEAD_BYTES, position + 9 - len(data)))
            if not more:
                return 0, 0
            data += more
            continue
        if data[position] != 0xFF:  # junk between segments: look for the next marker
            position += 1
            continue
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # segments without a length
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return 0, 0
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return height, width
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        position += 2 + length


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
