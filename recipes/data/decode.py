"""The one image decoder: encoded bytes to resized pixels, in TensorFlow graph ops.

Training, evaluation, prediction, export and `zoo data check` all decode with
`decode_and_resize`, so what the check accepts is exactly what training reads.
JPEG, PNG, GIF (first frame) and BMP; every image becomes `channels` channels:

- grayscale (1 channel) is repeated into RGB; RGB becomes grayscale with the
  ITU-R 601 weights (`tf.image.rgb_to_grayscale`) when the model wants 1 channel;
- palette PNG/GIF images are expanded through their palette;
- an alpha channel is dropped (the stored colour of each pixel is kept, as
  `keras.utils.image_dataset_from_directory` does), it is not composited;
- CMYK and YCCK JPEGs are converted to RGB by TensorFlow's JPEG decoder;
- 16-bit PNGs are scaled to 8 bits;
- EXIF orientation is not applied (neither does Keras), so the pixels are used
  as stored.

Resizing stretches the image to its size (no crop, no padding) with the chosen
`tf.image.resize` method and no anti-aliasing, as Keras' loader does; `area`
gives an anti-aliased downscale. Files TensorFlow misreads or cannot read are
normalised with Pillow first (`recipes.data.files`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from recipes.config.files import quoted
from recipes.config.schema import INTERPOLATIONS
from recipes.data.headers import PNG_SIGNATURE
from zoo.errors import UsageError

_NO_OVERSHOOT = ("bilinear", "nearest", "area")  # convex combinations of the input pixels


def check_image_args(input_size: Any, channels: int, interpolation: str) -> tuple[int, int]:
    """Validates the decoder's settings.

    Args:
        input_size: `(height, width)`, or one int for a square.
        channels: 1 (grayscale) or 3 (RGB).
        interpolation: One of `INTERPOLATIONS`.

    Returns:
        `(height, width)` as ints.

    Raises:
        UsageError: A value is out of range.
    """
    if isinstance(input_size, int):
        input_size = (input_size, input_size)
    try:
        height, width = (int(side) for side in input_size)
    except (TypeError, ValueError):
        raise UsageError(
            f"input_size must be (height, width). Received: input_size={quoted(input_size)}"
        ) from None
    if height < 1 or width < 1:
        raise UsageError(
            "input_size must be positive (height, width). "
            f"Received: input_size={quoted(input_size)}"
        )
    if channels not in (1, 3):
        raise UsageError(f"channels must be 1 or 3. Received: channels={quoted(channels)}")
    if interpolation not in INTERPOLATIONS:
        raise UsageError(
            f"Unknown interpolation {quoted(interpolation)}; choose one of "
            f"{', '.join(INTERPOLATIONS)}."
        )
    return height, width


def decode_image(contents: Any) -> Any:
    """Decodes encoded image bytes to an RGB `uint8` tensor `[h, w, 3]`.

    Pure TensorFlow ops. JPEG, PNG, GIF (first frame) and BMP; see the module
    docstring for what happens to grayscale, palette, alpha, CMYK and 16 bits.

    Args:
        contents: A scalar `tf.string` tensor with the file's bytes.

    Returns:
        A `uint8` tensor of shape `[height, width, 3]`.
    """
    import tensorflow as tf

    # channels=3 is the one setting every format's decoder accepts (GIF and BMP
    # refuse 1); grayscale models convert afterwards.
    return tf.io.decode_image(contents, channels=3, dtype=tf.uint8, expand_animations=False)


def check_encoded(contents: Any) -> Any:
    """Graph ops: passes bytes through only if the decoder reads them as training does.

    Training reads JPEG, PNG, GIF and BMP, and normalises BMPs of fewer than 24
    bits with Pillow first (TensorFlow misreads them); graph-only paths (an
    exported signature) cannot, so they refuse those, and every other format
    `tf.io.decode_image` would also take (WebP, ...).

    Args:
        contents: A scalar `tf.string` tensor with the file's bytes.

    Returns:
        `contents`, once the checks have passed.

    Raises:
        tf.errors.InvalidArgumentError: The bytes are of another format, or a
            BMP of fewer than 24 bits (when the ops run).
    """
    import tensorflow as tf

    padded = contents + b"\0" * 32  # short inputs still have every header field
    jpeg = tf.equal(tf.strings.substr(padded, 0, 3), b"\xff\xd8\xff")
    png = tf.equal(tf.strings.substr(padded, 0, 8), PNG_SIGNATURE)
    gif = tf.equal(tf.strings.substr(padded, 0, 4), b"GIF8")
    bmp = tf.equal(tf.strings.substr(padded, 0, 2), b"BM")
    core_header = tf.equal(tf.strings.substr(padded, 14, 4), struct.pack("<I", 12))
    bits_field = tf.strings.substr(padded, tf.where(core_header, 24, 28), 2)
    bits = tf.io.decode_raw(bits_field, tf.uint16, little_endian=True)[0]
    checks = [
        tf.debugging.Assert(
            jpeg | png | gif | bmp, ["not a JPEG, PNG, GIF or BMP image"], name="format"
        ),
        tf.debugging.Assert(
            tf.logical_not(bmp) | (bits >= 24),
            ["a BMP of fewer than 24 bits per pixel; convert it to PNG or JPEG"],
            name="bmp_bits",
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(contents)


def resize_image(
    image: Any, input_size: tuple[int, int], channels: int, interpolation: str = "bilinear"
) -> Any:
    """Resizes a decoded image and converts it to `channels` channels.

    Pure TensorFlow ops; used after `decode_image`, and for images that arrive
    decoded (some tensorflow-datasets features).

    Args:
        image: `[h, w, c]` tensor, any real or integer dtype in 0..255, with
            `c` in 1..4 known statically (alpha is dropped).
        input_size: `(height, width)` of the result.
        channels: 1 or 3.
        interpolation: One of `INTERPOLATIONS`.

    Returns:
        A `float32` tensor `[height, width, channels]` with values in 0..255.
    """
    import tensorflow as tf

    height, width = check_image_args(input_size, channels, interpolation)
    image = tf.convert_to_tensor(image)
    if image.dtype != tf.uint8:
        image = tf.cast(image, tf.float32)
    source_channels = image.shape[-1]
    if source_channels == 4:
        image = image[..., :3]
    elif source_channels == 2:
        image = image[..., :1]
    # `nearest` keeps the input dtype; the others return float32.
    image = tf.cast(tf.image.resize(image, (height, width), method=interpolation), tf.float32)
    if channels == 1 and image.shape[-1] == 3:
        image = tf.image.rgb_to_grayscale(image)
    elif channels == 3 and image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    if interpolation not in _NO_OVERSHOOT:  # Bicubic, Lanczos, ... overshoot: keep 0..255
        image = tf.clip_by_value(image, 0.0, 255.0)
    return tf.ensure_shape(image, (height, width, channels))


def decode_and_resize(
    contents: Any,
    input_size: tuple[int, int],
    channels: int,
    interpolation: str = "bilinear",
) -> Any:
    """THE decoder: encoded bytes to a `float32` image in 0..255.

    Pure TensorFlow graph ops, usable in `tf.data`, `tf.function` and SavedModel
    signatures. Training, evaluation, prediction, export and `zoo data check`
    all use it.

    Args:
        contents: Scalar `tf.string` tensor: a JPEG, PNG, GIF or BMP file's bytes.
        input_size: `(height, width)` of the result.
        channels: 1 (grayscale) or 3 (RGB).
        interpolation: Resize method, one of `INTERPOLATIONS`.

    Returns:
        A `float32` tensor `[height, width, channels]` with values in 0..255.

    Raises:
        UsageError: Bad `input_size`, `channels` or `interpolation` (when called).
        tf.errors.InvalidArgumentError: The bytes are not a decodable image
            (when the ops run).
    """
    return decode_and_measure(contents, input_size, channels, interpolation)[0]


def decode_and_measure(
    contents: Any,
    input_size: tuple[int, int],
    channels: int,
    interpolation: str = "bilinear",
) -> tuple[Any, Any]:
    """`decode_and_resize`, also returning the decoded image's size.

    The data pipelines and `zoo data check` call this form to record image
    sizes; the image is computed by the very same ops. The arguments are
    `decode_and_resize`'s.

    Returns:
        `(image, size)`: the `float32 [height, width, channels]` image in
        0..255, and the decoded `(height, width)` as an `int32 [2]` tensor.
    """
    import tensorflow as tf

    check_image_args(input_size, channels, interpolation)
    decoded = decode_image(contents)
    size = tf.shape(decoded, out_type=tf.int32)[:2]
    return resize_image(decoded, input_size, channels, interpolation), size


def uint8_decoder(
    input_size: tuple[int, int], channels: int, interpolation: str
) -> Callable[[Any], tuple[Any, Any]]:
    """The decoder as the pipelines store images: bytes -> (`uint8` image, decoded size).

    Args:
        input_size: `(height, width)` of the images.
        channels: 1 or 3.
        interpolation: The resize method.

    Returns:
        `decode(contents) -> (image, size)`, graph ops.
    """
    import tensorflow as tf

    def decode(contents: Any) -> tuple[Any, Any]:
        image, size = decode_and_measure(contents, input_size, channels, interpolation)
        # Values are already clipped to 0..255; rounding keeps the uint8 cache unbiased.
        return tf.cast(tf.round(image), tf.uint8), size

    return decode
