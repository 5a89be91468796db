"""Image files: the one decoder, and the checks that decide which files it gets.

Training, evaluation, prediction, export and `zoo data check` all decode with
`decode_and_resize`, so what the check accepts is exactly what training reads.

Supported files are JPEG, PNG, GIF (first frame) and BMP, recognised by their
extension in any case (`.jpg .jpeg .png .gif .bmp`); the content must be one of
those formats too. Every image becomes `channels` channels:

- grayscale (1 channel) is repeated into RGB; RGB becomes grayscale with the
  ITU-R 601 weights (`tf.image.rgb_to_grayscale`) when the model wants 1 channel;
- palette PNG/GIF images are expanded through their palette;
- an alpha channel is dropped (the stored colour of each pixel is kept, as
  `keras.utils.image_dataset_from_directory` does), it is not composited;
- CMYK and YCCK JPEGs are converted to RGB by TensorFlow's JPEG decoder;
- 16-bit PNGs are scaled to 8 bits;
- EXIF orientation is not applied (neither does Keras), so the pixels are used
  as stored.

TensorFlow's BMP decoder misreads palette BMPs (it takes palette indices for
grey levels) and cannot read 1-, 4- or 16-bit or RLE-compressed BMPs. Such a
file, and any other file of a supported type that TensorFlow cannot decode but
Pillow can, is *normalised*: Pillow decodes it, converts it to RGB and encodes
it as PNG in memory, and the PNG goes through `decode_and_resize` like every
other file (`read_image_bytes` does this for a single file). Files Pillow cannot
fully decode either are reported as corrupt or truncated.

Resizing stretches the image to `image_size` (no crop, no padding) with the
chosen `tf.image.resize` method and no anti-aliasing, as Keras' loader does;
`area` gives an anti-aliased downscale.
"""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from zoo.errors import UsageError

SUPPORTED_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp")
"""Extensions (compared in lower case) of the files the pipelines read."""

SUPPORTED_FORMATS = ("JPEG", "PNG", "GIF", "BMP")
"""Formats, as Pillow names them, that the TensorFlow decoder reads."""

# Pillow calls some camera JPEGs "MPO" (multi-picture JPEG); TF decodes the first picture.
_FORMAT_ALIASES = {"MPO": "JPEG"}

UNSUPPORTED_IMAGE_EXTENSIONS = frozenset(
    {
        ".tif",
        ".tiff",
        ".webp",
        ".heic",
        ".heif",
        ".avif",
        ".jxl",
        ".jp2",
        ".j2k",
        ".svg",
        ".ico",
        ".psd",
        ".xcf",
        ".eps",
        ".raw",
        ".cr2",
        ".nef",
        ".arw",
        ".dng",
        ".ppm",
        ".pgm",
        ".pbm",
        ".pnm",
        ".tga",
        ".pcx",
        ".dds",
        ".exr",
        ".hdr",
        ".jfif",
    }
)
"""Extensions of image files the pipelines do not read: reported as bad, not ignored."""

INTERPOLATIONS = (
    "bilinear",
    "nearest",
    "bicubic",
    "area",
    "lanczos3",
    "lanczos5",
    "gaussian",
    "mitchellcubic",
)
"""Resize methods `decode_and_resize` accepts (those of `tf.image.resize`)."""

_NO_OVERSHOOT = ("bilinear", "nearest", "area")  # convex combinations of the input pixels

DEFAULT_MAX_PIXELS = 89_478_485
"""Largest image (width x height) accepted by default: Pillow's decompression-bomb limit."""

_PILLOW_LOCK = threading.Lock()


