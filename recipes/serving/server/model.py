"""The version policy of one served model, as TF Serving's default (latest) policy keeps it.

The highest version on disk that loads is served, and a version exported while
the server runs replaces the one before it. A version that fails to load (an
empty or half-copied folder) is reported in the status and the last version
that loaded keeps serving; it is tried again once its files change. A version
overwritten in place (`zoo export --overwrite`) is loaded again. A request
naming another version gets 404 (`Servable not found for request:
Specific(NAME, V)`); the status lists the served version as `AVAILABLE`, the
versions it replaced as `END`, and versions that failed to load as `END` with
their error.
"""

from __future__ import annotations

import os
import stat
import threading
from http import HTTPStatus
from pathlib import Path
from typing import Any

from recipes.config.schema import DEFAULT_MAX_PIXELS
from recipes.serving.export import DEFAULT_SIGNATURE, list_versions
from recipes.serving.export.signatures import read_limits
from recipes.serving.server.codec import (
    RequestError,
    columns_from_inputs,
    columns_from_instances,
    to_json,
    to_tensor,
)
from recipes.serving.server.limits import ServeLimits, check_images, check_instances
from zoo.errors import UsageError, first_line, op_error_message


def _files_signature(directory: Path) -> tuple[Any, ...]:
    """What identifies a version folder's contents: its inode and every file's size and time.

    A folder replaced by `zoo export --overwrite` gets a new inode; one being
    copied gains files or sizes.
    """
    try:
        entries: list[Any] = [os.stat(directory).st_ino]
    except OSError:
        return ()
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            entries.append((path, info.st_size, info.st_mtime_ns))
    return tuple(sorted(entries, key=str))


def _special_file(directory: Path) -> str | None:
    """The first file of a version folder that is not a regular file (a FIFO, a device), if any.

    Opening a FIFO waits for a writer, and TensorFlow would wait holding the
    interpreter: the whole server would stop answering. `stat` never waits.
    """
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            try:
                regular = stat.S_ISREG(os.stat(path).st_mode)
            except OSError:
                regular = False  # a dangling link: nothing to read either
            if not regular:
                return os.path.relpath(path, directory)
    return None


