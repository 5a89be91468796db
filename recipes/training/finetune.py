"""`zoo finetune`: a new head on a pretrained base, trained in two phases.

Following the Keras transfer-learning guide: the base is called with
`training=False` (BatchNorm keeps its statistics), phase 1 trains the new head
on the frozen base, phase 2 unfreezes the top blocks of the base (BatchNorm
stays frozen) and recompiles with a lower learning rate.

The base is a registered architecture (with ImageNet weights by default), a
`.keras` file or a zoo run directory; for the last two the old head is cut off
at the last 4-D feature map.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras

import zoo
from recipes.babysit.find_lr import resolve_rate
from recipes.config import RunConfig, parse_unfreeze
from recipes.data import DataBundle
from recipes.layout import RunLayout
from recipes.training.callbacks import LinearWarmup
from recipes.training.devices import DeviceSetup, setup_devices
from recipes.training.fit import (
    DataSource,
    RunResult,
    compile_model,
    load_run_data,
    steps_per_epoch,
)
from recipes.training.runner import Phase, Prepared, execute
from recipes.training.seeding import seed_run
from zoo.errors import UnknownNameError, UsageError
from zoo.fast_layers import use_fast_layers

HEAD_PHASE, FINETUNE_PHASE = "head", "finetune"


@dataclass
class Base:
    """A feature extractor to put a new head on.

    Attributes:
        model: Maps raw images to a 4-D feature map.
        name: Architecture name (or file stem) for the run directory's name.
        block_pattern: Regex matching the layers that end blocks, if known.
        image_size: The input side the base expects (or was trained at).
        channels: Input channels.
    """

    model: keras.Model
    name: str
    block_pattern: str | None
    image_size: int
    channels: int


def load_base(config: RunConfig, image_size: int | None) -> Base:
    """Builds or loads the base named by `config.model.base`.

    Args:
        config: The run configuration (`model.base`, `model.weights`).
        image_size: Requested input side, or `None` for the base's own.

    Returns:
        The base feature extractor.

    Raises:
        UsageError: Unknown base, unusable file, or weights that do not apply.
        WeightsUnavailableError: ImageNet weights not cached and not downloadable.
    """
    base = config.model.base
    if os.path.exists(base) or base.endswith(".keras"):
        return _base_from_file(config, image_size)
    spec = zoo.get_spec(base)
    weights = config.model.weights
    if weights is None:
        if "imagenet" not in spec.weights:
            raise UsageError(
                f"{spec.name} has no pretrained weights to fine-tune; train it first "
                f"(zoo train --arch {spec.name}) and pass the run directory as --base, "
                "or pass --weights none to train a new head on random weights."
            )
        weights = "imagenet"
    size = image_size or spec.default_size
    shape = (size, size, 3 if spec.rgb_only else spec.channels)
    model = zoo.build_model(spec.name, include_top=False, weights=weights, input_shape=shape)
    return Base(model, spec.name, spec.block_pattern, size, shape[-1])


def _base_from_file(config: RunConfig, image_size: int | None) -> Base:
    from recipes.serving.trained import load_trained

    if config.model.weights is not None:
        raise UsageError(
            "--weights applies to a base architecture name; a .keras file or run directory "
            "brings its own weights, so leave --weights out."
        )
    trained = load_trained(config.model.base)
    side = trained.input_size[0]
    if image_size is not None and image_size != side:
        raise UsageError(
            f"{config.model.base} was trained at {side} px; fine-tune it at that "
            f"size (leave out --image-size). Received: --image-size {image_size}"
        )
    features = use_fast_layers(_last_feature_map(trained.model, config.model.base))
    pattern = _block_pattern(Path(trained.run_dir)) if trained.run_dir is not None else None
    return Base(features, trained.name, pattern, side, trained.channels)


def _last_feature_map(model: keras.Model, source: str) -> keras.Model:
    """The model up to its last 4-D feature map: the part a new head goes on."""
    for layer in reversed(model.layers):
        if len(layer.output.shape) != 4:
            continue
        if isinstance(layer, keras.Model):  # a fine-tuned model's base, whole
            return layer
        return keras.Model(model.input, layer.output, name="base_features")
    raise UsageError(f"{source} has no convolutional feature map to put a new head on.")


def _block_pattern(run_dir: Path) -> str | None:
    """The block pattern of the architecture a run trained (or fine-tuned), if known."""
    saved = RunLayout(run_dir).config()
    name = saved.model.arch if saved.task == "train" else saved.model.base
    try:
        return zoo.get_spec(str(name)).block_pattern if name else None
    except UnknownNameError:  # a fine-tuned file or run: count layers instead
        return None


def build_finetune_model(base: Base, classes: int, dropout: float) -> keras.Model:
    """Puts a new head (pooling, dropout, dense, float32 softmax) on a frozen base.

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
    x = keras.layers.Dense(classes, name="head_logits")(x)
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


