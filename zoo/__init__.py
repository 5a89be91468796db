"""keras-zoo architectures: one registry, one builder signature.

Public API:
    build_model: build any registered architecture.
    list_models: names of the registered architectures.
    get_spec: what the zoo knows about one architecture.

Importing `zoo` registers the zoo's layers with `keras.saving`, so a saved zoo
model loads with `keras.saving.load_model` after `import zoo`. It imports
TensorFlow; the CLI imports this package only when a command runs.
"""

from __future__ import annotations

from zoo.builder import build_model
from zoo.errors import UnknownNameError, UsageError, WeightsUnavailableError, ZooError
from zoo.registry import ArchSpec, get_spec, list_models

__all__ = [
    "ArchSpec",
    "UnknownNameError",
    "UsageError",
    "WeightsUnavailableError",
    "ZooError",
    "build_model",
    "get_spec",
    "list_models",
]
