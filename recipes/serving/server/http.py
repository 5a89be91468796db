"""The HTTP server of `zoo serve`: uvicorn (h11) running the `ServingApp`.

uvicorn handles connections, keep-alive, chunked bodies, the listen backlog
and malformed or ambiguous requests (h11 refuses two different
`Content-Length` headers, for one). Two things it leaves open are closed here:
a connection that sends no complete request head is closed after the request
timeout (uvicorn's keep-alive timer starts only after a first answer, and
every byte received resets it: Kludex/uvicorn#157), and the socket is bound
before serving starts, so a taken port is a one-line error.

It is meant for development and tests on a loopback address; use the
`tensorflow/serving` container in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from recipes.serving.server.app import ServingApp
from recipes.serving.server.codec import RequestError
from recipes.serving.server.limits import ServeLimits
from recipes.serving.server.model import ServedModel
from zoo.errors import UsageError

BACKLOG = 1024
"""Connections the kernel queues before the server accepts them."""
KEEP_ALIVE_SECONDS = 5


def connection_cap(reserved: int = 64) -> int:
    """The most connections to keep: the file limit (raised to the hard one) less `reserved`.

    Each connection is a file descriptor; past the limit, `accept` fails and
    the model's own files cannot be opened ("Too many open files").
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
            soft = max(soft, wanted)
    return max(8, soft - reserved)


def _protocol_with_head_deadline(seconds: float, cap: int) -> type[H11Protocol]:
    """Uvicorn's h11 protocol, with two ways of closing connections that hold a file for nothing.

    A connection that sends no complete request head within `seconds` is
    closed; at `cap` connections, idle ones (between requests) are closed to
    make room for a new one.
    """

    class HeadDeadlineProtocol(H11Protocol):
        _head_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_deadline()
            excess = len(self.connections) - cap
            if excess > 0:  # shed idle connections first; uvicorn answers 503 past the cap
                idle = [
                    other
                    for other in self.connections
                    if other is not self
                    and other.conn.their_state is h11.IDLE
                    and other.conn.our_state is h11.IDLE
                ]
                for other in idle[:excess]:
                    other.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_head_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
            super().connection_lost(exc)

        def _arm_head_deadline(self) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
            self._head_deadline = self.loop.call_later(seconds, self._head_overdue)

        def _head_overdue(self) -> None:
            self._head_deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()  # no request head yet: nothing to answer

    return HeadDeadlineProtocol


class ModelServer:
    """An HTTP server bound to one `ServedModel`.

    Call `serve_forever()` (in any thread), then `shutdown()` from another
    thread and `server_close()`.

    Args:
        model: What to serve.
        address: `(host, port)`; port 0 picks a free port.
        limits: What one request may ask for.
        log: Called with one line per request (default: silent).

    Raises:
        OSError: The address cannot be bound.
    """

    def __init__(
        self,
        model: ServedModel,
        address: tuple[str, int],
        limits: ServeLimits | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.model = model
        self.limits = limits or model.limits
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._socket = socket.create_server(address, family=family, backlog=BACKLOG)
        self.server_address = self._socket.getsockname()
        cap = self.limits.max_connections or connection_cap()
        config = uvicorn.Config(
            ServingApp(model, self.limits, log or (lambda line: None)),
            http=_protocol_with_head_deadline(self.limits.request_timeout, cap),
            limit_concurrency=cap + 1,  # the new connection counts until an idle one is shed
            lifespan="off",
            log_config=None,
            access_log=False,
            backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        """The model's base URL, e.g. `http://127.0.0.1:8501/v1/models/NAME`."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1/models/{self.model.name}"

    def serve_forever(self) -> None:
        """Serves until `shutdown()` (or Ctrl-C in the main thread)."""
        self._stopped.clear()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._stopped.set()

    def shutdown(self, timeout: float = 10) -> None:
        """Stops `serve_forever()` and waits for it to return."""
        self._server.should_exit = True
        self._stopped.wait(timeout)

    def server_close(self) -> None:
        """Closes the listening socket."""
        self._socket.close()


def make_server(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8501,
    limits: ServeLimits | None = None,
    log: Callable[[str], None] | None = None,
) -> ModelServer:
    """Loads the latest version of an exported model and binds a server to it.

    Args:
        model_dir: `saved_models/NAME`.
        host: Address to listen on; keep the loopback default unless you know
            why not: there is no authentication.
        port: TCP port (TF Serving's REST default is 8501; 0 picks a free one).
        limits: What one request may ask for (default: `ServeLimits()`).
        log: Called with one line per request.

    Returns:
        The bound, not yet serving, server.

    Raises:
        UsageError: No model there, no version that loads, or the port is taken.
    """
    model = ServedModel(model_dir, limits)
    try:
        model.get()
    except RequestError as error:
        raise UsageError(str(error)) from None
    try:
        return ModelServer(model, (host, port), limits, log)
    except OSError as error:
        raise UsageError(
            f"Cannot listen on {host}:{port} ({error.strerror or error}); pick another --port."
        ) from None
