"""A small HTTP server that speaks TensorFlow Serving's REST API for one model.

It serves `saved_models/NAME` (the layout `zoo export` writes) with plain
TensorFlow, so client code written for TF Serving runs unchanged against it:

- `GET  /v1/models/NAME[/versions/V]`: version status.
- `GET  /v1/models/NAME[/versions/V]/metadata`: the signature definitions.
- `POST /v1/models/NAME[/versions/V]:predict`: `{"signature_name": ...,
  "instances": [...]}` (row format, answered with `predictions`) or
  `{"inputs": ...}` (columnar, answered with `outputs`); binary strings as
  `{"b64": "..."}`.

Versions follow TF Serving's default version policy (the latest one): only the
highest version on disk is served, and a version exported while the server runs
replaces the one before it. A request naming another version gets 404
(`Servable not found for request: Specific(NAME, V)`); the status lists the
served version as `AVAILABLE` and the versions it replaced as `END`.

Request bodies come with a `Content-Length` or `Transfer-Encoding: chunked`.
Bad requests, including image bytes that do not decode and values of an integer
input (`serving_images_uint8`) that are not JSON integers in its range (`1.7`,
`3.0`, `256`), get HTTP 400 and `{"error": "..."}`, and the server keeps
serving. It is meant for development and tests on a loopback address; use the
`tensorflow/serving` container in production.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from recipes.artifacts import tf_error_message
from recipes.export import DEFAULT_SIGNATURE, list_versions
from zoo.errors import UsageError

MAX_REQUEST_BYTES = 64 * 1024 * 1024
_MAX_CHUNK_LINE = 4096  # a chunk-size line with its extensions, or a trailer field
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[0-9]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<action>/metadata|:predict|:classify|:regress)?/?$"
)


class RequestError(Exception):
    """A request that cannot be answered; carries the HTTP status."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class ServedModel:
    """The latest version of one exported model, loaded on first use.

    Args:
        base_dir: `saved_models/NAME`, holding integer-named version directories.

    Raises:
        UsageError: The directory does not exist or holds no version.
    """

    def __init__(self, base_dir: str | Path) -> None:
        self.base_dir = Path(base_dir)
        self.name = self.base_dir.resolve().name
        if not self.base_dir.is_dir():
            raise UsageError(
                f"{self.base_dir} is not a directory; pass saved_models/NAME as written by "
                "`zoo export`."
            )
        if not list_versions(self.base_dir):
            hint = (
                f"pass its parent, {self.base_dir.resolve().parent}"
                if (self.base_dir / "saved_model.pb").is_file()
                else "export one with `zoo export RUN`"
            )
            raise UsageError(
                f"{self.base_dir} holds no model version (integer-named SavedModel "
                f"directories); {hint}."
            )
        self._version = 0  # the served version; 0 until one is loaded
        self._model: Any = None
        self._ended: set[int] = set()  # versions the served one replaced
        self._lock = threading.Lock()

    def latest_version(self) -> int:
        """The highest version on disk now."""
        versions = list_versions(self.base_dir)
        if not versions:
            raise RequestError(HTTPStatus.NOT_FOUND, f"No versions of servable {self.name} found")
        return versions[-1]

    def get(self, version: int | None = None) -> tuple[int, Any]:
        """The latest version and its loaded SavedModel, loading it when it is new.

        Args:
            version: The version a request names; only the latest is served.

        Raises:
            RequestError: `version` is not the latest, or the latest fails to load.
        """
        import tensorflow as tf

        with self._lock:
            latest = self.latest_version()
            if version is not None and version != latest:
                raise RequestError(
                    HTTPStatus.NOT_FOUND,
                    f"Servable not found for request: Specific({self.name}, {version})",
                )
            if latest != self._version:
                directory = self.base_dir / str(latest)
                if not (directory / "saved_model.pb").is_file():
                    raise RequestError(
                        HTTPStatus.NOT_FOUND,
                        f"Servable not found for request: Specific({self.name}, {latest})",
                    )
                try:
                    model = tf.saved_model.load(str(directory))
                except Exception as error:  # noqa: BLE001  (reported to the client)
                    raise RequestError(
                        HTTPStatus.INTERNAL_SERVER_ERROR,
                        f"Version {latest} of {self.name} failed to load: {_first_line(error)}",
                    ) from None
                if self._version:
                    self._ended.add(self._version)
                self._ended.discard(latest)
                self._version, self._model = latest, model
            return self._version, self._model

    def status(self, version: int | None) -> dict[str, Any]:
        """The `GET /v1/models/NAME[/versions/V]` answer.

        Raises:
            RequestError: `version` is neither served nor replaced while serving (404).
        """
        self.get()
        with self._lock:
            states = dict.fromkeys(self._ended, "END")
            states[self._version] = "AVAILABLE"
        if version is not None:
            if version not in states:
                raise RequestError(
                    HTTPStatus.NOT_FOUND, f"Could not find version {version} of model {self.name}"
                )
            states = {version: states[version]}
        return {
            "model_version_status": [
                {
                    "version": str(number),
                    "state": state,
                    "status": {"error_code": "OK", "error_message": ""},
                }
                for number, state in sorted(states.items(), reverse=True)
            ]
        }

    def metadata(self, version: int | None) -> dict[str, Any]:
        """The `GET .../metadata` answer: the SignatureDefMap as TF Serving writes it."""
        from google.protobuf import json_format
        from tensorflow.core.protobuf import saved_model_pb2

        version, _ = self.get(version)
        saved_model = saved_model_pb2.SavedModel()
        saved_model.ParseFromString((self.base_dir / str(version) / "saved_model.pb").read_bytes())
        graph = next(
            (g for g in saved_model.meta_graphs if "serve" in g.meta_info_def.tags),
            saved_model.meta_graphs[0],
        )
        signatures = {
            key: json_format.MessageToDict(value, preserving_proto_field_name=True)
            for key, value in graph.signature_def.items()
        }
        return {
            "model_spec": {"name": self.name, "signature_name": "", "version": str(version)},
            "metadata": {"signature_def": {"signature_def": signatures}},
        }

    def predict(self, body: Any, version: int | None) -> dict[str, Any]:
        """The `POST ...:predict` answer.

        Raises:
            RequestError: A malformed request (400), or an unknown version (404).
        """
        import tensorflow as tf

        if not isinstance(body, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "The request body must be a JSON object")
        if ("instances" in body) == ("inputs" in body):
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                "Request must have exactly one of 'instances' (row format) or 'inputs' "
                "(columnar format)",
            )
        _, loaded = self.get(version)
        signature_name = body.get("signature_name") or DEFAULT_SIGNATURE
        if signature_name not in loaded.signatures:
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f'Serving signature name: "{signature_name}" not found in signature def',
            )
        function = loaded.signatures[signature_name]
        specs: dict[str, Any] = function.structured_input_signature[1]
        row_format = "instances" in body
        if row_format:
            columns = _columns_from_instances(body["instances"], specs)
        else:
            columns = _columns_from_inputs(body["inputs"], specs)
        tensors = {name: _to_tensor(name, value, specs[name]) for name, value in columns.items()}
        try:
            outputs = function(**tensors)
        except tf.errors.InvalidArgumentError as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, tf_error_message(error)) from None
        except tf.errors.OpError as error:
            raise RequestError(HTTPStatus.INTERNAL_SERVER_ERROR, tf_error_message(error)) from None
        values = {name: _to_json(name, tensor.numpy()) for name, tensor in outputs.items()}
        if row_format:
            if len(values) == 1:
                return {"predictions": next(iter(values.values()))}
            rows = len(next(iter(values.values())))
            return {
                "predictions": [
                    {name: value[i] for name, value in values.items()} for i in range(rows)
                ]
            }
        if len(values) == 1:
            return {"outputs": next(iter(values.values()))}
        return {"outputs": values}


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"JSON Parse error: {error}") from None