def check_image_args(image_size: Any, channels: int, interpolation: str) -> tuple[int, int]:
    """Validates the decoder's settings.

    Args:
        image_size: `(height, width)`, or one int for a square.
        channels: 1 (grayscale) or 3 (RGB).
        interpolation: One of `INTERPOLATIONS`.

    Returns:
        `(height, width)` as ints.

    Raises:
        UsageError: A value is out of range.
    """
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    try:
        height, width = (int(side) for side in image_size)
    except (TypeError, ValueError):
        raise UsageError(
            f"image_size must be (height, width). Received: image_size={image_size!r}"
        ) from None
    if height < 1 or width < 1:
        raise UsageError(
            f"image_size must be positive (height, width). Received: image_size={image_size!r}"
        )
    if channels not in (1, 3):
        raise UsageError(f"channels must be 1 or 3. Received: channels={channels!r}")
    if interpolation not in INTERPOLATIONS:
        raise UsageError(
            f"Unknown interpolation {interpolation!r}; choose one of {', '.join(INTERPOLATIONS)}."
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
    png = tf.equal(tf.strings.substr(padded, 0, 8), _PNG_SIGNATURE)
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
    image: Any, image_size: tuple[int, int], channels: int, interpolation: str = "bilinear"
) -> Any:
    """Resizes a decoded image and converts it to `channels` channels.

    Pure TensorFlow ops; used after `decode_image`, and for images that arrive
    decoded (some tensorflow-datasets features).

    Args:
        image: `[h, w, c]` tensor, any real or integer dtype in 0..255, with
            `c` in 1..4 known statically (alpha is dropped).
        image_size: `(height, width)` of the result.
        channels: 1 or 3.
        interpolation: One of `INTERPOLATIONS`.

    Returns:
        A `float32` tensor `[height, width, channels]` with values in 0..255.
    """
    import tensorflow as tf

    height, width = check_image_args(image_size, channels, interpolation)
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
    image_size: tuple[int, int],
    channels: int,
    interpolation: str = "bilinear",
) -> Any:
    """THE decoder: encoded bytes to a `float32` image in 0..255.

    Pure TensorFlow graph ops, usable in `tf.data`, `tf.function` and SavedModel
    signatures. Training, evaluation, prediction, export and `zoo data check`
    all use it.

    Args:
        contents: Scalar `tf.string` tensor: a JPEG, PNG, GIF or BMP file's bytes.
        image_size: `(height, width)` of the result.
        channels: 1 (grayscale) or 3 (RGB).
        interpolation: Resize method, one of `INTERPOLATIONS`.

    Returns:
        A `float32` tensor `[height, width, channels]` with values in 0..255.

    Raises:
        UsageError: Bad `image_size`, `channels` or `interpolation` (when called).
        tf.errors.InvalidArgumentError: The bytes are not a decodable image
            (when the ops run).
    """
    return decode_and_measure(contents, image_size, channels, interpolation)[0]


def decode_and_measure(
    contents: Any,
    image_size: tuple[int, int],
    channels: int,
    interpolation: str = "bilinear",
) -> tuple[Any, Any]:
    """`decode_and_resize`, also returning the decoded image's size.

    The data pipelines and `zoo data check` call this form to record image
    sizes; the image is computed by the very same ops.

    Args:
        contents: Scalar `tf.string` tensor: a JPEG, PNG, GIF or BMP file's bytes.
        image_size: `(height, width)` of the result.
        channels: 1 (grayscale) or 3 (RGB).
        interpolation: Resize method, one of `INTERPOLATIONS`.

    Returns:
        `(image, size)`: the `float32 [height, width, channels]` image in
        0..255, and the decoded `(height, width)` as an `int32 [2]` tensor.
    """
    import tensorflow as tf

    check_image_args(image_size, channels, interpolation)
    decoded = decode_image(contents)
    size = tf.shape(decoded, out_type=tf.int32)[:2]
    return resize_image(decoded, image_size, channels, interpolation), size


@dataclass(frozen=True)
class Header:
    """What the first bytes of an image file say.

    Attributes:
        format: `JPEG`, `PNG`, `GIF` or `BMP`.
        width: Width in pixels (0 when the header does not say).
        height: Height in pixels (0 when the header does not say).
        bits: Bits per pixel for BMP (TensorFlow misreads fewer than 24), else 0.
    """

    format: str
    width: int
    height: int
    bits: int = 0


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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
    if head[:8] == _PNG_SIGNATURE and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return Header("PNG", width, height)
    if head[:4] == b"GIF8" and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return Header("GIF", width, height)
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


@dataclass
class FileCheck:
    """What the header check found out about one file.

    Attributes:
        path: The file.
        status: `ok` (give it to the decoder), `convert` (normalise it with
            Pillow first), `bad` (skip and report) or `ignored` (not an image
            file at all, e.g. `notes.txt`).
        reason: Why, for `convert`, `bad` and `ignored`.
        format: Image format as Pillow names it (`JPEG`, ...), when known.
        width: Width in pixels, when known.
        height: Height in pixels, when known.
        mode: Pillow's pixel mode (`RGB`, `L`, `P`, `CMYK`, ...), when known.
    """

    path: str
    status: str
    reason: str = ""
    format: str | None = None
    width: int | None = None
    height: int | None = None
    mode: str | None = None


