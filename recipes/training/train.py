"""`zoo train`: train any registered architecture from scratch."""

from __future__ import annotations

import time
from collections.abc import Callable

import keras

import zoo
from recipes.config import RunConfig
from recipes.data import DataBundle
from recipes.training.devices import setup_devices
from recipes.training.phases import (
    RunResult,
    compile_model,
    finish_run,
    fit_phase,
    load_run_data,
    open_run,
    record_data,
    restore_checkpoint,
    steps_per_epoch,
)
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


def train(config: RunConfig, on_data: Callable[[DataBundle], None] | None = None) -> RunResult:
    """Trains `config.model.arch` from scratch on the configured data.

    The model is built before the run directory is created, so a bad
    configuration leaves nothing behind; with `resume`, the same build then
    takes the checkpoint's weights and optimizer state.

    Args:
        config: A resolved configuration with `task="train"`.
        on_data: Called with the loaded data before training starts (the CLI
            reports skipped files with it).

    Returns:
        The run's result (run directory, history, metrics).

    Raises:
        UsageError: Bad configuration or data.
        TrainingDiverged: The loss became NaN.
    """
    started = time.perf_counter()
    keras.utils.set_random_seed(config.run.seed)
    spec = zoo.get_spec(config.model.arch)
    image_size = config.model.image_size or spec.default_size
    resolve_input_shape(spec, (image_size, image_size, spec.channels))
    setup = setup_devices(config.devices)
    data = load_run_data(config, (image_size, image_size), spec.channels, config.model.classes)
    if on_data is not None:
        on_data(data)
    classes = len(data.class_names)
    steps = steps_per_epoch(data, config.optim.batch_size)
    epochs = config.optim.epochs
    with setup.strategy.scope():
        model = build_classifier(config, classes, image_size)
        warmup = compile_model(model, config, setup, config.optim.lr, steps, epochs, classes)
    run = open_run(config, spec.name, setup)
    try:
        record_data(run, data)
        done = 0
        if config.run.resume:
            with setup.strategy.scope():
                done = restore_checkpoint(model, run)
        fit_phase(
            model, data, run, config, phase="train", initial_epoch=done, epochs=epochs,
            warmup=warmup,
        )  # fmt: skip
        return finish_run(model, data, run, setup, started)
    finally:
        run.unlock()
