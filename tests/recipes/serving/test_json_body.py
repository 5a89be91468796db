import json

import pytest

from recipes.serving.server.json_body import loads

DOCUMENTS = [
    '{"instances": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], "signature_name": "x"}',
    '{"inputs": {"images": [[[0.5]], [[1e-3]]], "other": "s"}}',
    ' { "a" : [ ] , "b" : [ [ ] ] , "c" : { } } ',
    '{"instances": [{"b64": "aGk="}, {"image_bytes": {"b64": "aGk="}}]}',
    "[1, [2, [3]]]",
    '"text"',
    "null",
    '{"a": 1.5e3, "b": null, "c": true, "d": "\\u00e9"}',
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_parses_as_json_does(document):
    assert loads(document) == json.loads(document)


@pytest.mark.parametrize(
    "document",
    [
        '{"a": NaN}',
        '{"instances": [[Infinity]]}',
        '{"a": [1,]}',
        '{"a": 1,}',
        '{"a" 1}',
        "{1: 2}",
        "[1] x",
        "",
        "{",
        '{"a": [1, 2}',
    ],
)
def test_refuses_what_is_not_json(document):
    with pytest.raises(ValueError):
        loads(document)


def test_deep_nesting_is_a_recursion_error():
    with pytest.raises(RecursionError):
        loads("[" * 30_000 + "]" * 30_000)
