"""`zoo train` and `zoo finetune`: options from the schema, one resolved config, one recipe."""

from __future__ import annotations

from typing import Any

import click

from cli.options import SchemaOption, SectionedCommand, given_settings, schema_options
from cli.output import echo_json, info, json_option, stdout_to_stderr

CONFIG_OPTION = click.option(
    "--config",
    "config_file",
    cls=SchemaOption,
    section="run",
    type=click.Path(dir_okay=False),
    help="YAML run configuration (flat or in sections); flags override it.",
)

DRY_RUN_OPTION = click.option(
    "--dry-run",
    is_flag=True,
    cls=SchemaOption,
    section="run",
    help="Print the resolved configuration, each value's origin (default, preset, file, "
    "flag), and exit without training.",
)


def resolve_run_config(task: str, flags: dict[str, Any], config_file: str | None) -> Any:
    """The run configuration: defaults < preset < `--config` file < flags.

    Args:
        task: `train` or `finetune`.
        flags: The options as click parsed them (`None` when not given).
        config_file: The `--config` file, if any.

    Returns:
        The checked `RunConfig`.
    """
    from recipes.config import (
        DEFAULT_PRESETS,
        flatten,
        load_config_file,
        load_preset,
        resolve_config,
    )

    file_settings = flatten(load_config_file(config_file), config_file) if config_file else {}
    given = given_settings(flags)
    preset = given.get("preset") or file_settings.get("preset") or DEFAULT_PRESETS[task]
    return resolve_config(load_preset(preset), file_settings, given, {"task": task})


def value_origins(task: str, flags: dict[str, Any], config_file: str | None) -> dict[str, str]:
    """Where each setting's value comes from: `flag`, `file PATH`, `preset NAME` or `default`."""
    from recipes.config import DEFAULT_PRESETS, flatten, load_config_file, load_preset
    from recipes.config.schema import SETTINGS

    file_settings = flatten(load_config_file(config_file), config_file) if config_file else {}
    given = given_settings(flags)
    preset = given.get("preset") or file_settings.get("preset") or DEFAULT_PRESETS[task]
    preset_settings = flatten(load_preset(preset), preset)
    origins = {}
    for name in SETTINGS:
        if name in given:
            origins[name] = "flag"
        elif name in file_settings:
            origins[name] = f"file {config_file}"
        elif name in preset_settings:
            origins[name] = f"preset {preset}"
        else:
            origins[name] = "default"
    return origins


def _dry_run(task: str, flags: dict[str, Any], config_file: str | None, as_json: bool) -> None:
    """Checks the run as the real one would, then prints its resolved settings, and trains nothing.

    Only the settings `zoo TASK` offers are shown, each with its origin
    (default, preset, file, flag); `image_size` and `precision` are shown as
    the run resolves them on this machine.
    """
    from recipes.config.schema import offered_to
    from recipes.data.noise import import_tensorflow_quietly
    from recipes.training.preflight import preflight

    config = resolve_run_config(task, flags, config_file)
    preflight(config)
    origins = value_origins(task, flags, config_file)
    values = config.flat()
    import_tensorflow_quietly()
    from recipes.training.devices import precision_reason, resolve_precision

    resolved = {"image_size": _image_size(config)}
    if config.devices.precision == "auto":
        resolved["precision"] = precision_reason(resolve_precision("auto"))
    settings = [item for item in offered_to(task) if item.name in values]
    if as_json:
        echo_json(
            {
                "task": task,
                "settings": {
                    item.name: {
                        "value": values[item.name],
                        "origin": origins[item.name],
                        **({"resolved": resolved[item.name]} if item.name in resolved else {}),
                    }
                    for item in settings
                },
            }
        )
        return
    section = None
    for item in settings:
        if item.section != section:
            section = item.section
            click.echo(f"{section}:")
        shown = _shown(values[item.name])
        if item.name in resolved and values[item.name] != resolved[item.name]:
            shown = f"{shown} -> {resolved[item.name]}"
        click.echo(f"  {item.name}: {shown}  # {origins[item.name]}")


def _image_size(config: Any) -> Any:
    """The input side a run will use: `--image-size`, else the architecture's or base's own."""
    import os

    from zoo.names import CATALOG, canonical_name

    if config.model.image_size:
        return config.model.image_size
    name = config.model.arch if config.task == "train" else config.model.base
    if config.task == "finetune" and os.path.exists(str(name)):
        return f"the size {name} was trained at"
    return CATALOG[canonical_name(str(name))]["input_size"]


def _shown(value: Any) -> str:
    import json

    return (
        json.dumps(value) if isinstance(value, (dict, list, bool)) or value is None else str(value)
    )


