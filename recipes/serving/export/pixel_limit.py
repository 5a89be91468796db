"""Graph ops: an encoded image's pixel count read from its header, checked before decoding.

A 389 KB PNG can announce 20000x20000 pixels, and a GIF with a 1x1 logical
screen can hold a 20000x20000 frame; the decoders allocate whatever the header
says. The exported `serving_default` signature runs these ops on every image
first, so TensorFlow Serving refuses such images as `zoo serve` does, before
any memory is spent on them.

The count is the one `recipes.data.headers.Header.pixels` gives: width x
height, and for a GIF the widest and tallest extent over the screen and every
frame, times the number of frames (TensorFlow decodes every frame).
"""

from __future__ import annotations

from typing import Any

# A GIF's blocks (extensions and frames) and their data sub-blocks (up to 255
# bytes each) are walked one per loop step; past these counts (a few thousand
# frames, 16 MB of pixel data) the image is refused rather than walked further.
MAX_GIF_BLOCKS = 4096
MAX_GIF_SUB_BLOCKS = 65_536
_PAD = 16  # zero bytes appended so that every header field can be read


def checked_pixels(contents: Any, max_pixels: int) -> Any:
    """Passes `contents` through once its header's pixel count is within `max_pixels`.

    Args:
        contents: A scalar `tf.string` tensor with an encoded JPEG, PNG, GIF or
            BMP (other bytes pass; the format check refuses them).
        max_pixels: The largest pixel count accepted.

    Returns:
        `contents`, with the check as a control dependency.

    Raises:
        tf.errors.InvalidArgumentError: Too many pixels (when the ops run).
    """
    import tensorflow as tf

    width, height, frames, walked = header_size(contents)
    checks = [
        tf.debugging.Assert(
            walked,
            [
                f"a GIF of more than {MAX_GIF_BLOCKS} blocks or {MAX_GIF_SUB_BLOCKS} data "
                "sub-blocks; convert it to PNG or JPEG"
            ],
            name="gif_blocks",
        ),
        tf.debugging.Assert(
            width * height * frames <= max_pixels,
            [
                tf.strings.format(
                    "an image of {}x{} pixels ({} frames) exceeds the limit of {} pixels",
                    (width, height, frames, max_pixels),
                )
            ],
            name="pixel_limit",
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(contents)


def header_size(contents: Any) -> tuple[Any, Any, Any, Any]:
    """`(width, height, frames, walked)` from an encoded image's header.

    JPEG sizes come from `tf.image.extract_jpeg_shape` (which reads the header
    only), PNG and BMP from their fixed header fields, GIF from a walk over its
    blocks. Other bytes give `(0, 0, 1, True)`. The first three are int64
    scalars; `walked` is a bool, false for a GIF with more blocks than the
    walk takes (its size is then unknown).
    """
    import tensorflow as tf

    padded = contents + b"\0" * _PAD
    data = tf.cast(tf.io.decode_raw(padded, tf.uint8), tf.int64)

    def u16_le(at: int) -> Any:
        return data[at] + 256 * data[at + 1]

    def u32(at: int, little_endian: bool) -> Any:
        order = (0, 1, 2, 3) if little_endian else (3, 2, 1, 0)
        return sum(data[at + byte] * 256**shift for shift, byte in enumerate(order))

    one, walked = tf.constant(1, tf.int64), tf.constant(True)

    def jpeg() -> tuple[Any, Any, Any, Any]:
        shape = tf.cast(tf.image.extract_jpeg_shape(contents), tf.int64)
        return shape[1], shape[0], one, walked

    def png() -> tuple[Any, Any, Any, Any]:
        return u32(16, False), u32(20, False), one, walked

    def bmp() -> tuple[Any, Any, Any, Any]:
        core = u32(14, True) == 12  # OS/2 core header: 16-bit fields
        width = tf.where(core, u16_le(18), _abs_int32(u32(18, True)))
        height = tf.where(core, u16_le(20), _abs_int32(u32(22, True)))
        return width, height, one, walked

    def unknown() -> tuple[Any, Any, Any, Any]:
        zero = tf.constant(0, tf.int64)
        return zero, zero, one, walked

    start = tf.strings.substr(padded, 0, 8)
    kind = tf.case(
        [
            (tf.equal(tf.strings.substr(start, 0, 3), b"\xff\xd8\xff"), lambda: 0),
            (tf.equal(start, b"\x89PNG\r\n\x1a\n"), lambda: 1),
            (tf.equal(tf.strings.substr(start, 0, 4), b"GIF8"), lambda: 2),
            (tf.equal(tf.strings.substr(start, 0, 2), b"BM"), lambda: 3),
        ],
        default=lambda: 4,
    )
    length = tf.size(data, out_type=tf.int64) - _PAD
    return tf.switch_case(kind, [jpeg, png, lambda: _gif_size(data, length), bmp, unknown])


def _abs_int32(value: Any) -> Any:
    """The absolute value of an unsigned 32-bit field read as a signed one."""
    import tensorflow as tf

    return tf.where(value >= 2**31, 2**32 - value, value)


def _gif_size(data: Any, length: Any) -> tuple[Any, Any, Any, Any]:
    """`(width, height, frames, walked)` of a GIF: its logical screen and every frame.

    One loop step per block or data sub-block; a file cut short ends the walk.
    `walked` is false when the walk stopped at `MAX_GIF_BLOCKS` or
    `MAX_GIF_SUB_BLOCKS`.

    Args:
        data: The file's bytes as int64, followed by `_PAD` zeros.
        length: The file's length in bytes.
    """
    import tensorflow as tf

    def at(position: Any) -> Any:
        return tf.gather(data, tf.minimum(tf.cast(position, tf.int64), length + _PAD - 1))

    def u16(position: Any) -> Any:
        return at(position) + 256 * at(position + 1)

    def table(flags: Any) -> Any:  # a colour table's length, when the flags announce one
        return tf.where(
            flags >= 0x80, 3 * tf.bitwise.left_shift(tf.constant(2, tf.int64), flags % 8), 0
        )

    def skip_sub_blocks(position: Any, count: Any) -> tuple[Any, Any]:
        # The tightest loop: one step per sub-block of a frame's pixel data.
        position, count = tf.while_loop(
            lambda position, count: (position < length) & (at(position) != 0),
            lambda position, count: (position + 1 + at(position), count + 1),
            (position, count),
            maximum_iterations=MAX_GIF_SUB_BLOCKS,
        )
        return position + 1, count

    def block(position, width, height, frames, blocks, sub_blocks, done):  # noqa: ANN001, ANN202
        byte = at(position)
        frame = (byte == 0x2C) & (position + 10 <= length)
        extension = byte == 0x21
        done = ~(extension | frame)  # the trailer, or anything else
        data_start = tf.where(
            extension, position + 2, position + 10 + table(at(position + 9)) + 1
        )  # after the label, or after the descriptor, its colour table and LZW code size
        after, sub_blocks = skip_sub_blocks(tf.where(done, length, data_start), sub_blocks)
        return (
            after,
            tf.where(frame, tf.maximum(width, u16(position + 1) + u16(position + 5)), width),
            tf.where(frame, tf.maximum(height, u16(position + 3) + u16(position + 7)), height),
            frames + tf.cast(frame, tf.int64),
            blocks + 1,
            sub_blocks,
            done,
        )

    def within_caps(blocks: Any, sub_blocks: Any) -> Any:
        return (blocks < MAX_GIF_BLOCKS) & (sub_blocks < MAX_GIF_SUB_BLOCKS)

    zero, false = tf.constant(0, tf.int64), tf.constant(False)
    position, width, height, frames, blocks, sub_blocks, done = tf.while_loop(
        lambda position, _, __, ___, blocks, sub_blocks, done: (
            (position < length) & ~done & within_caps(blocks, sub_blocks)
        ),
        block,
        (13 + table(at(10)), u16(6), u16(8), zero, zero, zero, false),
    )
    walked = done | ((position >= length) & within_caps(blocks, sub_blocks))
    return width, height, tf.maximum(frames, 1), walked
