"""recipes.data.noise: what C libraries print on file descriptor 2, filtered as it comes."""

import io
import os
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from recipes.data.noise import DECODER_WARNINGS, TFLITE_CHATTER, live_filtered_stderr


def extraneous_bytes_jpeg():
    """A JPEG that decodes, with two stray bytes before its scan: libjpeg warns about them."""
    pixels = np.random.default_rng(0).integers(0, 255, (24, 24, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    scan = data.index(b"\xff\xda")
    return data[:scan] + b"\x12\x34" + data[scan:]


def decode(data):
    return tf.io.decode_image(data, channels=3).shape


def test_libjpeg_warns_about_extraneous_bytes(capfd):
    """The trigger is real: without the filter, the warning reaches stderr."""
    assert decode(extraneous_bytes_jpeg()) == (24, 24, 3)
    assert "Corrupt JPEG data: 2 extraneous bytes" in capfd.readouterr().err


def test_live_filter_drops_the_warning_and_passes_the_rest(capfd):
    with live_filtered_stderr(DECODER_WARNINGS):
        assert decode(extraneous_bytes_jpeg()) == (24, 24, 3)
        os.write(2, b"epoch 1/2 - loss 0.5\n")
    err = capfd.readouterr().err
    assert "Corrupt JPEG" not in err
    assert err == "epoch 1/2 - loss 0.5\n"


def test_live_filter_passes_lines_on_while_the_block_runs(capfd):
    with live_filtered_stderr(DECODER_WARNINGS):
        os.write(2, b"\r[=====>    ] 50%")  # a progress bar: no end of line yet
        deadline = time.monotonic() + 5
        while "50%" not in capfd.readouterr().err:
            assert time.monotonic() < deadline, "the unfinished line never came through"
            time.sleep(0.02)
        os.write(2, b"Corrupt JPEG data: 1 extraneous bytes before marker 0xd9\n")
    assert capfd.readouterr().err == ""


def test_live_filter_keeps_noise_when_asked(capfd):
    keep = []
    with live_filtered_stderr(DECODER_WARNINGS, unless=lambda: bool(keep)):
        decode(extraneous_bytes_jpeg())
        time.sleep(0.2)
        keep.append(True)  # e.g. `--debug` parsed after the block started
        decode(extraneous_bytes_jpeg())
    assert capfd.readouterr().err.count("Corrupt JPEG data") == 1


def test_stderr_is_restored(capfd):
    with pytest.raises(RuntimeError):
        with live_filtered_stderr(DECODER_WARNINGS):
            raise RuntimeError("inside")
    os.write(2, b"Corrupt JPEG data: after the block\n")
    assert "after the block" in capfd.readouterr().err


@pytest.mark.parametrize(
    "line, noise",
    [
        ("Corrupt JPEG data: 2 extraneous bytes before marker 0xda", True),
        ("Premature end of JPEG file", True),
        ("libpng warning: iCCP: known incorrect sRGB profile", True),
        ("Epoch 1/3", False),
        ("error: the run failed", False),
    ],
)
def test_decoder_warnings_are_only_warnings(line, noise):
    assert bool(DECODER_WARNINGS.match(line)) is noise


def test_tflite_chatter():
    assert TFLITE_CHATTER.match("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.")
    assert not TFLITE_CHATTER.match("INFO: something else")
