"""zoo.names: the architecture names that shell completion offers without TensorFlow."""

import subprocess
import sys

import zoo
from zoo.names import ARCHITECTURES


def test_names_are_the_registry_s():
    registered = tuple(zoo.list_models())
    assert ARCHITECTURES == registered, f"write zoo/names.py's list as: {registered}"


def test_importing_the_names_loads_no_tensorflow():
    script = "import sys, zoo.names; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
