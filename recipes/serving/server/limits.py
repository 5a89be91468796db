"""What one request to `zoo serve` may ask for: bytes, instances, pixels and time.

Every limit bounds the memory and time one request can take, so that a
hostile or careless client cannot take the server down or keep other clients
waiting. Images are measured from their headers before any is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from recipes.data.headers import header_from_bytes
from recipes.serving.server.codec import RequestError


@dataclass(frozen=True)
class ServeLimits:
    """Limits on one request.

    Attributes:
        max_request_bytes: Largest request body (413 beyond).
        max_instances: Most instances (images) in one request (413 beyond).
        max_request_pixels: Most pixels all images of one request may decode
            to together, as their headers announce them (413 beyond); each
            image is also held to its export's own limit (400 beyond).
        request_timeout: Seconds a client has to send a whole request, from
            the connection (or the previous answer) to the body's last byte.
        concurrent_predictions: Predictions computed at once; more wait their
            turn, while status and metadata requests are answered meanwhile.
        max_inflight_bytes: Most bytes of request bodies the server holds at
            once, over all connections (503 beyond: the client may retry).
        max_request_elements: Most JSON values (numbers, strings, arrays) one
            body may hold (413 beyond): parsing costs by the element, and 30 MB
            of `0,` or `[]` would take a minute and gigabytes.
        max_connections: Most connections kept open (`None`: the process's
            file limit, raised to its hard limit, less 64); at the cap, idle
            connections are closed first, then new requests get 503.
    """

    max_request_bytes: int = 32 * 2**20
    max_instances: int = 1024
    max_request_pixels: int = 200_000_000
    request_timeout: float = 30.0
    concurrent_predictions: int = 2
    max_inflight_bytes: int = 256 * 2**20
    max_request_elements: int = 4_000_000
    max_connections: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "max_request_bytes",
            "max_instances",
            "max_request_pixels",
            "max_inflight_bytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1. Received: {getattr(self, name)}")
        if not self.request_timeout > 0 or self.concurrent_predictions < 1:
            raise ValueError("request_timeout and concurrent_predictions must be positive")


def check_elements(body: bytes, limits: ServeLimits) -> None:
    """Refuses a body holding more JSON values than the limit, before it is parsed.

    Every value after the first in an array is preceded by a comma, and every
    array opens with a bracket: their count bounds the values from above (and
    commas inside strings, which base64 never holds, only make it stricter).
    Counting bytes in C takes milliseconds where parsing takes minutes.

    Raises:
        RequestError: 413 with the count and the limit.
    """
    count = body.count(b",") + body.count(b"[")
    if count > limits.max_request_elements:
        raise RequestError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"The request holds about {count} JSON values; the limit is "
            f"{limits.max_request_elements} (send images as base64 bytes rather than numbers)",
        )


def check_instances(tensors: dict[str, Any], limits: ServeLimits) -> None:
    """Refuses a request with more instances than the limit.

    Raises:
        RequestError: 413 with the count and the limit.
    """
    count = max(
        (int(tensor.shape[0]) for tensor in tensors.values() if tensor.shape.rank), default=1
    )
    if count > limits.max_instances:
        raise RequestError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"The request holds {count} instances; the limit is {limits.max_instances} "
            "(zoo serve --max-instances)",
        )


def check_images(tensors: dict[str, Any], max_pixels: int, limits: ServeLimits) -> None:
    """Refuses images larger than the export's limit, and requests with too many pixels.

    Encoded images (string inputs) are measured by their headers; pixel
    batches (`[N, H, W, C]` numbers) by their shape.

    Args:
        tensors: The request's inputs by name.
        max_pixels: The most pixels one image may announce (the export's limit).
        limits: The request limits.

    Raises:
        RequestError: 400 for one image over `max_pixels`, 413 for a request
            over `limits.max_request_pixels`.
    """
    import tensorflow as tf

    total = 0
    for name, tensor in tensors.items():
        if tensor.dtype != tf.string:
            if tensor.shape.rank == 4:
                total += int(tensor.shape[0]) * int(tensor.shape[1]) * int(tensor.shape[2])
            continue
        for index, contents in enumerate(tensor.numpy().reshape(-1)):
            header = header_from_bytes(contents)
            if header is None:
                continue  # not an image the decoder takes: the graph says so
            if header.format == "JPEG" and header.pixels == 0:
                # The bounded scan found no frame header: its size is unknown, not zero.
                raise RequestError(
                    HTTPStatus.BAD_REQUEST,
                    f"Image {index} of '{name}' is a JPEG whose size is not in its first "
                    "segments (no frame header within the header scan's bound); re-encode it",
                )
            if header.pixels > max_pixels:
                frames = f" in {header.frames} frames" if header.frames > 1 else ""
                raise RequestError(
                    HTTPStatus.BAD_REQUEST,
                    f"Image {index} of '{name}' is {header.width}x{header.height}{frames} "
                    f"({header.pixels} pixels); the limit is {max_pixels} pixels",
                )
            total += header.pixels
    if total > limits.max_request_pixels:
        raise RequestError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"The request's images hold {total} pixels together; the limit is "
            f"{limits.max_request_pixels} (zoo serve --max-request-pixels)",
        )
