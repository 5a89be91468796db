"""`zoo finetune`: a new head on a pretrained base, fitted first, then fine-tuned.

Three methods, as practitioners name them:

- `lp-ft` (the default): phase 1 is a linear probe fitted to convergence on
  the frozen base's cached features (`recipes.training.probe`), put into the
  new head; phase 2 unfreezes the top blocks of the base (BatchNorm stays
  frozen, the base is called with `training=False`) and trains them and the
  head at the fine-tuning rate, for a number of steps the data sizes (a floor
  of steps on tiny sets, early stopping where the validation split is large
  enough). Kumar et al., ICLR 2022: a fitted head keeps the pretrained
  features from being distorted by the gradients of a random one.
- `probe`: phase 1 alone (`--epochs 0` means the same).
- `full`: the Keras guide's recipe, for comparison: the new head trained by
  the optimizer for `head_epochs` on the frozen base, then phase 2.

Every method scores the probe and a k-nearest-neighbour vote on the same
features, and `metrics.json` records them beside the run's own scores; a
fine-tuned model that scores below its probe on the validation split is
replaced by the probe (fine-tuning never makes the result worse).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

import keras
import numpy as np

from recipes.config import RunConfig, parse_unfreeze
from recipes.data import DataBundle
from recipes.training.auto_lr import is_auto, resolve_rate, saved_rate, test_compiled
from recipes.training.bases import Base, load_base
from recipes.training.callbacks import LinearWarmup
from recipes.training.devices import DeviceSetup, setup_devices
from recipes.training.fit import (
    DataSource,
    RunResult,
    compile_model,
    load_run_data,
    steps_per_epoch,
)
from recipes.training.lr_range import RangeTest
from recipes.training.multihost import same_on_every_process
from recipes.training.optim import phase_two_rate
from recipes.training.probe import Probe, fit_probe
from recipes.training.runner import Phase, Prepared, execute
from recipes.training.seeding import seed_run
from zoo.errors import UsageError

HEAD_PHASE, FINETUNE_PHASE = "head", "finetune"
MIN_STEPS_PER_EPOCH = 20
"""Phase 2's epochs take at least this many steps (passes over a tiny training split)."""
EARLY_STOPPING_IMAGES_PER_CLASS = 10
"""Validation images per class from which phase 2 stops early on its own (patience 2)."""


