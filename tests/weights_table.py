"""The ImageNet weights files the registry names, as a table, and a way to repoint one."""

import dataclasses

import zoo
from zoo import registry


def imagenet_table():
    """`{name: {"top": WeightsFile, "notop": WeightsFile}}` for every base with weights."""
    table = {}
    for name in zoo.list_models():
        files = zoo.get_spec(name).imagenet
        if files is not None:
            table[name] = {"top": files.top, "notop": files.notop}
    return table


def patch_entry(monkeypatch, name, variant, **changes):
    """Points one architecture's weights file elsewhere (hash, url) for this test only."""
    spec = zoo.get_spec(name)
    entry = spec.imagenet.variant(variant)._replace(**changes)
    files = spec.imagenet._replace(**{variant: entry})
    monkeypatch.setitem(registry._REGISTRY, spec.name, dataclasses.replace(spec, imagenet=files))
    return entry