def is_image_name(name: str) -> bool:
    """Whether a file name has one of the supported extensions (any case)."""
    return os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS


def check_name(path: str) -> FileCheck | None:
    """Classifies a file by its name alone.

    Args:
        path: The file.

    Returns:
        An `ignored` (hidden, or not an image extension) or `bad` (an image
        type the pipelines do not read) verdict, or `None` when the name has a
        supported extension and the content must tell.
    """
    name = os.path.basename(path)
    extension = os.path.splitext(name)[1].lower()
    if name.startswith("."):
        return FileCheck(path, "ignored", "hidden file")
    if extension in UNSUPPORTED_IMAGE_EXTENSIONS:
        return FileCheck(
            path,
            "bad",
            f"unsupported image type {extension} (supported: JPEG, PNG, GIF, BMP); "
            "convert it to PNG or JPEG",
        )
    if extension not in SUPPORTED_EXTENSIONS:
        shown = extension or "no extension"
        return FileCheck(path, "ignored", f"not an image file ({shown})")
    return None


def check_file(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> FileCheck:
    """Classifies a file from its name and header, without decoding the pixels.

    Catches empty files, non-images, unsupported types and images over the
    pixel limit; truncated or corrupt pixel data is only found by decoding.

    Args:
        path: The file.
        max_pixels: Largest accepted `width * height`.

    Returns:
        The verdict; see `FileCheck.status`.
    """
    from PIL import Image, UnidentifiedImageError

    by_name = check_name(path)
    if by_name is not None:
        return by_name
    extension = os.path.splitext(path)[1].lower()
    try:
        with open(path, "rb") as handle:
            if not handle.read(1):
                return FileCheck(path, "bad", "empty file (0 bytes)")
    except OSError as error:
        return FileCheck(path, "bad", f"cannot be read: {error.strerror or error}")
    try:
        with _PILLOW_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # our own limit applies, below
            try:
                with Image.open(path) as image:
                    fmt = _FORMAT_ALIASES.get(image.format or "", image.format or "unknown")
                    width, height = image.size
                    mode = image.mode
            finally:
                Image.MAX_IMAGE_PIXELS = saved_limit
    except UnidentifiedImageError:
        return FileCheck(path, "bad", f"not an image (unrecognised content in a {extension} file)")
    except Exception as error:  # noqa: BLE001  (Pillow's plugins raise anything on junk)
        return FileCheck(path, "bad", f"corrupt or truncated image header ({_short(error)})")
    check = FileCheck(path, "ok", "", fmt, width, height, mode)
    if fmt not in SUPPORTED_FORMATS:
        check.status, check.reason = (
            "bad",
            f"unsupported image type {fmt} in a {extension} file (supported: JPEG, PNG, GIF, "
            "BMP); convert it to PNG or JPEG",
        )
    elif width * height > max_pixels:
        check.status, check.reason = "bad", _too_large(width, height, max_pixels)
    elif width < 1 or height < 1:
        check.status, check.reason = "bad", f"empty image ({width}x{height} pixels)"
    elif fmt == "BMP":
        # TF reads palette indices as grey levels, and cannot read 1/4/16-bit BMPs.
        try:
            header = read_header(path)
        except OSError:
            header = None
        if header is not None and header.bits < 24:
            check.status, check.reason = _low_bit_bmp(header.bits)
    return check


def _low_bit_bmp(bits: int) -> tuple[str, str]:
    return "convert", f"{bits}-bit BMP, normalised with Pillow"


def quick_check(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> FileCheck:
    """`check_file` for the common case: the name and `read_header`, no Pillow.

    Pillow is only opened for the files whose header is not one of the four
    formats, to say what they are.

    Args:
        path: The file.
        max_pixels: Largest accepted `width * height`.

    Returns:
        The verdict; see `FileCheck.status`.
    """
    by_name = check_name(path)
    if by_name is not None:
        return by_name
    try:
        header = read_header(path)
    except OSError as error:
        return FileCheck(path, "bad", f"cannot be read: {error.strerror or error}")
    if header is None:
        check = check_file(path, max_pixels)
        if check.status != "bad":  # Pillow sees one of the four formats where we do not
            check.status, check.reason = "bad", "not a JPEG, PNG, GIF or BMP file"
        return check
    check = FileCheck(path, "ok", "", header.format, header.width, header.height)
    if header.width * header.height > max_pixels:
        check.status, check.reason = "bad", _too_large(header.width, header.height, max_pixels)
    elif header.format == "BMP" and header.bits < 24:
        check.status, check.reason = _low_bit_bmp(header.bits)
    return check


def _too_large(width: int, height: int, max_pixels: int) -> str:
    return (
        f"too large: {width}x{height} = {width * height:,} pixels, over the limit of "
        f"{max_pixels:,}; downscale it or raise --max-pixels"
    )


def pillow_png(path: str) -> bytes:
    """Decodes a file fully with Pillow and re-encodes it as an RGB PNG.

    The normalisation for files of a supported type that TensorFlow's decoder
    cannot read (see the module docstring).

    Args:
        path: The image file.

    Returns:
        PNG bytes that `decode_and_resize` reads.

    Raises:
        OSError: Pillow cannot fully decode the file (corrupt or truncated).
    """
    from PIL import Image

    with _PILLOW_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(path) as image:
                image.load()
                rgb = _to_rgb(image)
        except OSError:
            raise
        except Exception as error:  # noqa: BLE001  (Pillow's plugins raise anything on junk)
            raise OSError(_short(error)) from error
        finally:
            Image.MAX_IMAGE_PIXELS = saved_limit
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _to_rgb(image: Any) -> Any:
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode.startswith("I;16") or image.mode == "I":
        # Pillow's own I -> RGB conversion clips at 255 instead of scaling.
        import numpy as np
        from PIL import Image

        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
        image = Image.fromarray(np.clip(values / peak * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return image.convert("RGB")


def read_image_bytes(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """The bytes to give `decode_and_resize` for one file.

    The file's own bytes, or a Pillow-made PNG when the file needs normalising
    (see the module docstring).

    Args:
        path: The image file.
        max_pixels: Largest accepted `width * height`.

    Returns:
        Encoded image bytes.

    Raises:
        UsageError: The file is missing, not a supported image, too large, or
            corrupt (the message gives the reason).
    """
    if not os.path.isfile(path):
        raise UsageError(f"Image not found: {path}; check the path.")
    check = check_file(path, max_pixels)
    if check.status == "ignored":
        raise UsageError(f"{path}: {check.reason}; give a JPEG, PNG, GIF or BMP file.")
    if check.status == "bad":
        raise UsageError(f"{path}: {check.reason}.")
    if check.status == "convert":
        try:
            return pillow_png(path)
        except OSError as error:
            raise UsageError(f"{path}: corrupt or truncated image ({_short(error)}).") from None
    with open(path, "rb") as handle:
        return handle.read()


def load_image(
    path: str,
    image_size: tuple[int, int],
    channels: int = 3,
    interpolation: str = "bilinear",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Any:
    """Reads one file the way the training pipeline does.

    Args:
        path: The image file.
        image_size: `(height, width)` of the result.
        channels: 1 or 3.
        interpolation: One of `INTERPOLATIONS`.
        max_pixels: Largest accepted `width * height`.

    Returns:
        A `float32` tensor `[height, width, channels]` in 0..255.

    Raises:
        UsageError: The file is unusable; the message says why.
    """
    import tensorflow as tf

    contents = read_image_bytes(path, max_pixels)
    try:
        return decode_and_resize(tf.constant(contents), image_size, channels, interpolation)
    except tf.errors.OpError as error:
        try:  # a file TF cannot decode but Pillow can is normalised, as in training
            contents = pillow_png(path)
        except OSError:
            raise UsageError(
                f"{path}: corrupt or truncated image ({decoder_message(error)})."
            ) from None
        return decode_and_resize(tf.constant(contents), image_size, channels, interpolation)


def decoder_message(error: BaseException) -> str:
    """TensorFlow's decode error reduced to its one useful line."""
    text = getattr(error, "message", None) or str(error)
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[Op:\w+\].*$", "", text, flags=re.S)
    return _short(text)


def _short(error: Any, limit: int = 160) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
