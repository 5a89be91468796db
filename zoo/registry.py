"""The architecture registry: one `ArchSpec` per model, and name lookup with hints.

An architecture module registers a builder with `@register(ArchSpec(...))`. The
builder receives the (already preprocessed) input tensor and the
architecture's own options, and returns its body's last feature map;
`zoo.builder.build_model` checks the arguments once, for every architecture,
and adds the classifier the spec's `Head` describes. Builders that make their
whole network themselves (the keras.applications bases) have no `Head` and
take the standard arguments they declare.

Importing this module is cheap (no TensorFlow); the architectures are imported
on the first lookup.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from zoo.names import canonical_name, matching, squash

PREPROCESSING_MODES = ("tf", "caffe", "torch", "scale", "builtin")
"""How raw 0-255 images are normalised for an architecture.

`tf`: to [-1, 1]; `caffe`: RGB to BGR minus the ImageNet mean; `torch`: to [0, 1]
then the ImageNet mean and std; `scale`: to [0, 1]; `builtin`: the network
normalises its input itself (EfficientNet, ConvNeXt, MobileNetV3).
"""

WEIGHT_VARIANTS = ("top", "notop")
"""`top`: the file with the 1000-class ImageNet classifier; `notop`: the body only."""


class WeightsFile(NamedTuple):
    """One weights file as Keras publishes it.

    Attributes:
        file: The file's name in Keras' cache (Keras' `fname`; for NASNet it
            differs from the URL's last part).
        url: Where Keras downloads it from.
        hash: Keras' md5 (32 hex digits) or sha256 (64) of the file, or `None`
            where Keras publishes none.
    """

    file: str
    url: str
    hash: str | None


class ImagenetWeights(NamedTuple):
    """An architecture's ImageNet weights: the files with and without the top."""

    top: WeightsFile
    notop: WeightsFile

    def variant(self, name: str) -> WeightsFile:
        """The file of a variant, `top` or `notop`."""
        return self.top if name == "top" else self.notop


@dataclass(frozen=True)
class Head:
    """The classifier `build_model` puts on an architecture's body.

    Attributes:
        pool: `flatten` (the map's every value feeds the first dense layer,
            as in LeNet, AlexNet and VGG) or `avg` (global average pooling,
            layer `avg_pool`, as in GoogLeNet and ResNet).
        hidden: The hidden dense layers before the classifier, each
            `(name, units, activation)`.
        dropout: Default dropout rate, or `None` when the head has no dropout
            (then the architecture has no `dropout` option). With hidden
            layers, a dropout layer `{name}_dropout` follows each of them;
            without, one layer `dropout` precedes the classifier.
    """

    pool: str = "avg"
    hidden: tuple[tuple[str, int, str], ...] = ()
    dropout: float | None = None


@dataclass(frozen=True)
class ArchSpec:
    """What the zoo knows about one architecture.

    Attributes:
        name: Lower-case registry name, e.g. `resnet50`.
        family: Family for listing, e.g. `resnet`.
        params: Parameter count at the default input size with the default
            classes and the top; the tests check it against a real build.
        default_size: The paper's (or the weights') input side in pixels.
        min_size: The smallest input side the network accepts.
        paper: Reference to the paper the architecture follows.
        preprocessing: One of `PREPROCESSING_MODES`.
        channels: Default number of input channels.
        classes: The paper's number of classes, which `build_model` gives the
            top when it is not told: 1000 for ImageNet, 10 for LeNet-5's
            digits and the CIFAR-10 ResNets.
        rgb_only: Whether the network only takes 3-channel inputs.
        imagenet: The ImageNet weights files, where they exist.
        head: The classifier `build_model` adds, or `None` when the builder
            makes its own (keras.applications bases).
        body_end: Name of the last layer of the body (before pooling and head),
            or `None` where Keras gives that layer no stable name (NASNet,
            MobileNetV3, ConvNeXt); the body is then the `include_top=False` model.
        block_pattern: Regular expression matching the names of the layers that
            end a block; fine-tuning unfreezes whole blocks with it.
        aliases: Other names that resolve to this one.
        description: One line for listings.
        builder: The function that builds the network (filled in by `register`).
        application: For the keras.applications bases, the constructor and the
            arguments that fix the variant (e.g. `alpha`): the plain-Keras
            model to compare the zoo's with.
    """

    name: str
    family: str
    params: int
    default_size: int
    min_size: int
    paper: str
    preprocessing: str = "tf"
    channels: int = 3
    classes: int = 1000
    rgb_only: bool = False
    imagenet: ImagenetWeights | None = None
    head: Head | None = None
    body_end: str | None = None
    block_pattern: str | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    builder: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    application: tuple[Callable[..., Any], dict[str, Any]] | None = field(
        default=None, compare=False, repr=False
    )

    @property
    def weights(self) -> tuple[str, ...]:
        """The pretrained weights that exist: `("imagenet",)` or `()`."""
        return ("imagenet",) if self.imagenet is not None else ()

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
            if key in _REGISTRY or key in _ALIASES or squash(key) in _SQUASHED:
                raise ValueError(f"Architecture name registered twice: {key}")
        _REGISTRY[spec.name] = dataclasses.replace(spec, builder=builder)
        for alias in spec.aliases:
            _ALIASES[alias] = spec.name
        for key in (spec.name, *spec.aliases):
            _SQUASHED[squash(key)] = spec.name
        return builder

    return decorator


def _load_architectures() -> None:
    """Imports the architecture modules, which register themselves."""
    global _loaded
    if not _loaded:
        importlib.import_module("zoo.archs")
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
    return _REGISTRY[canonical_name(name, _REGISTRY, _ALIASES)]


def list_models(pattern: str | None = None) -> list[str]:
    """Names of the registered architectures, sorted.

    Args:
        pattern: Optional shell-style pattern (`resnet*`); matched against
            names and aliases, case-insensitively.

    Returns:
        Sorted registry names.
    """
    _load_architectures()
    return matching(pattern, {name: spec.aliases for name, spec in _REGISTRY.items()})