def _run(task: str, flags: dict[str, Any], config_file: str | None, as_json: bool) -> None:
    from recipes.data.noise import import_tensorflow_quietly

    if flags.pop("dry_run", False):
        _dry_run(task, flags, config_file, as_json)
        return
    config = resolve_run_config(task, flags, config_file)  # checked before TensorFlow loads
    from recipes.training.preflight import preflight

    preflight(config)
    import_tensorflow_quietly()
    with stdout_to_stderr(as_json):
        if task == "train":
            from recipes.training.train import train as recipe
        else:
            from recipes.training.finetune import finetune as recipe
        from recipes.training.runner import RunInterrupted

        try:
            result = recipe(config, on_data=_report_data, on_note=info)
        except RunInterrupted as stopped:
            _interrupted(stopped)
    if as_json:
        echo_json(result.to_dict())
        return
    if result.run_dir:
        click.echo(f"run: {result.run_dir}")
    else:
        click.echo(
            f"process {result.process_index} of {result.processes}: done; process 0 wrote "
            "the run directory"
        )
    click.echo(
        f"{_count(result.epochs, 'epoch')} in {result.seconds:.1f} s, precision "
        f"{result.precision}, {_count(result.replicas, 'device')} ({result.strategy} strategy)"
    )
    click.echo(_metrics_line(result.metrics, config.optim.label_smoothing))
    if task == "finetune" and "probe_val_accuracy" in result.metrics:
        click.echo(_probe_line(result.metrics))


def _probe_line(metrics: dict[str, float]) -> str:
    """The run's validation accuracy beside its linear probe's and kNN's on the same features."""
    kept = " (the probe's head was kept)" if metrics.get("probe_kept") else ""
    return (
        f"validation accuracy: this run {metrics['val_accuracy']:.1%}{kept}; linear probe "
        f"{metrics['probe_val_accuracy']:.1%}, kNN {metrics['knn_val_accuracy']:.1%} on the "
        "base's features"
    )


def _metrics_line(metrics: dict[str, float], label_smoothing: float) -> str:
    """The final scores, and which loss is which when label smoothing makes them differ."""
    line = "scores: " + ", ".join(f"{key}={value:.4g}" for key, value in metrics.items())
    if label_smoothing and any(key.endswith("_cross_entropy") for key in metrics):
        line += (
            f" (*_loss: the training objective, with label smoothing {label_smoothing:g}; "
            "*_cross_entropy: plain cross-entropy, the loss zoo evaluate reports)"
        )
    return line


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _interrupted(stopped: Any) -> None:
    """After Ctrl-C: how far the run got and the command that continues it; exit 130."""
    import shlex
    import sys

    words = sys.argv[1:] if sys.argv[1:2] in (["train"], ["finetune"]) else []
    if "--output" not in words:
        words += ["--output", stopped.run_dir]
    if "--resume" not in words:
        words.append("--resume")
    command = "zoo " + " ".join(shlex.quote(word) for word in words)
    info(f"interrupted after epoch {stopped.epochs_done}; continue with: {command}")
    click.get_current_context().exit(130)


def _report_data(data: Any) -> None:
    """Tells the user, before training, which files were left out and why."""
    for skipped in data.bad:
        info(f"skipped {skipped['path']}: {skipped['reason']}")
    for converted in data.converted:
        info(f"converted {converted['path']}: {converted['reason']}")
    if data.dropped_classes:
        info(f"dropped empty classes: {', '.join(data.dropped_classes)}")
    if data.cache_note:
        info(data.cache_note)


@click.command("train", cls=SectionedCommand, tensorflow_first=False)  # after the checks
@schema_options("train")
@CONFIG_OPTION
@DRY_RUN_OPTION
@click.option(
    "--overfit",
    "overfit_images",
    type=int,
    cls=SchemaOption,
    section="run",
    metavar="N",
    help="Only check that the model learns N training images by heart "
    "(regularisation off); PASS or FAIL, no run directory.",
)
@json_option
def train_command(
    as_json: bool, config_file: str | None, overfit_images: int | None, **flags: Any
) -> None:
    """Train an architecture from scratch (the built-in dataset when no data is given)."""
    if overfit_images is not None and not flags.get("dry_run"):
        flags.pop("dry_run", None)
        _overfit(flags, config_file, overfit_images, as_json)
        return
    _run("train", flags, config_file, as_json)


def _overfit(flags: dict[str, Any], config_file: str | None, images: int, as_json: bool) -> None:
    """`zoo train --overfit N`: the verdict on stdout; exit 1 when the loss stays up."""
    from recipes.data.noise import import_tensorflow_quietly
    from zoo.errors import UsageError

    if images < 1:
        raise UsageError(f"--overfit takes a number of images of at least 1. Received: {images}")
    config = resolve_run_config("train", flags, config_file)
    import_tensorflow_quietly()
    with stdout_to_stderr(as_json):
        from recipes.babysit.overfit import overfit_check

        result = overfit_check(config, images)
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(result.verdict())
    if not result.passed:
        click.get_current_context().exit(1)


@click.command("finetune", cls=SectionedCommand, tensorflow_first=False)  # after the checks
@schema_options("finetune")
@CONFIG_OPTION
@DRY_RUN_OPTION
@json_option
def finetune_command(as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Fine-tune a pretrained base with a new head, in two phases."""
    _run("finetune", flags, config_file, as_json)
