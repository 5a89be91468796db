"""`zoo serve` under hostile input: pixel, size, instance and time limits, strict JSON."""

import io
import json
import socket
import struct
import threading
import time
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from recipes.serving.export import export_model
from recipes.serving.export.signatures import read_limits
from recipes.serving.server import ServeLimits, make_server
from recipes.serving.server.codec import RequestError
from recipes.serving.server.limits import check_images
from tests.serving_client import (
    b64,
    png,
    raw_request,
    read_response,
    request,
    serving,
    stop,
)

MAX_PIXELS = 5000  # the export's per-image limit: 32x32 passes, 100x100 does not
LIMITS = ServeLimits(
    max_request_bytes=64 * 1024,
    max_instances=4,
    max_request_pixels=3000,  # two 32x32 images together, not three
    request_timeout=1.0,
    max_inflight_bytes=110_000,  # one full body and most of another, not three
    max_request_elements=20_000,
)


def huge_png():
    """A small PNG whose header (checksum included) announces 20000x20000 pixels.

    A decoder allocates the whole image before it finds the pixel data short.
    """
    data = png(np.zeros((8, 8, 3), np.uint8))
    header = b"IHDR" + struct.pack(">II", 20000, 20000) + data[24:29]
    return data[:12] + header + struct.pack(">I", zlib.crc32(header)) + data[33:]


def gif_with_large_frame():
    """A GIF whose logical screen is 1x1 and whose one frame is 20000x20000."""
    screen = struct.pack("<HHBBB", 1, 1, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 20000, 20000, 0) + b"\x02\x01\x00\x00"
    return b"GIF89a" + screen + frame + b";"


@pytest.fixture(scope="module")
def small(tmp_path_factory, shapes_run):
    root = tmp_path_factory.mktemp("serve-limits") / "saved_models"
    export_model(shapes_run, output=root, name="pets", max_pixels=MAX_PIXELS)
    server = make_server(root / "pets", port=0, limits=LIMITS)
    thread, host, port = serving(server)
    images = np.random.default_rng(3).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    yield {
        "base": f"http://{host}:{port}/v1/models/pets",
        "host": host,
        "port": port,
        "path": b"/v1/models/pets",
        "images": [b64(png(image)) for image in images],
        "version_dir": root / "pets" / "1",
    }
    stop(server, thread)


def test_the_export_records_its_pixel_limit_and_its_graph_enforces_it(small):
    assert read_limits(small["version_dir"]) == {"max_pixels": MAX_PIXELS}
    serve = tf.saved_model.load(str(small["version_dir"])).signatures["serving_default"]
    for hostile in (huge_png(), gif_with_large_frame()):
        with pytest.raises(tf.errors.InvalidArgumentError, match="exceeds the limit of 5000"):
            serve(image_bytes=tf.constant([hostile]))
    large = io.BytesIO()
    Image.new("RGB", (100, 100)).save(large, format="JPEG")
    with pytest.raises(tf.errors.InvalidArgumentError, match="100x100 pixels"):
        serve(image_bytes=tf.constant([large.getvalue()]))
    fine = serve(image_bytes=tf.constant([png(np.zeros((32, 32, 3), np.uint8))]))
    assert fine["probabilities"].shape == (1, 3)


@pytest.mark.parametrize(
    ("image", "size"), [(huge_png, "20000x20000"), (gif_with_large_frame, "20000x20000")]
)
def test_an_image_over_the_limit_is_400_before_decoding(small, image, size):
    status, answer = request(small["base"] + ":predict", {"instances": [b64(image())]})
    assert status == 400
    assert answer["error"] == (
        f"Image 0 of 'image_bytes' is {size} (400000000 pixels); the limit is 5000 pixels"
    )
    status, answer = request(small["base"] + ":predict", {"instances": small["images"][:1]})
    assert status == 200, answer


def test_a_jpeg_whose_frame_header_lies_past_the_scan_is_refused_not_counted_as_zero():
    large = io.BytesIO()
    Image.new("RGB", (100, 100)).save(large, format="JPEG")
    data = large.getvalue()
    hostile = data[:2] + b"\xff\xd0" * 70_000 + data[2:]  # restart markers before the frame
    with pytest.raises(RequestError, match="not in its first segments") as refused:
        check_images({"image_bytes": tf.constant([hostile])}, MAX_PIXELS, ServeLimits())
    assert refused.value.status == 400
    check_images(
        {"image_bytes": tf.constant([data[:2] + b"\xff\xd0" * 10 + data[2:]])},
        10_000,
        ServeLimits(),
    )  # a few markers: the size is read, within the limit


def test_instances_and_pixels_per_request_are_capped(small):
    status, answer = request(small["base"] + ":predict", {"instances": small["images"][:5]})
    assert status == 413
    assert "holds 5 instances; the limit is 4" in answer["error"]
    status, answer = request(small["base"] + ":predict", {"instances": small["images"][:3]})
    assert status == 413
    assert "hold 3072 pixels together; the limit is 3000" in answer["error"]
    status, answer = request(small["base"] + ":predict", {"instances": small["images"][:2]})
    assert status == 200, answer


def test_a_body_over_the_limit_is_413_without_reading_it(small):
    head = b"POST %s:predict HTTP/1.1\nHost: t\nContent-Length: 60000000\n" % small["path"]
    sock, stream = raw_request(small["host"], small["port"], head)
    with sock, stream:
        status, headers, answer = read_response(stream)
        assert status == 413
        assert "60000000 bytes exceeds 65536 bytes" in answer["error"]
        assert headers["connection"] == "close"
    body = json.dumps({"instances": ["x" * 70_000]}).encode()
    chunks = (
        b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + 4096]), body[i : i + 4096])
            for i in range(0, len(body), 4096)
        )
        + b"0\r\n\r\n"
    )
    head = b"POST %s:predict HTTP/1.1\nHost: t\nTransfer-Encoding: chunked\n" % small["path"]
    sock, stream = raw_request(small["host"], small["port"], head, chunks)
    with sock, stream:
        status, headers, answer = read_response(stream)
        assert status == 413
        assert "exceeds 65536 bytes" in answer["error"]


