"""TensorFlow Serving's REST request and response format, without sockets.

A `:predict` body holds `instances` (row format, answered with `predictions`)
or `inputs` (columnar, answered with `outputs`); binary strings travel as
`{"b64": "..."}`. These functions turn a parsed body into the signature's
tensors and its outputs back into JSON values, and raise `RequestError` with
the HTTP status for anything malformed, so the server can be tested without a
network.
"""

from __future__ import annotations

import base64
import json
from http import HTTPStatus
from typing import Any

from recipes.serving.server import json_body
from zoo.errors import first_line


class RequestError(Exception):
    """A request that cannot be answered; carries the HTTP status.

    Args:
        status: The HTTP status of the answer.
        message: The answer's `error`.
        close: Close the connection after the answer (where the next request
            would start is unknown).
    """

    def __init__(self, status: HTTPStatus, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.close = close


def parse_json(body: bytes) -> Any:
    """The request body as strict JSON (no `NaN` or `Infinity` literals), parsed in steps.

    See `json_body`: other requests are answered while a large body is parsed.

    Raises:
        RequestError: Not valid JSON, or nested too deeply to parse (400).
    """
    try:
        return json_body.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise RequestError(HTTPStatus.BAD_REQUEST, f"JSON Parse error: {error}") from None
    except RecursionError:
        raise RequestError(HTTPStatus.BAD_REQUEST, "JSON Parse error: nested too deeply") from None


def encode_answer(document: Any) -> bytes:
    """An answer as strict JSON.

    Raises:
        ValueError: The document holds NaN or infinite numbers, which JSON
            cannot carry.
    """
    return json.dumps(document, indent=1, allow_nan=False).encode("utf-8")


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def columns_from_instances(instances: Any, specs: dict[str, Any]) -> dict[str, list[Any]]:
    """The row format's instances as one list per input of the signature."""
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


def columns_from_inputs(inputs: Any, specs: dict[str, Any]) -> dict[str, Any]:
    """The columnar format's inputs by name."""
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


def to_tensor(name: str, value: Any, spec: Any) -> Any:
    """A JSON value as a tensor of the input's dtype and shape.

    Raises:
        RequestError: Malformed values, integers out of range, a wrong shape (400).
    """
    import numpy as np
    import tensorflow as tf

    if spec.dtype.is_integer:
        _check_integers(name, value, spec.dtype)
    try:
        if spec.dtype == tf.string:
            array = np.array(_decode_strings(value), dtype=object)
        elif isinstance(value, list) and value and isinstance(value[0], list):
            # One instance at a time: one conversion of a whole large batch would
            # hold Python's global lock, and other clients would wait.
            dtype = spec.dtype.as_numpy_dtype
            array = np.stack([np.asarray(item, dtype=dtype) for item in value])
        else:
            array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
    except RequestError:
        raise
    except (ValueError, TypeError, OverflowError) as error:
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"Input '{name}' is not a well-formed {spec.dtype.name} tensor: {first_line(error)}",
        ) from None
    if spec.dtype.is_floating and not np.isfinite(array).all():
        raise RequestError(
            HTTPStatus.BAD_REQUEST,
            f"Input '{name}' holds values that are not finite {spec.dtype.name} numbers "
            f"(beyond +-{np.finfo(array.dtype).max:.3g})",
        )
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
                f"received {first_line(json.dumps(item))}",
            )


def to_json(name: str, array: Any) -> Any:
    """An output array as JSON values (strings as text, or `{"b64": ...}` for bytes)."""
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
