"""zoo.names: the architectures' catalog that `zoo list`, completion and name checks read
without TensorFlow."""

import subprocess
import sys

import pytest

import zoo
from zoo.errors import UnknownNameError
from zoo.names import (
    ARCHITECTURES,
    BUILT,
    CATALOG,
    canonical_name,
    catalog_from_registry,
    counted_build,
    matching,
)


def test_the_catalog_is_the_registry_s():
    assert ARCHITECTURES == tuple(zoo.list_models())
    declared = {name: {k: v for k, v in e.items() if k not in BUILT} for name, e in CATALOG.items()}
    assert declared == catalog_from_registry(), "rewrite zoo/catalog.json: python -m zoo.names"


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "resnet20", "resnet18", "googlenet"])
def test_the_catalog_s_counts_are_what_the_builder_builds(name):
    counts = counted_build(name)
    assert {key: CATALOG[name][key] for key in BUILT} == {key: counts[key] for key in BUILT}
    assert counts["params"] == CATALOG[name]["params"]


def test_info_of_a_name_loads_no_tensorflow():
    script = (
        "import sys, json\n"
        "from click.testing import CliRunner\n"
        "from cli.main import cli\n"
        "result = CliRunner().invoke(cli, ['info', 'ResNet-18', '--json'])\n"
        "print(json.loads(result.stdout)['macs'], 'tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == [str(CATALOG["resnet18"]["macs"]), "False"], out.stderr


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