def prepare_finetune(
    config: RunConfig,
    on_data: Callable[[DataBundle], None] | None = None,
    sources: DataSource | None = None,
) -> Prepared:
    """Loads the base and the data, and builds and compiles the model with its new head.

    The head has one output per class of the data, as `zoo train`'s model
    (`load_run_data`): `--classes`, when given, is checked against the data.

    Args:
        config: A resolved configuration with `task="finetune"`.
        on_data: Called with the loaded data (the CLI reports skipped files with it).
        sources: Gives the source's images at a size, found already (a search
            finds them once per size).

    Returns:
        The prepared run: the `head` phase on the frozen base, then (unless
        `unfreeze` is `none`) the `finetune` phase, which unfreezes the top of
        the base and recompiles at the fine-tuning rate.

    Raises:
        UsageError: Bad configuration, base or data (e.g. a class-count mismatch).
        WeightsUnavailableError: ImageNet weights cannot be had offline.
    """
    seed_run(config.run)
    setup = setup_devices(config.devices)
    with setup.strategy.scope():
        base = load_base(config, config.model.image_size)
    size = (base.image_size, base.image_size)
    data = load_run_data(config, size, base.channels, sources, on_data, setup.share)
    classes = data.num_classes
    head_epochs = config.finetune.head_epochs
    total = head_epochs + config.optim.epochs
    steps = steps_per_epoch(data, config.optim.batch_size)
    with setup.strategy.scope():
        model = build_finetune_model(base, classes, _head_dropout(config))
    config, lr_test = resolve_rate(model, config, setup, data)
    with setup.strategy.scope():
        warmup = compile_model(model, config, setup, config.optim.lr, steps, head_epochs, classes)
    phases = [Phase(HEAD_PHASE, head_epochs)]
    if parse_unfreeze(config.finetune.unfreeze)[0] != "none":

        def enter_phase_two() -> LinearWarmup | None:
            return _start_phase_two(model, base, config, setup, steps, total - head_epochs, classes)

        phases.append(Phase(FINETUNE_PHASE, total, enter_phase_two))
    prepared = Prepared(config, setup, data, model, base.name, phases, warmup)
    prepared.lr_test = lr_test
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
            (the initial-loss check's problems, the chosen learning rate).

    Returns:
        The run's result.

    Raises:
        UsageError: Bad configuration, base or data (e.g. a class-count mismatch).
        WeightsUnavailableError: ImageNet weights cannot be had offline.
        TrainingDiverged: The loss became NaN.
    """
    started = time.perf_counter()
    return execute(prepare_finetune(config, on_data), started, on_note)


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
    finetune_lr = config.finetune.finetune_lr or config.optim.lr / 100
    return compile_model(model, config, setup, finetune_lr, steps, epochs, classes)


def _head_dropout(config: RunConfig) -> float:
    return 0.2 if config.model.dropout is None else config.model.dropout
