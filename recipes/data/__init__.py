"""Data sources to `tf.data` pipelines: image folders, tensorflow-datasets, the built-in set.

`load_data(DataSettings(...), ...)` returns a `DataBundle` with `train`, `val`
and `test` pipelines and the class names; `scan` checks a folder for `zoo data
check`. The house:

- `listing`: a folder's layout, splits, classes and files.
- `headers`, `files`, `decode`: reading image headers, judging files, the one decoder.
- `check`: the check pass that decodes every file as training will (and `scan`).
- `splits`: the stratified train/validation split.
- `cache`: in-memory and file caches of decoded images, and their lock.
- `augment`: augmentation policies with Keras preprocessing layers.
- `pipeline`: a split's images to batches; `bundle`: what sources yield, and the bundle.
- `sources/`: `folder`, `tfds` and `builtin`; `shapes`: the built-in set itself.
- `noise`: keeping C libraries' messages off the terminal.
- `load`: `load_data` and `find_data`, re-exported here.
"""

from __future__ import annotations

from recipes.data.bundle import DataBundle, SourceData, make_bundle
from recipes.data.check import scan
from recipes.data.load import DataOptions, check_class_count, find_data, load_data
from recipes.data.pipeline import Share
from recipes.data.sources.tfds_prepare import DataUnavailableError

__all__ = [
    "DataBundle",
    "DataOptions",
    "DataUnavailableError",
    "Share",
    "SourceData",
    "check_class_count",
    "find_data",
    "load_data",
    "make_bundle",
    "scan",
]
