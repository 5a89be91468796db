"""`zoo serve`: a small HTTP server that speaks TensorFlow Serving's REST API for one model.

It serves `saved_models/NAME` (the layout `zoo export` writes) with plain
TensorFlow, so client code written for TF Serving runs unchanged against it:

- `GET  /v1/models/NAME[/versions/V]`: version status.
- `GET  /v1/models/NAME[/versions/V]/metadata`: the signature definitions.
- `POST /v1/models/NAME[/versions/V]:predict`: `{"signature_name": ...,
  "instances": [...]}` (row format, answered with `predictions`) or
  `{"inputs": ...}` (columnar, answered with `outputs`); binary strings as
  `{"b64": "..."}`.

Versions follow TF Serving's default version policy (the latest one): the
highest version on disk that loads is served, and a version exported while the
server runs replaces the one before it; one that fails to load is reported in
the status while the last one that loaded keeps serving (`model`).

Request bodies come with a `Content-Length` or `Transfer-Encoding: chunked`.
Bad requests, including image bytes that do not decode, images larger than the
export's pixel limit, and values of an integer input (`serving_images_uint8`)
that are not JSON integers in its range (`1.7`, `3.0`, `256`), get HTTP 400 and
`{"error": "..."}`; requests over the size, instance or pixel limits get 413
(`limits`); and the server keeps serving. The HTTP layer is uvicorn (`http`).
It is meant for development and tests on a loopback address; use the
`tensorflow/serving` container in production.
"""

from recipes.serving.server.codec import RequestError
from recipes.serving.server.http import ModelServer, make_server
from recipes.serving.server.limits import ServeLimits
from recipes.serving.server.model import ServedModel

__all__ = ["ModelServer", "RequestError", "ServeLimits", "ServedModel", "make_server"]
