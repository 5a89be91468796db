"""Model ensembles: one Keras model that averages the softmax of several trained runs.

AlexNet's best ILSVRC-2012 entry averaged the predictions of seven networks
(Krizhevsky et al., 2012, Sec. 6). `make_ensemble` does that for runs written
by `zoo train`/`zoo finetune` that share their classes: each member keeps its
own input size and preprocessing (which lives inside every zoo model); the
ensemble takes the largest input size, and a `keras.layers.Resizing` in front
of a smaller member gives it the size it was trained at, with the member's own
interpolation (`model.py`).

The result is a run directory like any other (`config.yaml`,
`class_names.json`, `model.keras`, `metrics.json`), which `zoo evaluate`,
`predict`, `export` and `serve` take. The ensemble and every member are
measured on the same split with `recipes.serving.evaluate.evaluate`
(`compare.py`), and `metrics.json` holds the comparison. `make.py` puts it
together.
"""

from __future__ import annotations

from recipes.ensemble.make import ensemble_config, make_ensemble
from recipes.ensemble.model import build_ensemble, check_members, load_member

__all__ = ["build_ensemble", "check_members", "ensemble_config", "load_member", "make_ensemble"]
