"""Hostile files in an image folder: pipes, sockets, links and junk JPEGs, made here.

Every check runs in a thread with a deadline, so a regression that opens a FIFO
fails the test instead of hanging it; junk files are sparse, so they are large
but take little disk.
"""

import io
import os
import socket
import threading
import time

import numpy as np
import pytest
from PIL import Image

from recipes.data import files, headers
from recipes.data.listing import list_folder
from zoo.errors import UsageError


def _soon(function, *args, seconds=30, **kwargs):
    """`function(*args, **kwargs)`, failing when it has not returned within `seconds`."""
    result = {}

    def run():
        try:
            result["value"] = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001  (handed to the test below)
            result["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__} still runs after {seconds} s"
    if "error" in result:
        raise result["error"]
    return result["value"]


def _png(path, shade=0):
    Image.fromarray(np.full((8, 8, 3), shade, np.uint8)).save(path)
    return str(path)


def _jpeg_bytes(size=(30, 20)):
    buffer = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), 90, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def _socket(path):
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
    except OSError:  # a path too long for a socket address
        server.close()
        return None
    return server


def test_pipes_sockets_and_broken_links_are_listed_as_bad_and_never_opened(tmp_path):
    root = tmp_path / "d"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    for index in range(2):
        _png(root / "a" / f"{index}.png", index)
        _png(root / "b" / f"{index}.png", 100 + index)
    os.mkfifo(root / "a" / "pipe.png")
    os.mkfifo(root / "a" / "pipe")  # not named like an image: ignored
    os.symlink(root / "a" / "0.png", root / "b" / "link.png")  # a link to a file still counts
    os.symlink(root / "a" / "gone.png", root / "b" / "broken.jpg")
    server = _socket(root / "b" / "s.png")
    try:
        listing = _soon(list_folder, str(root))
    finally:
        if server is not None:
            server.close()
    assert [os.path.basename(p) for p in listing.splits["all"]["a"]] == ["0.png", "1.png"]
    assert [os.path.basename(p) for p in listing.splits["all"]["b"]] == [
        "0.png",
        "1.png",
        "link.png",
    ]
    bad = {os.path.basename(entry["path"]): entry["reason"] for entry in listing.bad}
    assert "named pipe (FIFO), not a regular file" in bad["pipe.png"]
    assert "broken link" in bad["broken.jpg"]
    if server is not None:
        assert "socket, not a regular file" in bad["s.png"]
    ignored = {os.path.basename(entry["path"]) for entry in listing.ignored}
    assert "pipe" in ignored


def test_file_checks_refuse_a_fifo_without_waiting_for_a_writer(tmp_path):
    pipe = tmp_path / "pipe.jpg"
    os.mkfifo(pipe)
    for check in (files.quick_check, files.check_file):
        verdict = _soon(check, str(pipe))
        assert verdict.status == "bad" and "named pipe" in verdict.reason
    with pytest.raises(OSError, match="not a regular file"):
        _soon(headers.read_header, str(pipe))  # a pipe swapped in after the listing
    with pytest.raises(UsageError, match="named pipe"):
        _soon(files.read_image_bytes, str(pipe))


def _sparse(path, parts):
    """Writes `parts`: bytes are written, ints are runs of zeros left as holes."""
    with open(path, "wb") as handle:
        for part in parts:
            if isinstance(part, int):
                handle.seek(part, os.SEEK_CUR)
            else:
                handle.write(part)
        handle.truncate()
    return str(path)


def test_junk_jpeg_header_scan_is_fast(tmp_path):
    junk = {
        "zeros.jpg": [b"\xff\xd8\xff", 16 << 20, b"\0"],  # 16 MB without a marker
        "fill.jpg": [b"\xff\xd8" + b"\xff" * (1 << 20)],  # fill bytes only
        "markers.jpg": [b"\xff\xd8" + b"\xff\x01" * (1 << 17)],  # markers without a length
        "short.jpg": [b"\xff\xd8\xff\xe0\x00\x10JFIF"],  # cut short
    }
    for name, parts in junk.items():
        path = _sparse(tmp_path / name, parts)
        start = time.perf_counter()
        header = _soon(headers.read_header, path)
        assert time.perf_counter() - start < 3, name  # 16 MB once took over 10 s
        assert (header.format, header.width, header.height) == ("JPEG", 0, 0), name
    verdict = files.quick_check(str(tmp_path / "short.jpg"))
    assert verdict.status == "bad"


def test_frame_header_after_long_segments_is_found(tmp_path):
    real = _jpeg_bytes((30, 20))
    segments = [b"\xff\xef\xff\xff", 65533] * 100  # 6.5 MB of application data, skipped
    path = _sparse(tmp_path / "long.jpg", [real[:2], *segments, real[2:]])
    header = _soon(headers.read_header, path)
    assert (header.width, header.height) == (30, 20)


def test_unknown_jpeg_size_is_read_by_pillow_so_the_pixel_limit_holds(tmp_path):
    real = _jpeg_bytes((30, 20))
    # Escaped junk (FF 00, then zeros) longer than the header scan reads, then the frame.
    path = _sparse(tmp_path / "far.jpg", [b"\xff\xd8\xff\x00", 5 << 20, real[2:]])
    assert _soon(headers.read_header, path).pixels == 0
    verdict = _soon(files.quick_check, path)
    assert (verdict.status, verdict.width, verdict.height) == ("ok", 30, 20)
    verdict = _soon(files.quick_check, path, max_pixels=30 * 20 - 1)
    assert verdict.status == "bad" and "too large" in verdict.reason
