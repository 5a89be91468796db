import json
import shutil

import keras
import numpy as np
import pytest

from recipes.run.trained import float32_copy
from recipes.serving.export import export_model
from recipes.serving.server import make_server
from tests.serving_client import (
    b64,
    png,
    raw_request,
    read_response,
    request,
    serving,
    stop,
)
from tests.trained_runs import SHAPES_CLASSES as CLASSES
from zoo.errors import UsageError

SIZE = 32


@pytest.fixture(scope="module")
def server(tmp_path_factory, shapes_run):
    root = tmp_path_factory.mktemp("serve")
    export_model(shapes_run, output=root / "saved_models", name="pets")
    model = float32_copy(keras.saving.load_model(shapes_run / "model.keras"))
    images = np.random.default_rng(2).integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    expected = np.asarray(model(images.astype("float32")))
    server = make_server(root / "saved_models" / "pets", port=0)
    thread, host, port = serving(server)
    yield {
        "base": f"http://{host}:{port}/v1/models/pets",
        "host": host,
        "port": port,
        "path": "/v1/models/pets",
        "images": images,
        "expected": expected,
        "model_dir": root / "saved_models" / "pets",
    }
    stop(server, thread)


def test_model_status(server):
    status, body = request(server["base"])
    assert status == 200
    assert body["model_version_status"][0] == {
        "version": "1",
        "state": "AVAILABLE",
        "status": {"error_code": "OK", "error_message": ""},
    }


def test_metadata(server):
    status, body = request(server["base"] + "/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": "pets", "signature_name": "", "version": "1"}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    default = signatures["serving_default"]
    assert default["inputs"]["image_bytes"]["dtype"] == "DT_STRING"
    assert default["method_name"] == "tensorflow/serving/predict"
    assert set(default["outputs"]) == {
        "probabilities",
        "classes",
        "top_k_classes",
        "top_k_probabilities",
    }
    assert "serving_images" in signatures
    # Printed as TF Serving prints a TensorInfo: defaults included, empty lists left out.
    shape = default["inputs"]["image_bytes"]["tensor_shape"]
    assert shape == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
    assert default["inputs"]["image_bytes"]["name"].startswith("serving_default_")


@pytest.mark.parametrize(
    ("path", "method", "code"),
    [
        ("/v1/models", "GET", 400),  # TF Serving: "Malformed request" is a bad request
        ("/v1/models/pets:predict", "GET", 400),
        ("/v1/models/pets/metadata", "POST", 400),
        ("/elsewhere", "GET", 404),
    ],
)
def test_paths_that_name_no_route_are_answered_as_tf_serving_does(server, path, method, code):
    url = f"http://{server['host']}:{server['port']}{path}"
    status, answer = request(url, raw=b"{}" if method == "POST" else None, method=method)
    assert status == code and answer["error"]


def test_the_root_says_what_the_server_is(server):
    status, answer = request(f"http://{server['host']}:{server['port']}/")
    assert status == 200 and answer["model"] == "pets"
    assert "GET /v1/models/pets[/versions/N]/metadata" in answer["routes"]


def test_predict_instances_with_b64_images(server):
    images, expected = server["images"], server["expected"]
    body = {"instances": [b64(png(image)) for image in images]}
    status, answer = request(server["base"] + ":predict", body)
    assert status == 200, answer
    predictions = answer["predictions"]
    assert len(predictions) == len(images)
    np.testing.assert_allclose(
        [p["probabilities"] for p in predictions], expected, rtol=0, atol=1e-5
    )
    assert [p["classes"] for p in predictions] == [CLASSES[i] for i in expected.argmax(1)]
    assert len(predictions[0]["top_k_classes"]) == 3


def test_predict_named_instances_and_version(server):
    image = server["images"][0]
    body = {"signature_name": "serving_default", "instances": [{"image_bytes": b64(png(image))}]}
    status, answer = request(server["base"] + "/versions/1:predict", body)
    assert status == 200, answer
    np.testing.assert_allclose(
        answer["predictions"][0]["probabilities"], server["expected"][0], atol=1e-5
    )


def test_predict_columnar_inputs(server):
    images = server["images"]
    body = {"inputs": {"image_bytes": [b64(png(image)) for image in images[:2]]}}
    status, answer = request(server["base"] + ":predict", body)
    assert status == 200, answer
    outputs = answer["outputs"]
    np.testing.assert_allclose(outputs["probabilities"], server["expected"][:2], atol=1e-5)
    assert len(outputs["classes"]) == 2


def test_predict_float_image_signature(server):
    body = {"signature_name": "serving_images", "instances": server["images"][:2].tolist()}
    status, answer = request(server["base"] + ":predict", body)
    assert status == 200, answer
    probabilities = [p["probabilities"] for p in answer["predictions"]]
    np.testing.assert_allclose(probabilities, server["expected"][:2], atol=1e-5)


def test_corrupt_image_is_400_and_the_server_keeps_serving(server):
    status, answer = request(server["base"] + ":predict", {"instances": [b64(b"\x89PNG junk")]})
    assert status == 400
    assert answer["error"] == "not a JPEG, PNG, GIF or BMP image"
    truncated = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    status, answer = request(server["base"] + ":predict", {"instances": [b64(truncated)]})
    assert status == 400
    assert answer["error"] and "\n" not in answer["error"] and "assertion" not in answer["error"]
    good = {"instances": [b64(png(server["images"][0]))]}
    status, answer = request(server["base"] + ":predict", good)
    assert status == 200
    assert answer["predictions"][0]["classes"] in CLASSES