def build_finetune_model(base: Base, classes: int, dropout: float) -> keras.Model:
    """Puts a new head (pooling, dropout, dense, float32 softmax) on a frozen base.

    The dense layer starts at zero, so an untrained head predicts every class
    alike (a loss of ln C) whatever the scale of the base's features.

    Args:
        base: The feature extractor.
        classes: Number of classes of the new head.
        dropout: Dropout rate before the dense layer.

    Returns:
        The model, base frozen, uncompiled.
    """
    base.model.trainable = False
    inputs = keras.Input(shape=base.model.input_shape[1:], name="image")
    features = base.model(inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(features)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    x = keras.layers.Dense(classes, kernel_initializer="zeros", name="head_logits")(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"{base.name}_finetuned")


def nested_base(model: keras.Model) -> keras.Model:
    """The base inside a fine-tuning model (its one nested model)."""
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def unfreeze_top(base: keras.Model, unfreeze: str, block_pattern: str | None) -> int:
    """Makes the top of the base trainable; BatchNorm layers stay frozen.

    Args:
        base: The base model.
        unfreeze: `all`, `none`, `N` (blocks) or `Nlayers`.
        block_pattern: Regex of block-ending layer names; without it `N`
            counts layers with weights.

    Returns:
        The number of trainable weights after the change.
    """
    how, count = parse_unfreeze(unfreeze)
    layers = base.layers
    if how == "all":
        cutoff = 0
    elif how == "blocks" and block_pattern:
        ends = [i for i, layer in enumerate(layers) if re.search(block_pattern, layer.name)]
        cutoff = ends[-(count + 1)] + 1 if count < len(ends) else 0
    else:
        weighted = [i for i, layer in enumerate(layers) if layer.weights]
        cutoff = weighted[-count] if count <= len(weighted) else 0
    base.trainable = True
    for index, layer in enumerate(layers):
        frozen_kind = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = index >= cutoff and not frozen_kind
    return len(base.trainable_weights)


def method_of(config: RunConfig) -> str:
    """The fine-tuning method: `--method`, except that `--epochs 0` means `probe`."""
    return "probe" if config.optim.epochs == 0 else config.finetune.method


def prepare_finetune(
    config: RunConfig,
    on_data: Callable[[DataBundle], None] | None = None,
    sources: DataSource | None = None,
) -> Prepared:
    """Loads the base and the data, builds the model, fits its probe and prepares the phases.

    The head has one output per class of the data, as `zoo train`'s model
    (`load_run_data`): `--classes`, when given, is checked against the data.

    Args:
        config: A resolved configuration with `task="finetune"`.
        on_data: Called with the loaded data (the CLI reports skipped files with it).
        sources: Gives the source's images at a size, found already (a search
            finds them once per size).

    Returns:
        The prepared run (see the module's docstring for each method's phases).

    Raises:
        UsageError: Bad configuration, base or data (e.g. a class-count mismatch,
            a base already trained on these classes, fewer images than classes).
        WeightsUnavailableError: ImageNet weights cannot be had offline.
    """
    seed_run(config.run)
    setup = setup_devices(config.devices)
    with setup.strategy.scope():
        base = load_base(config, config.model.image_size)
    size = (base.image_size, base.image_size)
    data = load_run_data(config, size, base.channels, sources, on_data, setup.share)
    _check_task(config, base, data)
    classes, method = data.num_classes, method_of(config)
    steps = steps_per_epoch(data, config.optim.batch_size)
    passes = 1 if method == "full" else max(1, math.ceil(MIN_STEPS_PER_EPOCH / steps))
    with setup.strategy.scope():
        model = build_finetune_model(base, classes, _head_dropout(config))
    probe = fit_probe(
        keras.Model(model.inputs, model.get_layer("head_pool").output),
        _probe_views(data),
        data.val,
        data.test,
        classes,
        config.run.seed,
    )
    if method != "full":
        install_probe(model, probe)
    config = _auto_early_stopping(config, data, method)

    def enter_phase_two() -> LinearWarmup | None:
        epochs = config.optim.epochs
        return _start_phase_two(model, base, config, setup, steps * passes, epochs, classes)

    if method == "full":
        config, lr_test = resolve_rate(model, config, setup, data)
        head_epochs = config.finetune.head_epochs
        phases = [Phase(HEAD_PHASE, head_epochs)]
        if parse_unfreeze(config.finetune.unfreeze)[0] != "none":
            phases.append(Phase(FINETUNE_PHASE, head_epochs + config.optim.epochs, enter_phase_two))
        with setup.strategy.scope():
            warmup = compile_model(
                model, config, setup, config.optim.lr, steps, head_epochs, classes
            )
    else:
        phases, lr_test = [], None
        if method == "lp-ft" and parse_unfreeze(config.finetune.unfreeze)[0] != "none":
            with setup.strategy.scope():
                config, lr_test = _phase_two_rate(model, base, config, setup, data)
            phases = [Phase(FINETUNE_PHASE, config.optim.epochs, passes=passes)]
        with setup.strategy.scope():
            warmup = enter_phase_two() if phases else _compile_probe(model, config, setup, classes)
    prepared = Prepared(config, setup, data, model, base.name, phases, warmup)
    prepared.lr_test = lr_test
    prepared.fitted_head = method != "full"
    if phases:
        prepared.before_finish = _keep_the_better(model, data, probe)
    prepared.facts = probe.facts()
    return prepared


def finetune(
    config: RunConfig,
    on_data: Callable[[DataBundle], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> RunResult:
    """Fine-tunes `config.model.base` with a new head, one output per class of the data.

    The model is built before the run directory is created, so a bad base or
    configuration leaves nothing behind. With `resume`, the same build (and,
    in phase 2, the same unfreezing) takes the checkpoint's weights and
    optimizer state.

    Args:
        config: A resolved configuration with `task="finetune"`.
        on_data: Called with the loaded data before training starts (the CLI
            reports skipped files with it).
        on_note: Called with each line the user should read before training
            (the probe's scores, the initial-loss check's problems, the chosen
            learning rate) and after it (whether the probe was kept).

    Returns:
        The run's result.

    Raises:
        UsageError: Bad configuration, base or data (e.g. a class-count mismatch).
        WeightsUnavailableError: ImageNet weights cannot be had offline.
        TrainingDiverged: The loss became NaN.
    """
    started = time.perf_counter()
    return execute(prepare_finetune(config, on_data), started, on_note)


def install_probe(model: keras.Model, probe: Probe) -> None:
    """Puts the probe's weights into the model's new head (process 0's, with several)."""
    model.get_layer("head_logits").set_weights(same_on_every_process(probe.kernel, probe.bias))


def _probe_views(data: DataBundle) -> list:
    """The training images the probe sees: plain, and once augmented when augmentation is on."""
    if data.train_view is None:
        return [data.train]
    augmented = any(value for key, value in data.augment.items() if key not in ("mixup", "cutmix"))
    return [data.train_view(False), *([data.train_view(True)] if augmented else [])]


def _check_task(config: RunConfig, base: Base, data: DataBundle) -> None:
    """Refuses data with fewer training images than classes, and a base trained on it already."""
    images, classes = data.images("train"), data.num_classes
    if images < classes:
        raise UsageError(
            f"The training split has {images} images for {classes} classes: fine-tuning "
            "needs at least one image a class (five or more give a useful model). Add "
            f"images to {config.data.data_dir or 'the data'}."
        )
    if base.class_names is not None and list(base.class_names) == list(data.class_names):
        raise UsageError(
            f"{config.model.base} is already trained on these {classes} classes "
            f"({', '.join(data.class_names[:5])}{', ...' if classes > 5 else ''}): evaluate "
            "it with zoo evaluate, or fine-tune it on other classes."
        )


def _auto_early_stopping(config: RunConfig, data: DataBundle, method: str) -> RunConfig:
    """Patience 2 for phase 2 when the validation split can tell epochs apart."""
    enough = data.images("val") >= EARLY_STOPPING_IMAGES_PER_CLASS * data.num_classes
    if method == "lp-ft" and enough and not config.optim.early_stopping:
        return config.replace(early_stopping=2)
    return config


def _phase_two_rate(
    model: keras.Model, base: Base, config: RunConfig, setup: DeviceSetup, data: DataBundle
) -> tuple[RunConfig, RangeTest | None]:
    """`--lr auto` for `lp-ft`: the range test on the phase it sets (the unfrozen top, fitted head).

    The suggestion becomes the fine-tuning rate (and `lr`, so that the saved
    configuration reproduces the run).
    """
    if not is_auto(config):
        return config, None
    rate = saved_rate(config)
    if rate is not None:
        return config.replace(lr=rate, finetune_lr=rate), None
    unfreeze_top(nested_base(model), config.finetune.unfreeze, base.block_pattern)
    test = test_compiled(model, config, setup, data)
    return config.replace(lr=test.suggestion, finetune_lr=test.suggestion), test


def _compile_probe(
    model: keras.Model, config: RunConfig, setup: DeviceSetup, classes: int
) -> LinearWarmup | None:
    """Compiles a model that is not trained further (`probe`), for its evaluation."""
    rate = config.optim.lr if isinstance(config.optim.lr, float) else 1e-3
    compile_model(model, config, setup, rate, 1, 1, classes)
    return None


def _keep_the_better(
    model: keras.Model, data: DataBundle, probe: Probe
) -> Callable[[Callable[[str], None]], dict[str, float]]:
    """After training: the probe's head on the original base wins when it scores higher.

    Compared on the validation split by accuracy, then loss; without one the
    fine-tuned model is kept. The probe's validation accuracy is recorded as the
    model measures it here (its precision), which is what the run was held to.
    """
    original = [np.array(weights) for weights in model.get_weights()]

    def choose(note: Callable[[str], None]) -> dict[str, float]:
        if data.val is None or "probe_val_accuracy" not in probe.scores:
            return {}
        scores = model.evaluate(data.val, verbose=0, return_dict=True)
        tuned = (round(float(scores["accuracy"]), 4), -float(scores["loss"]))
        trained = model.get_weights()
        model.set_weights(original)
        install_probe(model, probe)
        probed = model.evaluate(data.val, verbose=0, return_dict=True)
        # The probe as the model computes it (its precision) is what the run is compared with.
        measured = {"probe_val_accuracy": round(float(probed["accuracy"]), 4)}
        if tuned >= (measured["probe_val_accuracy"], -float(probed["loss"])):
            model.set_weights(trained)
            return {**measured, "probe_kept": 0.0}
        note(
            f"fine-tuning did not beat the linear probe on the validation split (accuracy "
            f"{tuned[0]:.1%} against {probed['accuracy']:.1%}, loss {-tuned[1]:.3f} against "
            f"{probed['loss']:.3f}): the run keeps the probe's head on the original base"
        )
        return {**measured, "probe_kept": 1.0}

    return choose


def _start_phase_two(
    model: keras.Model,
    base: Base,
    config: RunConfig,
    setup: DeviceSetup,
    steps: int,
    epochs: int,
    classes: int,
) -> LinearWarmup | None:
    """Unfreezes the top of the base and recompiles at the fine-tuning rate."""
    unfreeze_top(nested_base(model), config.finetune.unfreeze, base.block_pattern)
    return compile_model(model, config, setup, phase_two_rate(config), steps, epochs, classes)


def _head_dropout(config: RunConfig) -> float:
    """--dropout, else 0.2 for a head the optimizer trains from zero and none for a fitted one.

    A probe is fitted without dropout: dropping a fifth of its features in
    phase 2 takes its training accuracy from 100% to about 45% on small data.
    """
    if config.model.dropout is not None:
        return config.model.dropout
    return 0.2 if method_of(config) == "full" else 0.0
