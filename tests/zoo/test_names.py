"""zoo.names: the architectures' catalog that `zoo list`, completion and name checks read
without TensorFlow."""

import subprocess
import sys

import pytest

import zoo
from zoo.errors import UnknownNameError
from zoo.names import ARCHITECTURES, CATALOG, canonical_name, catalog_from_registry, matching


def test_the_catalog_is_the_registry_s():
    assert ARCHITECTURES == tuple(zoo.list_models())
    assert CATALOG == catalog_from_registry(), "rewrite zoo/catalog.json: python -m zoo.names"


def test_importing_the_names_loads_no_tensorflow():
    script = (
        "import sys, zoo.names\n"
        "zoo.names.canonical_name('ResNet-50')\n"
        "print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("name", ["ResNet-50", "resnet_50", "inception", "MobileNetV3Small"])
def test_names_resolve_as_the_registry_resolves_them(name):
    assert canonical_name(name) == zoo.get_spec(name).name


def test_an_unknown_name_names_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean: resnet20"):
        canonical_name("resnt20")


def test_patterns_match_names_and_aliases_as_the_registry():
    for pattern in (None, "resnet*", "INCEPTION*", "vgg_?"):
        assert matching(pattern) == zoo.list_models(pattern)