@pytest.mark.parametrize(
    ("path", "body", "raw", "code"),
    [
        (":predict", None, b"{not json", 400),
        (":predict", {"instances": [{"b64": "%%%"}]}, None, 400),
        (":predict", {"nothing": 1}, None, 400),
        (":predict", {"signature_name": "nope", "instances": ["x"]}, None, 400),
        (":predict", {"signature_name": "serving_images", "instances": [[1, 2]]}, None, 400),
        ("/versions/7:predict", {"instances": ["x"]}, None, 404),
        ("/versions/7", None, None, 404),
    ],
    ids=["bad-json", "bad-b64", "no-instances", "bad-signature", "bad-shape", "version", "status"],
)
def test_bad_requests(server, path, body, raw, code):
    status, answer = request(server["base"] + path, body, raw)
    assert status == code
    assert "error" in answer


def test_unknown_model_is_404(server):
    status, answer = request(server["base"].replace("/pets", "/other"))
    assert status == 404
    assert "Servable not found" in answer["error"]


def chunked(body, size=1000):
    pieces = [body[start : start + size] for start in range(0, len(body), size)]
    encoded = b"".join(b"%x;piece=yes\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return encoded + b"0\r\nX-Checksum: none\r\n\r\n"


def test_chunked_predict_keeps_the_connection_in_step(server):
    images = server["images"][:2]
    body = json.dumps({"signature_name": "serving_images_uint8", "instances": images.tolist()})
    host, port, path = server["host"], server["port"], server["path"].encode()
    head = b"POST %s:predict HTTP/1.1\nHost: test\nTransfer-Encoding: chunked\n" % path
    sock, stream = raw_request(host, port, head, chunked(body.encode()))
    with sock, stream:
        status, headers, answer = read_response(stream)
        assert status == 200, answer
        assert "connection" not in headers
        probabilities = [p["probabilities"] for p in answer["predictions"]]
        np.testing.assert_allclose(probabilities, server["expected"][:2], atol=1e-5)
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: test\r\n\r\n" % path)
        status, _, answer = read_response(stream)
        assert status == 200, answer
        assert answer["model_version_status"][0]["state"] == "AVAILABLE"


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        (b"chunked", b"zz\r\n{}\r\n0\r\n\r\n"),
        (b"chunked", b"2\r\n{}xx\r\n0\r\n\r\n"),
        (b"gzip, chunked", chunked(b"{}")),
    ],
    ids=["bad-size", "long-chunk", "gzip"],
)
def test_unreadable_chunked_body_is_refused_and_the_connection_closed(server, coding, body):
    path = server["path"].encode()
    head = b"POST %s:predict HTTP/1.1\nHost: test\nTransfer-Encoding: %s\n" % (path, coding)
    sock, stream = raw_request(server["host"], server["port"], head, body)
    with sock, stream:
        status, headers, _ = read_response(stream)
        assert status == 400
        assert headers["connection"] == "close"
        assert stream.read() == b""
    status, _ = request(server["base"])
    assert status == 200


@pytest.mark.parametrize("value", [1.7, -1, 256, 3.0, True, None])
def test_integer_input_values_are_checked(server, value):
    pixels = server["images"][:1].tolist()
    pixels[0][5][7][1] = value
    body = {"signature_name": "serving_images_uint8", "instances": pixels}
    status, answer = request(server["base"] + ":predict", body)
    assert status == 400
    assert answer["error"] == (
        f"Input 'images' takes integers from 0 to 255 (uint8); received {json.dumps(value)}"
    )


def test_only_the_latest_version_is_served(server):
    shutil.copytree(server["model_dir"] / "1", server["model_dir"] / "2")
    body = {"instances": [b64(png(server["images"][0]))]}
    status, answer = request(server["base"] + ":predict", body)
    assert status == 200
    np.testing.assert_allclose(
        answer["predictions"][0]["probabilities"], server["expected"][0], atol=1e-5
    )
    status, answer = request(server["base"] + "/versions/2:predict", body)
    assert status == 200
    status, answer = request(server["base"] + "/versions/1:predict", body)
    assert status == 404
    assert answer["error"] == "Servable not found for request: Specific(pets, 1)"
    status, answer = request(server["base"] + "/versions/1/metadata")
    assert status == 404
    status, answer = request(server["base"])
    states = [(v["version"], v["state"]) for v in answer["model_version_status"]]
    assert states == [("2", "AVAILABLE"), ("1", "END")]
    status, answer = request(server["base"] + "/versions/1")
    assert status == 200
    assert answer["model_version_status"][0]["state"] == "END"
    status, answer = request(server["base"] + "/versions/3")
    assert status == 404
    assert answer["error"] == "Could not find version 3 of model pets"
    status, answer = request(server["base"] + "/metadata")
    assert answer["model_spec"]["version"] == "2"


def test_directory_without_versions(tmp_path):
    with pytest.raises(UsageError, match="holds no model version"):
        make_server(tmp_path, port=0)
    with pytest.raises(UsageError, match="not a directory"):
        make_server(tmp_path / "missing", port=0)
