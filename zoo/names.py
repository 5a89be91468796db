"""The registered architectures, without TensorFlow: names, aliases and what `zoo list` shows.

Answering `zoo list`, completing `--arch` and refusing a mistyped name must
take a fraction of a second, but the architecture modules import Keras to
register themselves. So `catalog.json` beside this file holds each
architecture's listing (family, parameters with its default classes, classes,
input size, weights, aliases), what `zoo info` shows of it, and the MACs of
its default build, written from the registry by `python -m zoo.names`; tests
keep it equal to the registry and to what the builders build. The registry's
own lookup (`zoo.registry.get_spec`) uses `canonical_name` too, so both answer
a name alike.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from zoo.errors import UnknownNameError, closest, hint_for

CATALOG_FILE = Path(__file__).with_name("catalog.json")
CATALOG: dict[str, dict[str, Any]] = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
"""Name -> what `zoo list` and `zoo info NAME` show (`catalog_from_registry` and `BUILT`)."""
ARCHITECTURES: tuple[str, ...] = tuple(sorted(CATALOG))
ALIASES: dict[str, str] = {
    alias: name for name, entry in CATALOG.items() for alias in entry["aliases"]
}


def normalise(name: str) -> str:
    """A name as the registry files it: lower case, `-` as `_`."""
    return name.strip().lower().replace("-", "_")


def squash(name: str) -> str:
    """A name without case and separators: `ResNet-50` and `resnet_50` match `resnet50`."""
    return normalise(name).replace("_", "")


def canonical_name(
    name: str,
    names: Iterable[str] = ARCHITECTURES,
    aliases: Mapping[str, str] = ALIASES,
) -> str:
    """The registry name of an architecture name or alias.

    Args:
        name: Registry name or alias; case, `-` and `_` do not matter.
        names: The registered names.
        aliases: Alias -> registered name.

    Returns:
        The registered name.

    Raises:
        UnknownNameError: No such architecture; the message names the closest.
    """
    names = set(names)
    key = normalise(str(name))
    key = aliases.get(key, key)
    if key in names:
        return key
    squashed = {squash(known): known for known in names}
    squashed.update({squash(alias): target for alias, target in aliases.items()})
    if squash(key) in squashed:
        return squashed[squash(key)]
    matches = closest(key, sorted([*names, *aliases]), n=6)
    hint = hint_for(list(dict.fromkeys(aliases.get(match, match) for match in matches))[:3])
    raise UnknownNameError(
        f"Unknown architecture {name!r}.{hint} Run `zoo list` to see all {len(names)}."
    )


def matching(pattern: str | None, aliases: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """The architectures whose name or an alias matches a shell pattern (`resnet*`), sorted.

    Args:
        pattern: The pattern, case-insensitive; `None` or empty matches all.
        aliases: Registered name -> its aliases (default: the catalog's).

    Returns:
        The matching registered names.
    """
    if aliases is None:
        aliases = {name: entry["aliases"] for name, entry in CATALOG.items()}
    if not pattern:
        return sorted(aliases)
    pattern = normalise(pattern)
    return sorted(
        name
        for name, others in aliases.items()
        if any(fnmatch.fnmatch(key, pattern) for key in (name, *others))
    )


BUILT = ("trainable_params", "macs", "input_shape")
"""What the catalog holds of each architecture's default build (counted by building it)."""


def catalog_from_registry() -> dict[str, dict[str, Any]]:
    """The catalog as the registry declares it now (imports the architectures, builds none)."""
    from zoo.builder import architecture_options
    from zoo.registry import get_spec, list_models

    entries = {}
    for name in list_models():
        spec = get_spec(name)
        entries[name] = {
            "name": spec.name,
            "family": spec.family,
            "params": spec.params,
            "classes": spec.classes,
            "input_size": spec.default_size,
            "weights": list(spec.weights),
            "aliases": list(spec.aliases),
            "description": spec.description,
            "min_input_size": spec.min_size,
            "preprocessing": spec.preprocessing,
            "paper": spec.paper,
            "options": json.loads(json.dumps(architecture_options(spec))),
        }
    return entries


def counted_build(
    name: str, classes: int | None = None, image_size: int | None = None
) -> dict[str, Any]:
    """`params` and `BUILT` of a build (default: the paper's classes and input size).

    Imports Keras and builds the model.
    """
    from zoo.builder import build_model
    from zoo.complexity import count_macs, count_params
    from zoo.registry import get_spec

    spec = get_spec(name)
    input_shape = None if image_size is None else (image_size, image_size, spec.channels)
    model = build_model(spec.name, classes=classes, input_shape=input_shape)
    total, trainable = count_params(model)
    return {
        "params": total,
        "trainable_params": trainable,
        "macs": count_macs(model),
        "input_shape": list(model.input_shape[1:]),
    }


if __name__ == "__main__":
    catalog = catalog_from_registry()
    for entry in catalog.values():
        counts = counted_build(entry["name"])
        entry.update({key: counts[key] for key in BUILT})
    CATALOG_FILE.write_text(json.dumps(catalog, indent=1) + "\n", encoding="utf-8")
