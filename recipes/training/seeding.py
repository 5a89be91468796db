"""What `--seed` and `--deterministic` do to the process before a run is built.

`--seed` alone seeds Python, NumPy, TensorFlow and Keras: the split, the
initial weights, the shuffle order and the augmentation's random streams are
the same in every run. The numbers still differ from run to run, because the
augmentation's random layers keep their state in variables that the
parallel `tf.data` map calls draw from in whatever order its threads run, and
because some kernels (most on GPUs) add in a varying order.

`--deterministic` turns on TensorFlow's op determinism as well: deterministic
kernels, and `tf.data` runs a map that draws random numbers serially, so two
runs of the same configuration on the same machine and software give
bit-identical weights and history, at the cost of speed (see the README).
"""

from __future__ import annotations

from recipes.config.schema import RunSettings


def seed_run(run: RunSettings) -> None:
    """Seeds every random generator a run uses, and sets op determinism to `run.deterministic`.

    Op determinism is a setting of the whole process: a run without
    `deterministic` turns it off again, so it does not pay for an earlier
    run's choice (a search's trials, a test session).

    Args:
        run: The run settings (`seed`, `deterministic`).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(run.seed)
    if run.deterministic:
        tf.config.experimental.enable_op_determinism()
        return
    # The public API can only turn it on.
    from tensorflow.python.framework import config as tf_config

    if tf_config.is_op_determinism_enabled():
        tf_config.disable_op_determinism()
