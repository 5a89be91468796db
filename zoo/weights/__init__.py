"""ImageNet weights for the keras.applications bases: Keras' cache, hash-checked.

Each base's `ArchSpec.imagenet` names the exact files Keras itself downloads,
so the zoo and `keras.applications` share one cache: `$KERAS_HOME/models`, or
`~/.keras/models`. The cache is always looked at first, so a machine without
network that has the files never touches it. A file that is missing and cannot
be downloaded, or a cached file whose hash is wrong, is a
`WeightsUnavailableError` whose one-line message says which file to put where;
the zoo never falls back to random weights.

- `zoo.weights.cache`: where the cache is, hashes, the verified local path.
- `zoo.weights.download`: fetching files into the cache.
- `zoo.weights.files`: importing a file obtained elsewhere, and loading any
  weights file into a model.
"""

from zoo.weights.cache import cache_dir, file_hash, keras_home, list_weights
from zoo.weights.download import fetch, imagenet_weights_path
from zoo.weights.files import import_weights, load_weights_file

__all__ = [
    "cache_dir",
    "fetch",
    "file_hash",
    "imagenet_weights_path",
    "import_weights",
    "keras_home",
    "list_weights",
    "load_weights_file",
]
