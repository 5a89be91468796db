"""Small runs trained by the real recipes, for the tests of everything that uses a run.

A ResNet-18 (BatchNorm, fused while training, saved as Keras' layer) trained for
one epoch at 32 px, at the precision `zoo train` picks by default, on the
built-in set or a folder.
"""

from pathlib import Path

from recipes.config import load_preset, resolve_config
from recipes.training.finetune import finetune
from recipes.training.train import train

SHAPES_CLASSES = ["circle", "square", "triangle"]
"""The built-in set's classes with `classes=3`, in label order."""
OTHER_SHAPES = ["pentagon", "rectangle", "semicircle"]
"""Three other classes of the built-in set (a base for fine-tuning on `SHAPES_CLASSES`)."""


def train_run(output, **settings):
    """Trains a tiny run with `zoo train`'s recipe and defaults; returns its directory."""
    config = resolve_config(
        load_preset("modern"),
        {
            "task": "train",
            "arch": "resnet18",
            "classes": 3,
            "image_size": 32,
            "epochs": 1,
            "batch_size": 16,
            "shapes_per_class": 12,
            "output": str(output),
            **settings,
        },
    )
    return Path(train(config).run_dir)


def finetune_run(base, output, **settings):
    """Fine-tunes a run with `zoo finetune`'s recipe (a nested base); returns its directory."""
    config = resolve_config(
        load_preset("finetune"),
        {
            "task": "finetune",
            "base": str(base),
            "classes": 3,
            "head_epochs": 1,
            "epochs": 1,
            "batch_size": 16,
            "shapes_per_class": 12,
            "output": str(output),
            **settings,
        },
    )
    return Path(finetune(config).run_dir)