def _first_line(error: Any, limit: int = 300) -> str:
    lines = str(error).strip().splitlines()
    line = lines[0].strip() if lines else type(error).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _columns_from_instances(instances: Any, specs: dict[str, Any]) -> dict[str, list[Any]]:
    if not isinstance(instances, list) or not instances:
        raise RequestError(HTTPStatus.BAD_REQUEST, "'instances' must be a non-empty JSON list")
    named = all(isinstance(item, dict) and not _is_b64(item) for item in instances)
    if not named:
        if len(specs) != 1:
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"The signature takes {len(specs)} inputs ({', '.join(sorted(specs))}); "
                "give each instance as an object with those keys",
            )
        return {next(iter(specs)): instances}
    columns: dict[str, list[Any]] = {}
    for name in specs:
        if not all(name in item for item in instances):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"Missing input '{name}' in an instance")
        columns[name] = [item[name] for item in instances]
    extra = {key for item in instances for key in item} - set(specs)
    if extra:
        raise RequestError(
            HTTPStatus.BAD_REQUEST, f"Unknown input(s) {', '.join(sorted(extra))} in the instances"
        )
    return columns


def _columns_from_inputs(inputs: Any, specs: dict[str, Any]) -> dict[str, Any]:
    if isinstance(inputs, dict) and not _is_b64(inputs):
        missing = set(specs) - set(inputs)
        extra = set(inputs) - set(specs)
        if missing or extra:
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"'inputs' must have the keys {', '.join(sorted(specs))}; "
                f"missing: {', '.join(sorted(missing)) or '-'}, unknown: "
                f"{', '.join(sorted(extra)) or '-'}",
            )
        return dict(inputs)
    if len(specs) != 1:
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"The signature takes {len(specs)} inputs; give 'inputs' as an object",
        )
    return {next(iter(specs)): inputs}


