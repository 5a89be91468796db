"""The version policy of one served model: the latest version on disk, loaded on first use.

Versions follow TF Serving's default version policy (the latest one): only the
highest version on disk is served, and a version exported while the server runs
replaces the one before it. A request naming another version gets 404
(`Servable not found for request: Specific(NAME, V)`); the status lists the
served version as `AVAILABLE` and the versions it replaced as `END`.
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from pathlib import Path
from typing import Any

from recipes.serving.export import DEFAULT_SIGNATURE, list_versions
from recipes.serving.server.codec import (
    RequestError,
    columns_from_inputs,
    columns_from_instances,
    to_json,
    to_tensor,
)
from zoo.errors import UsageError, first_line, op_error_message


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
                        f"Version {latest} of {self.name} failed to load: {first_line(error)}",
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
            columns = columns_from_instances(body["instances"], specs)
        else:
            columns = columns_from_inputs(body["inputs"], specs)
        tensors = {name: to_tensor(name, value, specs[name]) for name, value in columns.items()}
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
