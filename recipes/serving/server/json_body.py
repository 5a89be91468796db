"""A request body parsed as strict JSON in small steps, so other requests are answered meanwhile.

`json.loads` holds Python's global lock for the whole document: a 17 MB body
of pixel values kept every other client of `zoo serve` waiting for two seconds.
Here the outer levels (the request object, `inputs`, and the arrays of
instances and their rows) are walked in Python and each element below them is
parsed with the C decoder on its own, so the lock is free between elements and
the event loop answers other clients while a large body is parsed. The result
is what `json.loads` would give, without `NaN` and `Infinity`, which are not
JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_OBJECT_DEPTH = 2  # objects at depths 0 and 1 (the request, `inputs`) are walked
_ARRAY_DEPTH = 3  # arrays at depths 1 and 2 (instances, an instance's rows) are walked


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def loads(text: str) -> Any:
    """Parses a JSON document as `json.loads` does, refusing `NaN` and `Infinity`.

    Raises:
        ValueError: Not valid JSON (a `json.JSONDecodeError` where it says where).
        RecursionError: Nested too deeply for the decoder.
    """
    parser = _Parser(text)
    value = parser.value(0)
    parser.skip_whitespace()
    if parser.position != len(text):
        raise json.JSONDecodeError("Extra data", text, parser.position)
    return value


class _Parser:
    """Walks the outer levels of one document; the decoder parses the rest."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def skip_whitespace(self) -> None:
        self.position = _WHITESPACE.match(self.text, self.position).end()

    def value(self, depth: int) -> Any:
        self.skip_whitespace()
        opening = self.text[self.position : self.position + 1]
        if opening == "{" and depth < _OBJECT_DEPTH:
            return dict(self._members(depth))
        if opening == "[" and 0 < depth < _ARRAY_DEPTH:
            return list(self._elements(depth))
        value, self.position = _DECODER.raw_decode(self.text, self.position)
        return value

    def _members(self, depth: int) -> Any:
        self.position += 1
        if self._closes("}"):
            return
        while True:
            self.skip_whitespace()
            key, self.position = _DECODER.raw_decode(self.text, self.position)
            if not isinstance(key, str):
                raise json.JSONDecodeError("Expecting a string key", self.text, self.position)
            self._expect(":")
            yield key, self.value(depth + 1)
            if self._separator("}"):
                return

    def _elements(self, depth: int) -> Any:
        self.position += 1
        if self._closes("]"):
            return
        while True:
            yield self.value(depth + 1)
            if self._separator("]"):
                return

    def _closes(self, closing: str) -> bool:
        self.skip_whitespace()
        if self.text.startswith(closing, self.position):
            self.position += 1
            return True
        return False

    def _separator(self, closing: str) -> bool:
        """Reads `,` (more follows: False) or the closing bracket (True)."""
        self.skip_whitespace()
        if self.text.startswith(",", self.position):
            self.position += 1
            return False
        self._expect(closing)
        return True

    def _expect(self, character: str) -> None:
        self.skip_whitespace()
        if not self.text.startswith(character, self.position):
            raise json.JSONDecodeError(f"Expecting '{character}'", self.text, self.position)
        self.position += 1