def _decode_strings(value: Any) -> Any:
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError):
            raise RequestError(
                HTTPStatus.BAD_REQUEST, "A 'b64' value is not valid base64"
            ) from None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return [_decode_strings(item) for item in value]
    raise RequestError(
        HTTPStatus.BAD_REQUEST, f"Expected a string or {{'b64': ...}}, got {type(value).__name__}"
    )


def _to_tensor(name: str, value: Any, spec: Any) -> Any:
    import numpy as np
    import tensorflow as tf

    if spec.dtype.is_integer:
        _check_integers(name, value, spec.dtype)
    try:
        if spec.dtype == tf.string:
            array = np.array(_decode_strings(value), dtype=object)
        else:
            array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
    except RequestError:
        raise
    except (ValueError, TypeError, OverflowError) as error:
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"Input '{name}' is not a well-formed {spec.dtype.name} tensor: {_first_line(error)}",
        ) from None
    if not spec.shape.is_compatible_with(array.shape):
        expected = [-1 if dim is None else dim for dim in spec.shape.as_list()]
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"Input '{name}' has shape {list(array.shape)}, the signature expects {expected}",
        )
    return tf.constant(array, dtype=spec.dtype)


def _check_integers(name: str, value: Any, dtype: Any) -> None:
    """Refuses values an integer input would change: fractions, booleans, out of range."""
    low, high = dtype.min, dtype.max
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(reversed(item))
        elif type(item) is not int or not low <= item <= high:
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"Input '{name}' takes integers from {low} to {high} ({dtype.name}); "
                f"received {_first_line(json.dumps(item))}",
            )


def _to_json(name: str, array: Any) -> Any:
    if array.dtype == object:
        return _strings_to_json(array.tolist(), as_b64=name.endswith("_bytes"))
    return array.tolist()


