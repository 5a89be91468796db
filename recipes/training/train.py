"""`zoo train`: train any registered architecture from scratch."""

from __future__ import annotations

import time
from collections.abc import Callable

import keras

import zoo
from recipes.config import RunConfig
from recipes.data import DataBundle
from recipes.training.auto_lr import resolve_rate
from recipes.training.devices import setup_devices
from recipes.training.fit import (
    DataSource,
    RunResult,
    compile_model,
    load_run_data,
    steps_per_epoch,
)
from recipes.training.runner import Phase, Prepared, execute
from recipes.training.seeding import seed_run
from zoo.builder import architecture_options, resolve_input_shape
from zoo.errors import UsageError


def build_classifier(config: RunConfig, classes: int, image_size: int) -> keras.Model:
    """Builds the architecture with a float32 softmax on top of its logits.

    Under mixed precision the last activation must stay float32 for a stable
    loss; the architecture's own top therefore ends in logits here.

    Args:
        config: The run configuration (`model.arch`, `arch_options`, `dropout`).
        classes: Number of classes.
        image_size: Square input side.

    Returns:
        The uncompiled model, output `probabilities` (float32).

    Raises:
        UsageError: `dropout` given for an architecture without dropout.
    """
    spec = zoo.get_spec(config.model.arch)
    options = dict(config.model.arch_options)
    dropout = config.model.dropout
    if dropout is not None:
        if "dropout" in architecture_options(spec):
            options["dropout"] = dropout
        elif dropout:
            origin = f" (preset {config.run.preset} sets it)" if config.run.preset else ""
            raise UsageError(
                f"{spec.name} has no dropout layer, so dropout={dropout} does not "
                f"apply{origin}; pass --dropout 0 or another --preset (architectures with "
                "dropout: alexnet, zfnet, vgg*, googlenet)."
            )
    body = zoo.build_model(
        spec.name,
        classes=classes,
        input_shape=(image_size, image_size, spec.channels),
        classifier_activation=None,
        **options,
    )
    if len(body.outputs) > 1:
        raise UsageError(
            f"{spec.name} was built with auxiliary heads (aux_logits); zoo train trains the "
            "main classifier only, so leave that option out."
        )
    probabilities = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(
        body.output
    )
    return keras.Model(body.input, probabilities, name=spec.name)


def prepare_train(
    config: RunConfig,
    on_data: Callable[[DataBundle], None] | None = None,
    sources: DataSource | None = None,
) -> Prepared:
    """Loads the data and builds and compiles `config.model.arch` for training from scratch.

    Args:
        config: A resolved configuration with `task="train"`.
        on_data: Called with the loaded data (the CLI reports skipped files with it).
        sources: Gives the source's images at a size, found already (a search
            finds them once per size).

    Returns:
        The prepared run: one phase, `train`.

    Raises:
        UsageError: Bad configuration or data.
    """
    seed_run(config.run)
    spec = zoo.get_spec(config.model.arch)
    image_size = config.model.image_size or spec.default_size
    resolve_input_shape(spec, (image_size, image_size, spec.channels))
    setup = setup_devices(config.devices)
    size = (image_size, image_size)
    data = load_run_data(config, size, spec.channels, sources, on_data, setup.share)
    classes = data.num_classes
    steps = steps_per_epoch(data, config.optim.batch_size)
    epochs = config.optim.epochs
    with setup.strategy.scope():
        model = build_classifier(config, classes, image_size)
    config, lr_test = resolve_rate(model, config, setup, data)
    with setup.strategy.scope():
        warmup = compile_model(model, config, setup, config.optim.lr, steps, epochs, classes)
    prepared = Prepared(config, setup, data, model, spec.name, [Phase("train", epochs)], warmup)
    prepared.lr_test = lr_test
    return prepared


def train(
    config: RunConfig,
    on_data: Callable[[DataBundle], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> RunResult:
    """Trains `config.model.arch` from scratch on the configured data.

    The model is built before the run directory is created, so a bad
    configuration leaves nothing behind; with `resume`, the same build then
    takes the checkpoint's weights and optimizer state.

    Args:
        config: A resolved configuration with `task="train"`.
        on_data: Called with the loaded data before training starts (the CLI
            reports skipped files with it).
        on_note: Called with each line the user should read before training
            (the initial-loss check's problems, the chosen learning rate).

    Returns:
        The run's result (run directory, history, metrics).

    Raises:
        UsageError: Bad configuration or data.
        TrainingDiverged: The loss became NaN.
    """
    started = time.perf_counter()
    return execute(prepare_train(config, on_data), started, on_note)
