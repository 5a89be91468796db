"""The architecture registry: one `ArchSpec` per model and name lookup with hints.

An architecture module registers a builder with `@register(ArchSpec(...))`. The
builder receives the (already preprocessed) input tensor and the resolved
arguments, and returns the output tensor; `zoo.builder.build_model` does all
argument checks once, for every architecture.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zoo.errors import UnknownNameError

PREPROCESSING_MODES = ("tf", "caffe", "torch", "scale", "builtin")
"""How raw 0-255 images are normalised for an architecture.

`tf`: to [-1, 1]; `caffe`: RGB to BGR minus the ImageNet mean; `torch`: to [0, 1]
then the ImageNet mean and std; `scale`: to [0, 1]; `builtin`: the network
normalises its input itself (EfficientNet, ConvNeXt, MobileNetV3).
"""


@dataclass(frozen=True)
class ArchSpec:
    """What the zoo knows about one architecture.

    Attributes:
        name: Lower-case registry name, e.g. `resnet50`.
        family: Family for listing, e.g. `resnet`.
        params: Parameter count at the default input size with 1000 classes and
            the top; the tests check it against a real build.
        default_size: The paper's (or the weights') input side in pixels.
        min_size: The smallest input side the network accepts.
        paper: Reference to the paper the architecture follows.
        preprocessing: One of `PREPROCESSING_MODES`.
        channels: Default number of input channels.
        rgb_only: Whether the network only takes 3-channel inputs.
        weights: Pretrained weights that exist, e.g. `("imagenet",)`.
        body_end: Name of the last layer of the body (before pooling and head),
            or `None` where Keras gives that layer no stable name (NASNet,
            MobileNetV3, ConvNeXt); the body is then the `include_top=False` model.
        block_pattern: Regular expression matching the names of the layers that
            end a block; fine-tuning unfreezes whole blocks with it.
        aliases: Other names that resolve to this one.
        description: One line for listings.
    """

    name: str
    family: str
    params: int
    default_size: int
    min_size: int
    paper: str
    preprocessing: str = "tf"
    channels: int = 3
    rgb_only: bool = False
    weights: tuple[str, ...] = ()
    body_end: str | None = None
    block_pattern: str | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    builder: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def default_input_shape(self) -> tuple[int, int, int]:
        """The paper's input shape, `(size, size, channels)`."""
        return (self.default_size, self.default_size, self.channels)


_REGISTRY: dict[str, ArchSpec] = {}
_ALIASES: dict[str, str] = {}
_SQUASHED: dict[str, str] = {}  # name or alias without separators -> registry name
_loaded = False


def register(spec: ArchSpec) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """File the decorated builder under `spec.name` (and its aliases).

    Args:
        spec: The architecture's description; its `builder` is filled in.

    Returns:
        A decorator that registers the builder and returns it unchanged.
    """

    def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
        if spec.preprocessing not in PREPROCESSING_MODES:
            raise ValueError(f"{spec.name}: unknown preprocessing {spec.preprocessing!r}")
        for key in (spec.name, *spec.aliases):
            if key in _REGISTRY or key in _ALIASES or _squash(key) in _SQUASHED:
                raise ValueError(f"Architecture name registered twice: {key}")
        _REGISTRY[spec.name] = dataclasses.replace(spec, builder=builder)
        for alias in spec.aliases:
            _ALIASES[alias] = spec.name
        for key in (spec.name, *spec.aliases):
            _SQUASHED[_squash(key)] = spec.name
        return builder

    return decorator


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _squash(name: str) -> str:
    """A name without case and separators: `ResNet-50` and `resnet_50` match `resnet50`."""
    return _normalise(name).replace("_", "")


def _load_architectures() -> None:
    """Imports the architecture modules, which register themselves."""
    global _loaded
    if not _loaded:
        importlib.import_module("zoo.applications")
        importlib.import_module("zoo.scratch")
        _loaded = True


def get_spec(name: str) -> ArchSpec:
    """Look up an architecture by name or alias.

    Args:
        name: Registry name or alias; case, `-` and `_` do not matter
            (`ResNet-50`, `resnet_50` and `resnet50` are the same).

    Returns:
        The architecture's spec.

    Raises:
        UnknownNameError: The name is not registered; the message lists the
            closest names.
    """
    _load_architectures()
    key = _normalise(name)
    key = _ALIASES.get(key, key)
    if key in _REGISTRY:
        return _REGISTRY[key]
    if _squash(key) in _SQUASHED:
        return _REGISTRY[_SQUASHED[_squash(key)]]
    known = sorted([*_REGISTRY, *_ALIASES])
    matches = difflib.get_close_matches(key, known, n=6, cutoff=0.5)
    close = list(dict.fromkeys(_ALIASES.get(match, match) for match in matches))[:3]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownNameError(
        f"Unknown architecture {name!r}.{hint} Run `zoo list` to see all {len(_REGISTRY)}."
    )


def list_models(pattern: str | None = None) -> list[str]:
    """Names of the registered architectures, sorted.

    Args:
        pattern: Optional shell-style pattern (`resnet*`); matched against
            names and aliases, case-insensitively.

    Returns:
        Sorted registry names.
    """
    _load_architectures()
    if not pattern:
        return sorted(_REGISTRY)
    pattern = _normalise(pattern)
    return sorted(
        spec.name
        for spec in _REGISTRY.values()
        if any(fnmatch.fnmatch(key, pattern) for key in (spec.name, *spec.aliases))
    )
