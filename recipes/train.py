"""`zoo train`: train any registered architecture from scratch."""

from __future__ import annotations

import time

import keras

import zoo
from recipes.config import RunConfig
from recipes.devices import setup_devices
from recipes.fitting import (
    RunResult,
    compile_model,
    finish_run,
    fit_phase,
    load_run_data,
    open_run,
    steps_per_epoch,
)
from recipes.runs import STATE_FILE
from zoo.builder import architecture_options, resolve_input_shape
from zoo.errors import UsageError


def build_classifier(config: RunConfig, classes: int, image_size: int) -> keras.Model:
    """Builds the architecture with a float32 softmax on top of its logits.

    Under mixed precision the last activation must stay float32 for a stable
    loss; the architecture's own top therefore ends in logits here.

    Args:
        config: The run configuration (`arch`, `arch_options`, `dropout`).
        classes: Number of classes.
        image_size: Square input side.

    Returns:
        The uncompiled model, output `probabilities` (float32).

    Raises:
        UsageError: `dropout` given for an architecture without dropout.
    """
    spec = zoo.get_spec(config.arch)
    options = dict(config.arch_options)
    if config.dropout is not None:
        if "dropout" not in architecture_options(spec):
            raise UsageError(
                f"{spec.name} has no dropout layer; leave out --dropout "
                f"(architectures with one: alexnet, zfnet, vgg_*, googlenet)."
            )
        options["dropout"] = config.dropout
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


def train(config: RunConfig) -> RunResult:
    """Trains `config.arch` from scratch on the configured data.

    Args:
        config: A resolved configuration with `task="train"`.

    Returns:
        The run's result (run directory, history, metrics).

    Raises:
        UsageError: Bad configuration or data.
        TrainingDiverged: The loss became NaN.
    """
    started = time.perf_counter()
    spec = zoo.get_spec(config.arch)
    image_size = config.image_size or spec.default_size
    resolve_input_shape(spec, (image_size, image_size, spec.channels))
    setup = setup_devices(config.precision, config.jit, config.strategy)
    data = load_run_data(config, image_size, spec.channels, config.classes)
    classes = len(data.class_names)
    run = open_run(config, spec.name, setup)
    try:
        run.write_json("class_names.json", list(data.class_names))
        steps = steps_per_epoch(data, config.batch_size)
        with setup.strategy.scope():
            if config.resume:
                model = keras.saving.load_model(run.file("last.keras"))
                done = run.read_json(STATE_FILE)["epochs_done"]
            else:
                model = build_classifier(config, classes, image_size)
                compile_model(model, config, setup, config.lr, steps, config.epochs, classes)
                done = 0
        fit_phase(model, data, run, config, phase="train", initial_epoch=done, epochs=config.epochs)
        return finish_run(model, data, run, setup, started)
    finally:
        run.unlock()
