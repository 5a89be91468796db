"""`zoo serve`: a small HTTP server that speaks TensorFlow Serving's REST API for one model.

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

from recipes.serving.server.codec import RequestError
from recipes.serving.server.http import MAX_REQUEST_BYTES, ModelServer, make_server
from recipes.serving.server.model import ServedModel

__all__ = ["MAX_REQUEST_BYTES", "ModelServer", "RequestError", "ServedModel", "make_server"]