def _strings_to_json(value: Any, as_b64: bool) -> Any:
    if isinstance(value, list):
        return [_strings_to_json(item, as_b64) for item in value]
    if isinstance(value, bytes):
        if not as_b64:
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return {"b64": base64.b64encode(value).decode("ascii")}
    return value


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            body = self._read_body()
            status, document = HTTPStatus.OK, self._answer(method, body)
        except RequestError as error:
            status, document = error.status, {"error": str(error)}
        except Exception as error:  # noqa: BLE001  (the server must keep serving)
            status, document = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": _first_line(error)}
        answer = json.dumps(document, indent=1).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer)

    def _answer(self, method: str, body: bytes) -> dict[str, Any]:
        model = self.server.model
        match = _ROUTE.match(self.path.split("?", 1)[0])
        if match is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"Malformed request: {method} {self.path}")
        name, action = match["name"], match["action"] or ""
        version = int(match["version"]) if match["version"] else None
        if name != model.name:
            spec = f"Specific({name}, {version})" if version else f"Latest({name})"
            raise RequestError(HTTPStatus.NOT_FOUND, f"Servable not found for request: {spec}")
        if match["label"]:
            raise RequestError(
                HTTPStatus.NOT_FOUND, f"Unrecognized servable version label: {match['label']}"
            )
        if method == "GET" and action == "":
            return model.status(version)
        if method == "GET" and action == "/metadata":
            return model.metadata(version)
        if method == "POST" and action == ":predict":
            return model.predict(_parse_json(body), version)
        if method == "POST" and action in (":classify", ":regress"):
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"{action[1:]} is not supported by this server; use :predict",
            )
        raise RequestError(HTTPStatus.NOT_FOUND, f"Malformed request: {method} {self.path}")

    def _read_body(self) -> bytes:
        """The request body, sent with a Content-Length or chunked.

        Every request's body is read, whatever the route, so that the next
        request on a kept-alive connection starts where this one ends.

        Raises:
            RequestError: The body is malformed, too large or in an unsupported
                transfer coding; the connection is then closed after the answer,
                since where the next request starts is unknown.
        """
        try:
            coding = self.headers.get("Transfer-Encoding")
            if coding is None:
                return self.rfile.read(self._content_length())
            if coding.strip().lower() != "chunked":
                raise RequestError(
                    HTTPStatus.NOT_IMPLEMENTED,
                    f"Transfer-Encoding {coding!r} is not supported; send the body chunked "
                    "or with a Content-Length",
                )
            return self._read_chunked()
        except RequestError:
            self.close_connection = True
            raise

    def _content_length(self) -> int:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise RequestError(HTTPStatus.BAD_REQUEST, "Bad Content-Length header")
        if length > MAX_REQUEST_BYTES:
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"Request body of {length} bytes exceeds {MAX_REQUEST_BYTES} bytes",
            )
        return length

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_field = self._chunked_line().split(b";", 1)[0].strip()  # drops extensions
            if not _CHUNK_SIZE.fullmatch(size_field):
                raise RequestError(HTTPStatus.BAD_REQUEST, "Malformed chunk size in the body")
            size = int(size_field, 16)
            if size == 0:
                break
            if len(body) + size > MAX_REQUEST_BYTES:
                raise RequestError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"Chunked request body exceeds {MAX_REQUEST_BYTES} bytes",
                )
            chunk = self.rfile.read(size)
            if len(chunk) < size or self._chunked_line().strip():
                raise RequestError(
                    HTTPStatus.BAD_REQUEST, "A chunk of the body does not match its size"
                )
            body += chunk
        while self._chunked_line().strip():  # trailer fields, which carry nothing needed
            pass
        return bytes(body)

    def _chunked_line(self) -> bytes:
        line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
        if len(line) > _MAX_CHUNK_LINE or not line.endswith(b"\n"):
            raise RequestError(HTTPStatus.BAD_REQUEST, "Malformed chunked request body")
        return line

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        self.server.log(f"{self.address_string()} {format % args}")


class ModelServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to one `ServedModel`.

    Args:
        model: What to serve.
        address: `(host, port)`; port 0 picks a free port.
        log: Called with one line per request (default: silent).
    """

    daemon_threads = True

    def __init__(
        self,
        model: ServedModel,
        address: tuple[str, int],
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.model = model
        self.log = log or (lambda line: None)

    @property
    def url(self) -> str:
        """The model's base URL, e.g. `http://127.0.0.1:8501/v1/models/NAME`."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1/models/{self.model.name}"


def make_server(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8501,
    log: Callable[[str], None] | None = None,
) -> ModelServer:
    """Loads the latest version of an exported model and binds a server to it.

    Call `serve_forever()` on the result (and `shutdown()` / `server_close()`
    to stop it).

    Args:
        model_dir: `saved_models/NAME`.
        host: Address to listen on; keep the loopback default unless you know
            why not: there is no authentication.
        port: TCP port (TF Serving's REST default is 8501; 0 picks a free one).
        log: Called with one line per request.

    Returns:
        The bound, not yet serving, server.

    Raises:
        UsageError: No model there, a version that fails to load, or the port is taken.
    """
    model = ServedModel(model_dir)
    try:
        model.get()
    except RequestError as error:
        raise UsageError(str(error)) from None
    try:
        return ModelServer(model, (host, port), log)
    except OSError as error:
        raise UsageError(
            f"Cannot listen on {host}:{port} ({error.strerror or error}); pick another --port."
        ) from None
