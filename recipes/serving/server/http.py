"""The HTTP side of `zoo serve`: routes, bodies (Content-Length or chunked), answers.

It is meant for development and tests on a loopback address; use the
`tensorflow/serving` container in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from recipes.serving.server.codec import RequestError, parse_json
from recipes.serving.server.model import ServedModel
from zoo.errors import UsageError, first_line

MAX_REQUEST_BYTES = 64 * 1024 * 1024
_MAX_CHUNK_LINE = 4096  # a chunk-size line with its extensions, or a trailer field
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[0-9]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<action>/metadata|:predict|:classify|:regress)?/?$"
)


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
            status, document = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": first_line(error)}
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
            return model.predict(parse_json(body), version)
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
