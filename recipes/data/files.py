"""File checks: which files the decoder gets, which are skipped, and which Pillow normalises.

Supported files are JPEG, PNG, GIF (first frame) and BMP, recognised by their
extension in any case (`.jpg .jpeg .png .gif .bmp`); the content must be one of
those formats too. TensorFlow's BMP decoder misreads palette BMPs (it takes
palette indices for grey levels) and cannot read 1-, 4- or 16-bit or
RLE-compressed BMPs. Such a file, and any other file of a supported type that
TensorFlow cannot decode but Pillow can, is *normalised*: Pillow decodes it,
converts it to RGB and encodes it as PNG in memory, and the PNG goes through
`recipes.data.decode.decode_and_resize` like every other file
(`read_image_bytes` does this for a single file). Files Pillow cannot fully
decode either are reported as corrupt or truncated.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from recipes.config.schema import DEFAULT_MAX_PIXELS
from recipes.data.headers import open_regular, read_header
from zoo.errors import UsageError, shorten

SUPPORTED_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp")
"""Extensions (compared in lower case) of the files the pipelines read."""

SUPPORTED_FORMATS = ("JPEG", "PNG", "GIF", "BMP")
"""Formats, as Pillow names them, that the TensorFlow decoder reads."""

# Pillow calls some camera JPEGs "MPO" (multi-picture JPEG); TF decodes the first picture.
_FORMAT_ALIASES = {"MPO": "JPEG"}

UNSUPPORTED_IMAGE_EXTENSIONS = frozenset(
    ".tif .tiff .webp .heic .heif .avif .jxl .jp2 .j2k .svg .ico .psd .xcf .eps"
    " .raw .cr2 .nef .arw .dng .ppm .pgm .pbm .pnm .tga .pcx .dds .exr .hdr .jfif".split()
)
"""Extensions of image files the pipelines do not read: reported as bad, not ignored."""

_PILLOW_LOCK = threading.Lock()


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


def special_file(path: str) -> str | None:
    """Why a path is not a regular file, found without opening it (links are followed).

    A FIFO (named pipe) would make a read wait forever for a writer, and a
    socket or device is no image either; they are skipped unopened.

    Args:
        path: The file.

    Returns:
        The reason, or `None` for a regular file (or a link to one).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if os.path.islink(path):
            return "broken link (its target is missing)"
        return f"cannot be read: {error.strerror or error}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        kind = "named pipe (FIFO)"
    elif stat.S_ISSOCK(mode):
        kind = "socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "device"
    elif stat.S_ISDIR(mode):
        kind = "folder"
    else:
        kind = "special file"
    return f"a {kind}, not a regular file"


def _refused_before_reading(path: str) -> FileCheck | None:
    """The verdict on a file from its name and kind (`None`: a regular file to read)."""
    by_name = check_name(path)
    if by_name is not None:
        return by_name
    special = special_file(path)
    return None if special is None else FileCheck(path, "bad", special)


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

    refused = _refused_before_reading(path)
    if refused is not None:
        return refused
    extension = os.path.splitext(path)[1].lower()
    try:
        with open_regular(path) as handle:
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
        return FileCheck(
            path, "bad", f"corrupt or truncated image header ({shorten(str(error), 160)})"
        )
    check = FileCheck(path, "ok", "", fmt, width, height, mode)
    if fmt not in SUPPORTED_FORMATS:
        check.status, check.reason = (
            "bad",
            f"unsupported image type {fmt} in a {extension} file (supported: JPEG, PNG, GIF, "
            "BMP); convert it to PNG or JPEG",
        )
    elif fmt == "GIF" and _gif_too_large(path, check, max_pixels):
        pass  # the verdict and the reason are set
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
    formats, to say what they are. Takes and returns what `check_file` does.
    """
    refused = _refused_before_reading(path)
    if refused is not None:
        return refused
    try:
        header = read_header(path)
    except OSError as error:
        return FileCheck(path, "bad", f"cannot be read: {error.strerror or error}")
    if header is None:
        check = check_file(path, max_pixels)
        if check.status != "bad":  # Pillow sees one of the four formats where we do not
            check.status, check.reason = "bad", "not a JPEG, PNG, GIF or BMP file"
        return check
    if header.format == "JPEG" and header.pixels == 0:
        # The header scan gave up (junk, or a frame header far in): Pillow tells the size,
        # so the pixel limit still holds.
        return check_file(path, max_pixels)
    check = FileCheck(path, "ok", "", header.format, header.width, header.height)
    if header.pixels > max_pixels:
        check.status, check.reason = (
            "bad",
            _too_large(header.width, header.height, max_pixels, header.frames),
        )
    elif header.format == "BMP" and header.bits < 24:
        check.status, check.reason = _low_bit_bmp(header.bits)
    return check


def _too_large(width: int, height: int, max_pixels: int, frames: int = 1) -> str:
    size = f"{width}x{height}" + (f" x {frames} frames" if frames > 1 else "")
    return (
        f"too large: {size} = {width * height * frames:,} pixels, over the limit of "
        f"{max_pixels:,}; downscale it or raise --max-pixels"
    )


def _gif_too_large(path: str, check: FileCheck, max_pixels: int) -> bool:
    """Checks a GIF by its frames (Pillow reports the logical screen only); whether it failed.

    The check takes the size over every frame, which the decoder allocates.
    """
    try:
        header = read_header(path)
    except OSError:
        return False
    if header is None:
        return False
    check.width, check.height = header.width, header.height
    if header.pixels <= max_pixels:
        return False
    check.status = "bad"
    check.reason = _too_large(header.width, header.height, max_pixels, header.frames)
    return True


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
            raise OSError(shorten(str(error), 160)) from error
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
    if not os.path.exists(path):
        raise UsageError(f"Image not found: {path}; check the path.")
    special = special_file(path)
    if special is not None:
        raise UsageError(f"{path}: {special}; give a JPEG, PNG, GIF or BMP file.")
    check = check_file(path, max_pixels)
    if check.status == "ignored":
        raise UsageError(f"{path}: {check.reason}; give a JPEG, PNG, GIF or BMP file.")
    if check.status == "bad":
        raise UsageError(f"{path}: {check.reason}.")
    if check.status == "convert":
        try:
            return pillow_png(path)
        except OSError as error:
            raise UsageError(
                f"{path}: corrupt or truncated image ({shorten(str(error), 160)})."
            ) from None
    with open_regular(path) as handle:
        return handle.read()