class ServedModel:
    """The served version of one exported model, loaded on first use.

    Args:
        base_dir: `saved_models/NAME`, holding integer-named version directories.
        limits: What one request may ask for.

    Raises:
        UsageError: The directory does not exist or holds no version.
    """

    def __init__(self, base_dir: str | Path, limits: ServeLimits | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.name = self.base_dir.resolve().name
        self.limits = limits or ServeLimits()
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
        self._signature: tuple[Any, ...] = ()  # the served version's files when loaded
        self.max_pixels = DEFAULT_MAX_PIXELS  # the served export's per-image limit
        self._ended: set[int] = set()  # versions the served one replaced
        self._failed: dict[int, tuple[tuple[Any, ...], str]] = {}  # version: (files, error)
        self._lock = threading.Lock()  # guards the fields above
        self._loading = threading.Lock()  # one load at a time

    def latest_version(self) -> int:
        """The version served now (loading the latest one that loads first)."""
        return self.get()[0]

    def get(self, version: int | None = None) -> tuple[int, Any]:
        """The served version and its loaded SavedModel, after loading a newer one if any.

        Args:
            version: The version a request names; only the served one is answered.

        Raises:
            RequestError: `version` is not the served one (404), or no version loads.
        """
        self._refresh()
        with self._lock:
            served, model = self._version, self._model
            failures = dict(self._failed)
        if model is None:
            if failures:
                _, (_, error) = max(failures.items())
                raise RequestError(HTTPStatus.INTERNAL_SERVER_ERROR, error)
            raise RequestError(HTTPStatus.NOT_FOUND, f"No versions of servable {self.name} found")
        if version is not None and version != served:
            raise RequestError(
                HTTPStatus.NOT_FOUND,
                f"Servable not found for request: Specific({self.name}, {version})",
            )
        return served, model

    def _refresh(self) -> None:
        """Loads the highest version that is new or changed, unless it failed as it is now.

        While another request loads a version, the served one keeps answering;
        only before any version has loaded do requests wait for the load.
        """
        with self._lock:
            waiting = self._model is None
        if not self._loading.acquire(blocking=waiting):
            return
        try:
            for number in reversed(list_versions(self.base_dir)):
                directory = self.base_dir / str(number)
                signature = _files_signature(directory)
                with self._lock:
                    if number == self._version and signature == self._signature:
                        return
                    failed = self._failed.get(number)
                if failed is not None and failed[0] == signature:
                    continue
                if self._load(number, directory, signature):
                    return
        finally:
            self._loading.release()

    def _load(self, number: int, directory: Path, signature: tuple[Any, ...]) -> bool:
        """Loads one version and serves it; records the error when it fails."""
        import tensorflow as tf

        special = _special_file(directory)
        if not (directory / "saved_model.pb").is_file():
            error = f"Version {number} of {self.name} has no saved_model.pb"
        elif special is not None:
            error = (
                f"Version {number} of {self.name} holds {special}, which is not a regular file; "
                "it was not loaded"
            )
        else:
            try:
                model = tf.saved_model.load(str(directory))
            except Exception as exception:  # noqa: BLE001  (reported in the status)
                error = f"Version {number} of {self.name} failed to load: {first_line(exception)}"
            else:
                with self._lock:
                    if self._version and self._version != number:
                        self._ended.add(self._version)
                    self._ended.discard(number)
                    self._failed.pop(number, None)
                    self._version, self._model, self._signature = number, model, signature
                    self.max_pixels = read_limits(directory).get("max_pixels", DEFAULT_MAX_PIXELS)
                return True
        with self._lock:
            self._failed[number] = (signature, error)
        return False

    def status(self, version: int | None) -> dict[str, Any]:
        """The `GET /v1/models/NAME[/versions/V]` answer.

        Raises:
            RequestError: `version` is neither served, replaced nor failed (404).
        """
        self._refresh()
        with self._lock:
            states = {number: ("END", "OK", "") for number in self._ended}
            for number, (_, error) in self._failed.items():
                states[number] = ("END", "UNKNOWN", error)
            if self._model is not None:
                states[self._version] = ("AVAILABLE", "OK", "")
        if not states:
            raise RequestError(HTTPStatus.NOT_FOUND, f"No versions of servable {self.name} found")
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
                    "status": {"error_code": code, "error_message": message},
                }
                for number, (state, code, message) in sorted(states.items(), reverse=True)
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
        # TF Serving prints every primitive field, defaults included (`"unknown_rank":
        # false`, a dimension's `"name": ""`), and leaves empty lists and maps out.
        signatures = {
            key: _without_empty(
                json_format.MessageToDict(
                    value,
                    preserving_proto_field_name=True,
                    always_print_fields_with_no_presence=True,
                )
            )
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
        if not isinstance(signature_name, str):
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"'signature_name' must be a string; received a {type(signature_name).__name__}",
            )
        if signature_name not in loaded.signatures:
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f'Serving signature name: "{signature_name}" not found in signature def',
            )
        function = loaded.signatures[signature_name]
        specs: dict[str, Any] = function.structured_input_signature[1]
        row_format = "instances" in body
        if row_format:
            columns = columns_from_instances(body["instances"], specs)
        else:
            columns = columns_from_inputs(body["inputs"], specs)
        tensors = {name: to_tensor(name, value, specs[name]) for name, value in columns.items()}
        check_instances(tensors, self.limits)
        check_images(tensors, self.max_pixels, self.limits)
        try:
            outputs = function(**tensors)
        except tf.errors.InvalidArgumentError as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, op_error_message(error)) from None
        except tf.errors.OpError as error:
            raise RequestError(HTTPStatus.INTERNAL_SERVER_ERROR, op_error_message(error)) from None
        values = {name: to_json(name, tensor.numpy()) for name, tensor in outputs.items()}
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


def _without_empty(value: Any) -> Any:
    """A JSON value without its empty lists and objects (at any depth)."""
    if isinstance(value, dict):
        kept = {key: _without_empty(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in ({}, [])}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value
