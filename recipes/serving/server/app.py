"""The ASGI application behind `zoo serve`: TF Serving's REST routes, bodies within limits.

Status and metadata requests are answered at once; predictions (JSON parsing
included) run in worker threads, at most `ServeLimits.concurrent_predictions`
at a time, so one large request neither blocks the event loop nor other
clients' status checks, and the memory in use stays bounded.
"""

from __future__ import annotations

import asyncio
import ctypes
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from recipes.serving.server.codec import RequestError, encode_answer, parse_json
from recipes.serving.server.limits import ServeLimits, check_elements
from recipes.serving.server.model import ServedModel
from zoo.errors import first_line

_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[1-9][0-9]*)|/labels/(?P<label>[^/:]+))?"
    r"(?P<action>/metadata|:predict|:classify|:regress)?/?$"
)
_METHODS = ("GET", "POST")
_LARGE_BODY = 1 << 20
"""Bodies from this size on are followed by handing freed memory back to the system."""


def give_memory_back() -> None:
    """Returns the C heap's free memory to the system (glibc keeps large freed blocks).

    Python frees a large body's buffer at once, but glibc's allocator keeps
    freed blocks up to 32 MiB in its heap for reuse, so a burst of large
    requests would leave the process at its peak size; `malloc_trim` gives
    them back. Elsewhere than glibc it does nothing.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


class ServingApp:
    """TF Serving's REST API for one `ServedModel`, as an ASGI application.

    Args:
        model: What to serve.
        limits: What one request may ask for.
        log: Called with one line per request.
    """

    def __init__(self, model: ServedModel, limits: ServeLimits, log: Callable[[str], None]) -> None:
        self.model = model
        self.limits = limits
        self.log = log
        self._predictions: anyio.CapacityLimiter | None = None  # made in the server's loop
        self._inflight = 0  # body bytes held now, over all requests (changed in the loop only)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan events need no answer
            return
        request = Request(scope, receive)
        headers = {}
        if "transfer-encoding" in request.headers and "content-length" in request.headers:
            headers["Connection"] = "close"  # RFC 9112, 6.1: the framing is in doubt
        held = [0]  # the body bytes this request holds, given back when it is answered
        try:
            document = await self._answer(request, held)
            status = HTTPStatus.OK
        except RequestError as error:
            status, document = error.status, {"error": str(error)}
            if error.close:
                headers["Connection"] = "close"
            if status == HTTPStatus.METHOD_NOT_ALLOWED:
                headers["Allow"] = ", ".join(_METHODS)
        except Exception as error:  # noqa: BLE001  (the server must keep serving)
            status, document = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": first_line(error)}
        finally:
            self._inflight -= held[0]
            if held[0] >= _LARGE_BODY:
                give_memory_back()
        try:
            answer = encode_answer(document)
        except ValueError:
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            answer = encode_answer({"error": "The model's output holds NaN or infinite values"})
        response = Response(answer, status, headers, media_type="application/json")
        await response(scope, receive, send)
        client = f"{request.client.host}:{request.client.port}" if request.client else "-"
        self.log(f"{client} {request.method} {request.url.path} {status.value}")

    async def _answer(self, request: Request, held: list[int]) -> dict[str, Any]:
        method, path = request.method, request.url.path
        if method not in _METHODS:
            await self._read_body(request, held)
            raise RequestError(
                HTTPStatus.METHOD_NOT_ALLOWED, f"Method {method} is not allowed; use GET or POST"
            )
        body = await self._read_body(request, held)
        match = _ROUTE.match(path)
        if match is None:
            return self._outside_the_api(method, path)
        name, action = match["name"], match["action"] or ""
        version = int(match["version"]) if match["version"] else None
        if name != self.model.name:
            spec = f"Specific({name}, {version})" if version else f"Latest({name})"
            raise RequestError(HTTPStatus.NOT_FOUND, f"Servable not found for request: {spec}")
        if match["label"]:
            raise RequestError(
                HTTPStatus.NOT_FOUND, f"Unrecognized servable version label: {match['label']}"
            )
        if method == "GET" and action == "":
            return await anyio.to_thread.run_sync(self.model.status, version)
        if method == "GET" and action == "/metadata":
            return await anyio.to_thread.run_sync(self.model.metadata, version)
        if method == "POST" and action == ":predict":
            if self._predictions is None:
                self._predictions = anyio.CapacityLimiter(self.limits.concurrent_predictions)
            return await anyio.to_thread.run_sync(
                self._predict, body, version, limiter=self._predictions
            )
        if method == "POST" and action in (":classify", ":regress"):
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"{action[1:]} is not supported by this server; use :predict",
            )
        # As TF Serving: a path under /v1/ that names no route is a bad request (400).
        raise RequestError(HTTPStatus.BAD_REQUEST, f"Malformed request: {method} {path}")

    def _outside_the_api(self, method: str, path: str) -> dict[str, Any]:
        """`GET /` says what this server is; other paths: 400 under /v1/ (TF Serving), else 404."""
        if path.startswith("/v1/"):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"Malformed request: {method} {path}")
        base = f"/v1/models/{self.model.name}"
        if method == "GET" and path == "/":
            return {
                "server": "zoo serve: TensorFlow Serving's REST API for one exported model",
                "model": self.model.name,
                "routes": [
                    f"GET {base}[/versions/N]",
                    f"GET {base}[/versions/N]/metadata",
                    f"POST {base}[/versions/N]:predict",
                ],
            }
        raise RequestError(HTTPStatus.NOT_FOUND, f"Not found: {path} (this server answers {base})")

    def _hold(self, size: int, held: list[int]) -> None:
        """Counts `size` more body bytes against the server's budget, or refuses them (503)."""
        budget = self.limits.max_inflight_bytes
        if self._inflight + size > budget:
            raise RequestError(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"The server holds {self._inflight} bytes of request bodies, its budget is "
                f"{budget} (zoo serve --max-inflight-mb); retry later",
                close=True,
            )
        self._inflight += size
        held[0] += size

    def _predict(self, body: bytes, version: int | None) -> dict[str, Any]:
        check_elements(body, self.limits)
        try:
            return self.model.predict(parse_json(body), version)
        except RecursionError:  # a list nested deeper than the checks walking it can go
            raise RequestError(
                HTTPStatus.BAD_REQUEST, "The request's values are nested too deeply"
            ) from None

    async def _read_body(self, request: Request, held: list[int]) -> bytes:
        """The whole body, within the size limit, the server's budget and the time left.

        Every chunk is counted against `max_inflight_bytes` before it is kept
        (`held[0]` says how much this request holds), so many clients sending
        large bodies at once get 503 instead of taking the server's memory.

        Raises:
            RequestError: Too large (413), over the server's budget (503) or
                too slow (408); the connection is closed after the answer,
                since the rest of the body is unread.
        """
        limit = self.limits.max_request_bytes
        announced = request.headers.get("content-length")
        if announced is not None and int(announced) > limit:  # the server checked it is one
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"Request body of {announced} bytes exceeds {limit} bytes "
                "(zoo serve --max-request-mb)",
                close=True,
            )

        async def collect() -> bytes:
            body = bytearray()
            async for chunk in request.stream():
                self._hold(len(chunk), held)
                body += chunk
                if len(body) > limit:
                    raise RequestError(
                        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"Request body exceeds {limit} bytes (zoo serve --max-request-mb)",
                        close=True,
                    )
            return bytes(body)

        try:
            return await asyncio.wait_for(collect(), self.limits.request_timeout)
        except asyncio.TimeoutError:  # the builtin TimeoutError from Python 3.11
            raise RequestError(
                HTTPStatus.REQUEST_TIMEOUT,
                f"The request body did not arrive within {self.limits.request_timeout:g} s",
                close=True,
            ) from None
        except ClientDisconnect:
            raise RequestError(HTTPStatus.BAD_REQUEST, "The client went away", close=True) from None
