"""The data sources; each returns a `recipes.data.bundle.SourceData`.

- `folder`: an image folder (`--data DIR`).
- `tfds`: a tensorflow-datasets dataset (`--dataset NAME`), opened by `tfds_prepare`;
  `tfds_shapes` registers the built-in set as one.
- `builtin`: the built-in `shapes` set, when no data is given.
"""
