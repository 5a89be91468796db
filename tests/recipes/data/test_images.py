"""The decoder and the file checks, on files written here with Pillow."""

import io
import struct

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from recipes.config.schema import INTERPOLATIONS
from recipes.data import decode, files, headers
from zoo.errors import UsageError, op_error_message

H, W = 24, 30


def _rgb(seed=0):
    rng = np.random.default_rng(seed)
    # Smooth content, so that JPEG's loss stays small.
    y, x = np.mgrid[0:H, 0:W]
    base = np.stack([x * 8, y * 10, (x + y) * 4], axis=-1) % 256
    return Image.fromarray((base + rng.integers(0, 8, base.shape)).astype(np.uint8))


def _save(path, image, fmt=None, **options):
    image.save(path, fmt, **options)
    return str(path)


def _png16(path, values):
    """A 16-bit grayscale PNG, written by hand (Pillow writes I;16 as such too)."""
    Image.fromarray(values.astype(np.uint16)).save(path)
    return str(path)


def _decode(path, size=(H, W), channels=3, interpolation="bilinear"):
    with open(path, "rb") as handle:
        contents = tf.constant(handle.read())
    return decode.decode_and_resize(contents, size, channels, interpolation).numpy()


@pytest.mark.parametrize(
    ("name", "mode", "fmt", "tolerance"),
    [
        ("rgb.jpg", "RGB", "JPEG", 12),
        ("gray.jpg", "L", "JPEG", 12),
        ("cmyk.jpg", "CMYK", "JPEG", 12),
        ("rgb.png", "RGB", "PNG", 0),
        ("gray.png", "L", "PNG", 0),
        ("palette.png", "P", "PNG", 0),
        ("rgba.png", "RGBA", "PNG", 0),
        ("la.png", "LA", "PNG", 0),
        ("rgb.gif", "RGB", "GIF", 0),
        ("rgb.bmp", "RGB", "BMP", 0),
        ("upper.JPEG", "RGB", "JPEG", 12),
    ],
)
def test_decoder_reads_every_format_and_mode_as_rgb(tmp_path, name, mode, fmt, tolerance):
    source = _rgb().convert(mode)
    path = _save(tmp_path / name, source, fmt)
    decoded = _decode(path)
    assert decoded.shape == (H, W, 3) and decoded.dtype == np.float32
    assert 0.0 <= decoded.min() and decoded.max() <= 255.0
    expected = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    if mode == "CMYK":  # Pillow's CMYK -> RGB is naive; compare with the original instead
        expected = np.asarray(_rgb(), dtype=np.float32)
        assert np.abs(decoded - expected).mean() < tolerance
    else:
        assert np.abs(decoded - expected).max() <= max(tolerance, 0) + 0.5


def test_grayscale_model_gets_one_channel_of_luma(tmp_path):
    path = _save(tmp_path / "rgb.png", _rgb())
    gray = _decode(path, channels=1)
    assert gray.shape == (H, W, 1)
    expected = np.asarray(_rgb(), np.float32) @ np.array([0.2989, 0.587, 0.114], np.float32)
    assert np.abs(gray[..., 0] - expected).max() < 1.0
    # A grayscale file through a grayscale model keeps its values.
    path = _save(tmp_path / "gray.png", _rgb().convert("L"))
    assert np.abs(_decode(path, channels=1)[..., 0] - np.asarray(Image.open(path))).max() < 1.0


def test_animated_gif_gives_its_first_frame(tmp_path):
    first, second = _rgb(0), _rgb(0).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second])
    expected = np.asarray(Image.open(path).convert("RGB"), np.float32)
    assert np.abs(_decode(str(path)) - expected).max() == 0


