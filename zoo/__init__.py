"""keras-zoo architectures: one registry, one builder signature.

Public API:
    build_model: build any registered architecture.
    list_models: names of the registered architectures.
    get_spec: what the zoo knows about one architecture.

Attributes are loaded on first use, so that `import zoo.errors` (and the
CLI's `--help`) stay fast: TensorFlow is only imported when a model is built.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_model": "zoo.builder",
    "get_spec": "zoo.registry",
    "list_models": "zoo.registry",
    "ArchSpec": "zoo.registry",
    "ZooError": "zoo.errors",
    "UsageError": "zoo.errors",
    "UnknownNameError": "zoo.errors",
    "WeightsUnavailableError": "zoo.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
