"""`zoo train` and `zoo finetune`: parse flags, resolve the config, run one recipe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from cli.output import echo_json, info, json_option, stdout_to_stderr

_CHOICES = {
    "optimizer": ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"),
    "schedule": ("constant", "step", "plateau", "cosine"),
    "precision": ("auto", "fp32", "bf16", "fp16"),
    "jit": ("auto", "on", "off"),
    "strategy": ("auto", "default", "mirrored", "multiworker"),
    "augment": ("none", "light", "standard", "strong"),
}


def _choice(name: str) -> click.Choice:
    return click.Choice(_CHOICES[name], case_sensitive=False)


_SHARED_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False),
        help="Image folder: class sub-folders, or train/ val/ test/ splits.",
    ),
    click.option("--dataset", help="A tensorflow-datasets name, e.g. cifar10 or tf_flowers."),
    click.option("--data-dir", "tfds_data_dir", help="tensorflow-datasets data directory."),
    click.option("--epochs", type=int, help="Epochs (for finetune: of phase 2)."),
    click.option("--batch-size", type=int, help="Global batch size."),
    click.option("--image-size", type=int, help="Square input side in pixels."),
    click.option("--optimizer", type=_choice("optimizer")),
    click.option("--lr", type=float, help="Peak learning rate."),
    click.option("--momentum", type=float),
    click.option(
        "--weight-decay",
        type=float,
        help="L2 for sgd/momentum/nesterov (as the papers), decoupled for the others.",
    ),
    click.option("--schedule", type=_choice("schedule")),
    click.option("--warmup-epochs", type=int),
    click.option("--label-smoothing", type=float),
    click.option("--dropout", type=float),
    click.option(
        "--augment", type=_choice("augment"), help="Augmentation preset of the training split."
    ),
    click.option("--flip/--no-flip", default=None, help="Random horizontal flips (override)."),
    click.option("--rotation", type=float, help="Largest rotation, a fraction of a turn."),
    click.option("--translation", type=float, help="Largest shift, a fraction of the size."),
    click.option("--zoom", type=float, help="Largest zoom in or out, a fraction."),
    click.option("--contrast", type=float, help="RandomContrast factor."),
    click.option("--randaugment/--no-randaugment", default=None, help="RandAugment (override)."),
    click.option("--mixup", type=float, help="MixUp alpha (0: off)."),
    click.option("--cutmix", type=float, help="CutMix factor (0: off)."),
    click.option(
        "--interpolation", help="Resize method of tf.image.resize: bilinear (default), area, ..."
    ),
    click.option(
        "--cache",
        help="Decoded-image cache: memory (default), none, or a path for a file cache.",
    ),
    click.option("--max-pixels", type=int, help="Skip images with more pixels than this."),
    click.option(
        "--drop-empty-classes",
        is_flag=True,
        default=None,
        help="Leave out class folders with no usable image instead of refusing them.",
    ),
    click.option("--val-split", type=float, help="Validation share for class-folder data."),
    click.option(
        "--shapes-per-class",
        type=int,
        help="Images per class of the built-in set (train + validation).",
    ),
    click.option("--seed", type=int),
    click.option("--early-stopping", type=int, help="Stop after N epochs without improvement."),
    click.option("--preset", help="A paper recipe from recipes/presets (alexnet, resnet, ...)."),
    click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        help="YAML run configuration; flags override it.",
    ),
    click.option(
        "--precision",
        type=_choice("precision"),
        help="auto: bf16 where the CPU/GPU supports it, else fp32.",
    ),
    click.option("--jit", type=_choice("jit"), help="XLA compilation of the train step."),
    click.option(
        "--strategy", type=_choice("strategy"), help="tf.distribute: auto uses every visible GPU."
    ),
    click.option("--output", help="Run directory (default: runs/NAME-TIMESTAMP)."),
    click.option(
        "--resume", is_flag=True, default=None, help="Continue the interrupted run in --output."
    ),
    json_option,
]


def shared_options(function: Any) -> Any:
    """The options `zoo train` and `zoo finetune` share."""
    for option in reversed(_SHARED_OPTIONS):
        function = option(function)
    return function


def _parse_arch_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    import yaml

    from zoo.errors import UsageError

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--arch-option takes KEY=VALUE. Received: {pair!r}")
        options[key] = yaml.safe_load(value)
    return options


def _run(task: str, flags: dict[str, Any], as_json: bool) -> None:
    from recipes.config import load_config_file, load_preset, resolve_config

    config_file = flags.pop("config_file", None)
    file_settings = load_config_file(config_file) if config_file else {}
    preset = (
        flags.get("preset")
        or file_settings.get("preset")
        or ("modern" if task == "train" else "finetune")
    )
    given = {key: value for key, value in flags.items() if value is not None}
    config = resolve_config(load_preset(preset), file_settings, given, {"task": task})
    with stdout_to_stderr(as_json):
        if task == "train":
            from recipes.train import train as recipe
        else:
            from recipes.finetune import finetune as recipe
        result = recipe(config, on_data=_report_data)
    if as_json:
        echo_json(result.to_dict())
        return
    metrics = ", ".join(f"{key}={value:.4f}" for key, value in result.metrics.items())
    click.echo(f"run: {result.run_dir}")
    click.echo(
        f"{result.epochs} epochs in {result.seconds:.1f}s ({result.precision}, "
        f"{result.strategy} x{result.replicas}); {metrics}"
    )


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


@click.command("train")
@click.option("--arch", help="Architecture to train from scratch (see `zoo list`).")
@click.option("--classes", type=int, help="Classes (checked against the data; built-in set size).")
@click.option(
    "--arch-option",
    "arch_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Architecture option, e.g. lrn=true (see `zoo info NAME`).",
)
@shared_options
def train_command(as_json: bool, arch_options: tuple[str, ...], **flags: Any) -> None:
    """Train an architecture from scratch (the built-in dataset when no data is given)."""
    if arch_options:
        flags["arch_options"] = _parse_arch_options(arch_options)
    _run("train", flags, as_json)


@click.command("finetune")
@click.option("--base", help="Architecture name, a .keras file or a zoo run directory.")
@click.option("--classes", type=int, help="Classes of the new head (must match the data).")
@click.option("--weights", help="imagenet (default where available), none, or a weights file.")
@click.option("--head-epochs", type=int, help="Phase 1: epochs of the head on the frozen base.")
@click.option("--unfreeze", help="Phase 2: top blocks to unfreeze (2), Nlayers, all or none.")
@click.option("--finetune-lr", type=float, help="Phase 2 learning rate (default: lr / 100).")
@shared_options
def finetune_command(as_json: bool, **flags: Any) -> None:
    """Fine-tune a pretrained base with a new head, in two phases."""
    _run("finetune", flags, as_json)