def test_16_bit_png_is_scaled_to_8_bits(tmp_path):
    values = np.full((H, W), 65535, np.uint16)
    values[:, : W // 2] = 257 * 100
    decoded = _decode(_png16(tmp_path / "deep.png", values))
    assert decoded[0, 0, 0] == pytest.approx(100, abs=1)
    assert decoded[0, -1, 0] == pytest.approx(255, abs=1)


def test_resize_and_interpolations_stay_in_range(tmp_path):
    path = _save(tmp_path / "rgb.png", _rgb())
    for method in INTERPOLATIONS:
        out = _decode(path, size=(40, 17), interpolation=method)
        assert out.shape == (40, 17, 3)
        assert out.min() >= 0.0 and out.max() <= 255.0, method


def test_decoder_is_pure_graph_and_fails_on_bad_bytes():
    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def serve(contents):
        return decode.decode_and_resize(contents, (8, 8), 3)

    buffer = io.BytesIO()
    _rgb().save(buffer, "PNG")
    assert serve(tf.constant(buffer.getvalue())).shape == (8, 8, 3)
    with pytest.raises(tf.errors.InvalidArgumentError):
        serve(tf.constant(b"not an image"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_size": (0, 8)}, "input_size"),
        ({"channels": 4}, "channels"),
        ({"interpolation": "cubic"}, "interpolation"),
    ],
)
def test_bad_decoder_arguments(kwargs, message):
    arguments = {"input_size": (8, 8), "channels": 3, "interpolation": "bilinear", **kwargs}
    with pytest.raises(UsageError, match=message):
        decode.decode_and_resize(tf.constant(b""), **arguments)


def _exif_jpeg(path):
    """A JPEG whose EXIF segment is longer than the first read of `read_header`."""
    exif = Image.Exif()
    exif[0x010E] = "x" * 9000  # ImageDescription
    return _save(path, _rgb(), "JPEG", exif=exif.tobytes())


def test_read_header_matches_pillow(tmp_path):
    paths = [
        _save(tmp_path / "a.jpg", _rgb()),
        _save(tmp_path / "p.jpg", _rgb(), "JPEG", progressive=True),
        _exif_jpeg(tmp_path / "exif.jpg"),
        _save(tmp_path / "a.png", _rgb()),
        _save(tmp_path / "a.gif", _rgb()),
        _save(tmp_path / "a.bmp", _rgb()),
        _save(tmp_path / "p.bmp", _rgb().convert("P")),
    ]
    for path in paths:
        header = headers.read_header(path)
        assert (header.width, header.height) == Image.open(path).size, path
    assert headers.read_header(paths[-1]).bits == 8
    assert headers.read_header(paths[-2]).bits == 24
    (tmp_path / "text.jpg").write_text("hello")
    assert headers.read_header(str(tmp_path / "text.jpg")) is None


def _hostile(tmp_path):
    """One file per case: name -> expected (quick_check status, reason fragment)."""
    good = io.BytesIO()
    _rgb().save(good, "JPEG")
    cases = {}

    def add(name, status, fragment, data=None, image=None, fmt=None, **options):
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        else:
            image.save(path, fmt, **options)
        cases[str(path)] = (status, fragment)

    add("ok.jpg", "ok", "", data=good.getvalue())
    add("UPPER.PNG", "ok", "", image=_rgb(), fmt="PNG")
    add("ünïcødé 猫.jpg", "ok", "", data=good.getvalue())
    add("cmyk.jpg", "ok", "", image=_rgb().convert("CMYK"), fmt="JPEG")
    add("empty.jpg", "bad", "empty file", data=b"")
    add("text.jpg", "bad", "not an image", data=b"just some text, not pixels")
    add("truncated.jpg", "ok", "", data=good.getvalue()[: len(good.getvalue()) // 2])
    add("picture.tiff", "bad", "unsupported image type .tiff", image=_rgb(), fmt="TIFF")
    add("webp.jpg", "bad", "unsupported image type WEBP", image=_rgb(), fmt="WEBP")
    add("huge.png", "bad", "too large", image=Image.new("L", (300, 200)), fmt="PNG")
    add("palette.bmp", "convert", "8-bit BMP", image=_rgb().convert("P"), fmt="BMP")
    add("mono.bmp", "convert", "1-bit BMP", image=_rgb().convert("1"), fmt="BMP")
    add("notes.txt", "ignored", "not an image file", data=b"notes")
    add(".hidden.jpg", "ignored", "hidden", data=good.getvalue())
    return cases


def test_quick_check_and_check_file_classify_hostile_files(tmp_path):
    for path, (status, fragment) in _hostile(tmp_path).items():
        quick = files.quick_check(path, max_pixels=50_000)
        assert quick.status == status, (path, quick)
        assert fragment in quick.reason, (path, quick.reason)
        full = files.check_file(path, max_pixels=50_000)
        if status in ("bad", "ignored"):
            assert full.status == status, (path, full)
    assert "truncated" not in files.check_file(str(tmp_path / "ok.jpg")).reason


def test_palette_bmp_is_normalised_not_misread(tmp_path):
    path = _save(tmp_path / "palette.bmp", _rgb().convert("P"))
    expected = np.asarray(Image.open(path).convert("RGB"), np.float32)
    png = files.read_image_bytes(path)
    assert png.startswith(b"\x89PNG")
    decoded = decode.decode_and_resize(tf.constant(png), (H, W), 3).numpy()
    assert np.abs(decoded - expected).max() == 0
    # What TensorFlow makes of the raw file is wrong (palette indices as grey):
    # the reason the pipelines normalise such files.
    raw = _decode(path)
    assert np.abs(raw - expected).max() > 50


def test_read_image_bytes_gives_decodable_bytes_or_one_line_why_not(tmp_path):
    cases = _hostile(tmp_path)
    good = next(path for path in cases if path.endswith("ok.jpg"))
    assert decode.decode_and_resize(
        tf.constant(files.read_image_bytes(good)), (16, 16), 3
    ).shape == (16, 16, 3)
    mono = next(path for path in cases if path.endswith("mono.bmp"))
    mono_png = files.read_image_bytes(mono)  # a 1-bit BMP: normalised to PNG
    assert mono_png.startswith(b"\x89PNG")
    assert decode.decode_and_resize(tf.constant(mono_png), (16, 16), 1).shape == (16, 16, 1)
    for name in ("empty.jpg", "text.jpg", "notes.txt", "missing.jpg"):
        with pytest.raises(UsageError) as caught:
            files.read_image_bytes(str(tmp_path / name))
        assert "\n" not in str(caught.value)


def test_decoder_errors_read_as_one_line():
    try:
        decode.decode_and_resize(tf.constant(b"\xff\xd8\xff" + b"\0" * 20), (8, 8), 3)
    except tf.errors.OpError as error:
        message = op_error_message(error)
    assert "\n" not in message and "function_node" not in message and message


def test_bmp_core_header_is_read(tmp_path):
    # A 12-byte OS/2 BITMAPCOREHEADER: 16-bit width and height.
    width, height = 3, 2
    row = bytes([0, 0, 255] * width) + b"\0" * ((4 - (width * 3) % 4) % 4)
    pixels = row * height
    header = struct.pack("<IHHHH", 12, width, height, 1, 24)
    data = b"BM" + struct.pack("<IHHI", 14 + 12 + len(pixels), 0, 0, 26) + header + pixels
    path = tmp_path / "core.bmp"
    path.write_bytes(data)
    parsed = headers.read_header(str(path))
    assert (parsed.width, parsed.height, parsed.bits) == (3, 2, 24)


def test_filtered_stderr_drops_only_the_noise(capfd):
    import os
    import re

    from recipes.data.noise import filtered_stderr

    with filtered_stderr(re.compile(r"^noise")):
        os.write(2, b"noise from C\nkept line\nnoise again\n")
    assert capfd.readouterr().err == "kept line\n"


def gif_with_frames(*frames):
    """A GIF with a 1x1 logical screen and frames of the given (width, height)."""
    data = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    for width, height in frames:
        data += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
        data += b"\x02\x02\x4c\x01\x00"  # LZW code size, one sub-block, end
    return data + b"\x3b"


def test_a_gif_is_sized_by_its_frames_not_its_screen(tmp_path):
    big = tmp_path / "bomb.gif"
    big.write_bytes(gif_with_frames((20000, 20000)))
    header = headers.read_header(str(big))
    assert (header.width, header.height, header.frames) == (20000, 20000, 1)
    two = tmp_path / "two.gif"
    two.write_bytes(gif_with_frames((3000, 3000), (3000, 3000)))
    assert headers.read_header(str(two)).pixels == 2 * 3000 * 3000
    for check in (files.check_file, files.quick_check):
        verdict = check(str(big))
        assert verdict.status == "bad" and "20000x20000" in verdict.reason, check
        verdict = check(str(two), 10_000_000)
        assert verdict.status == "bad" and "x 2 frames" in verdict.reason, check
    frames = [Image.new("RGB", (8, 6), colour) for colour in ("red", "blue", "green")]
    animated = tmp_path / "animated.gif"
    frames[0].save(animated, save_all=True, append_images=frames[1:])
    header = headers.read_header(str(animated))
    assert (header.width, header.height, header.frames) == (8, 6, 3)
