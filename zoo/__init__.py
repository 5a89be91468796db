"""keras-zoo architectures: one registry, one builder signature.

Public API:
    build_model: build any registered architecture.
    list_models: names of the registered architectures.
    get_spec: what the zoo knows about one architecture.

`import zoo` registers the zoo's layers with `keras.saving`, so a saved zoo
model loads with `keras.saving.load_model` after it. It does not import Keras
or TensorFlow itself: `import zoo.errors` stays cheap for the CLI. The layers
are registered as soon as Keras is imported (at once when it already is), and
the names above load their modules on first use.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from typing import Any

from zoo.errors import UnknownNameError, UsageError, WeightsUnavailableError, ZooError

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

_LAZY = {
    "build_model": "zoo.builder",
    "ArchSpec": "zoo.registry",
    "get_spec": "zoo.registry",
    "list_models": "zoo.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


class _RegisterLayersAfterKeras(importlib.abc.MetaPathFinder):
    """Imports `zoo.layers` and `zoo.fast_layers` right after Keras is first imported.

    Registering a layer class with `keras.saving` needs Keras; importing Keras
    here would make every `import zoo.<anything>` load TensorFlow. This finder
    lets Python find Keras as usual and runs the registration once its import
    has finished.
    """

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader

        class Loader(importlib.abc.Loader):
            def create_module(self, module_spec: Any) -> Any:
                return loader.create_module(module_spec)

            def exec_module(self, module: Any) -> None:
                module.__loader__ = module.__spec__.loader = loader  # Keras' own, again
                loader.exec_module(module)
                _register_layers()

        spec.loader = Loader()
        return spec


def _register_layers() -> None:
    importlib.import_module("zoo.layers")
    importlib.import_module("zoo.fast_layers")


if "keras" in sys.modules:
    _register_layers()
elif not any(isinstance(finder, _RegisterLayersAfterKeras) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterLayersAfterKeras())