@pytest.mark.parametrize("element", [b"0", b"[]"])
def test_a_body_of_many_tiny_values_is_413_before_parsing(small, element):
    body = b'{"instances": [' + b",".join([element] * 21_000) + b"]}"  # under 64 KB
    assert len(body) < LIMITS.max_request_bytes
    status, answer = request(small["base"] + ":predict", raw=body)
    assert status == 413 and "limit is 20000" in answer["error"]


def test_bodies_in_flight_share_one_budget_and_give_it_back(small):
    head = b"POST %s:predict HTTP/1.1\nHost: t\nContent-Length: 60000\n" % small["path"]
    held = [raw_request(small["host"], small["port"], head, b"x" * 50_000) for _ in range(2)]
    try:
        time.sleep(0.3)  # both partial bodies are read: 100,000 bytes held
        status, answer = request(small["base"] + ":predict", raw=b" " * 20_000)
        assert status == 503 and "retry later" in answer["error"]
    finally:
        for sock, stream in held:
            stream.close()
            sock.close()
    time.sleep(0.3)  # the server sees them go
    status, answer = request(small["base"] + ":predict", {"instances": small["images"][:1]})
    assert status == 200, answer


def test_at_the_connection_cap_idle_connections_make_room(small):
    limits = ServeLimits(max_connections=3, request_timeout=30.0)
    server = make_server(small["version_dir"].parent, port=0, limits=limits)
    thread, host, port = serving(server)
    try:
        idle = [socket.create_connection((host, port), timeout=10) for _ in range(6)]
        time.sleep(0.3)
        status, answer = request(f"http://{host}:{port}/v1/models/pets")
        assert status == 200, answer  # idle sockets were closed to make room
        closed = 0
        for sock in idle:
            sock.settimeout(2)
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass
            sock.close()
        assert closed >= 4  # six idle ones and the request, three kept at most
    finally:
        stop(server, thread)


def test_slow_and_silent_clients_are_cut_off(small):
    head = b"POST %s:predict HTTP/1.1\nHost: t\nContent-Length: 60000\n" % small["path"]
    started = time.monotonic()
    sock, stream = raw_request(small["host"], small["port"], head)
    with sock, stream:
        status, headers, answer = read_response(stream)
        assert status == 408
        assert answer["error"] == "The request body did not arrive within 1 s"
        assert stream.read() == b""
    assert time.monotonic() - started < 10
    for sent in (b"", b"GET /v1/models/pe"):  # nothing, or half a request head
        started = time.monotonic()
        with socket.create_connection((small["host"], small["port"]), timeout=10) as sock:
            sock.sendall(sent)
            assert sock.recv(100) == b""  # closed by the server
        assert time.monotonic() - started < 10


def test_malformed_http_is_refused(small):
    head = (
        b"POST %s:predict HTTP/1.1\nHost: t\nContent-Length: 2\nContent-Length: 3\n" % small["path"]
    )
    sock, stream = raw_request(small["host"], small["port"], head, b"{}")
    with sock, stream:
        status, _, _ = read_response(stream)
        assert status == 400
    status, answer = request(small["base"], method="DELETE")
    assert status == 405
    assert answer["error"] == "Method DELETE is not allowed; use GET or POST"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"signature_name": "serving_images", "instances": [NaN]}', "NaN is not valid JSON"),
        (b"[" * 15_000 + b"]" * 15_000, "nested too deeply"),
        (b'{"signature_name": ["a"], "instances": [1]}', "must be a string; received a list"),
        (b'{"signature_name": {"a": 1}, "instances": [1]}', "must be a string; received a dict"),
    ],
    ids=["nan", "deep", "list-signature", "dict-signature"],
)
def test_malformed_json_is_400(small, body, message):
    status, answer = request(small["base"] + ":predict", raw=body)
    assert status == 400
    assert message in answer["error"]


def test_content_length_with_chunked_closes_the_connection_after_the_answer(small):
    body = json.dumps({"instances": small["images"][:1]}).encode()
    head = (
        b"POST %s:predict HTTP/1.1\nHost: t\nContent-Length: 5\nTransfer-Encoding: chunked\n"
        % small["path"]
    )
    pipelined = b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % small["path"]
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    sock, stream = raw_request(small["host"], small["port"], head, chunked + pipelined)
    with sock, stream:
        status, headers, _ = read_response(stream)
        assert headers["connection"] == "close"
        assert stream.read() == b""  # the pipelined request is not answered


def test_a_deeply_nested_list_of_strings_is_400(small):
    body = b'{"instances": ' + b"[" * 900 + b'"x"' + b"]" * 900 + b"}"
    status, answer = request(small["base"] + ":predict", raw=body)
    assert status == 400, answer


def test_values_beyond_float32_are_400(small):
    pixels = np.zeros((1, 32, 32, 3)).tolist()
    pixels[0][1][2][0] = 1e39
    body = {"signature_name": "serving_images", "instances": pixels}
    status, answer = request(small["base"] + ":predict", body)
    assert status == 400
    assert "not finite float32 numbers" in answer["error"]


def test_many_clients_on_new_connections(small):
    failures = []

    def client():
        for _ in range(10):
            try:
                status, _ = request(small["base"])
                if status != 200:
                    failures.append(status)
            except OSError as error:
                failures.append(error)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
