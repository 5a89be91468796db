"""`zoo plot`, `filters`, `activations`, `explain`, `neighbors`, `embed`: what a model learned.

Each command writes PNGs (and data files) into a folder of the run directory
by default and prints the paths it wrote, one per line, or one JSON document
with `--json`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from cli.commands import ZooCommand
from cli.completion import complete_directory, complete_file, complete_run
from cli.output import echo_json, info, json_option, stdout_to_stderr

_MODEL_HELP = "RUN is a run directory written by `zoo train`/`zoo finetune`, or a .keras file."
_LAYER_HELP = (
    "Layer by path, into nested models (e.g. base/conv5_block3_out); `--layer list` lists them."
)


def _output_option(default: str) -> Callable[[Any], Any]:
    return click.option(
        "--output",
        "output_dir",
        type=click.Path(file_okay=False),
        help=f"Folder for the files (default: {default}).",
    )


def _data_option(help_text: str) -> Callable[[Any], Any]:
    return click.option(
        "--data",
        "data_dir",
        required=True,
        type=click.Path(),
        shell_complete=complete_directory,
        help=help_text,
    )


def _layer_option(default: str) -> Callable[[Any], Any]:
    return click.option("--layer", help=f"{_LAYER_HELP} Default: {default}.")


def _listed_layers(run: str, layer: str | None, as_json: bool) -> bool:
    """Prints the model's layers for `--layer list`; whether it did."""
    if layer != "list":
        return False
    from recipes.run.trained import load_trained
    from recipes.understand.layers import layer_listing

    rows = layer_listing(load_trained(run).model)
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            click.echo(f"{row['path']:<48} {row['type']:<24} {tuple(row['shape'])}")
    return True


def _report(result: dict[str, Any], as_json: bool, paths: list[str]) -> None:
    if as_json:
        echo_json(result)
    else:
        for path in paths:
            click.echo(path)
    for entry in result.get("bad", []):
        info(f"skipped {entry['path']}: {entry['reason']}")


@click.command("plot", cls=ZooCommand)
@click.argument("runs", nargs=-1, required=True, metavar="RUN...", shell_complete=complete_run)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="The PNG (default: RUN/curves.png; for several runs, curves-compare.png in the first).",
)
@json_option
def plot_command(runs: tuple[str, ...], output: str | None, as_json: bool) -> None:
    """Draw the training curves of RUN, or overlay several runs to compare them."""
    from recipes.run.curves import plot_runs

    result = plot_runs(list(runs), output)
    _report(result, as_json, [result["png"]])


@click.command("filters", epilog=_MODEL_HELP, cls=ZooCommand)
@click.argument("run", metavar="RUN", shell_complete=complete_run)
@_layer_option("the first convolution")
@_output_option("RUN/filters")
@json_option
def filters_command(run: str, layer: str | None, output_dir: str | None, as_json: bool) -> None:
    """Draw a convolution's learned filters as a grid of small images."""
    from recipes.understand.filters import filters

    if _listed_layers(run, layer, as_json):
        return
    with stdout_to_stderr(as_json):
        result = filters(run, layer=layer, output_dir=output_dir)
    _report(result, as_json, [result["png"]])


@click.command("activations", epilog=_MODEL_HELP, cls=ZooCommand)
@click.argument("run", metavar="RUN", shell_complete=complete_run)
@click.argument("image", metavar="IMAGE", shell_complete=complete_file)
@_layer_option("the first convolution")
@_output_option("RUN/activations")
@json_option
def activations_command(
    run: str, image: str, layer: str | None, output_dir: str | None, as_json: bool
) -> None:
    """Draw the activation maps of a layer for IMAGE, one per channel."""
    from recipes.understand.filters import activations

    if _listed_layers(run, layer, as_json):
        return
    with stdout_to_stderr(as_json):
        result = activations(run, image, layer=layer, output_dir=output_dir)
    _report(result, as_json, [result["png"]])


@click.command("explain", epilog=_MODEL_HELP, cls=ZooCommand)
@click.argument("run", metavar="RUN", shell_complete=complete_run)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...", shell_complete=complete_file)
@click.option(
    "--method",
    "methods",
    multiple=True,
    help="gradcam (default), gradcam++, scorecam, saliency, smoothgrad, "
    "integrated-gradients, occlusion, or all; repeat or separate with commas.",
)
@click.option("--class", "class_name", help="Class to explain (default: each image's prediction).")
@_layer_option("the last 4-D feature map (CAM methods)")
@click.option(
    "--check",
    is_flag=True,
    help="Also test each method: model randomisation (Spearman) and deletion/insertion AUC.",
)
@_output_option("RUN/explain")
@json_option
def explain_command(
    run: str,
    images: tuple[str, ...],
    methods: tuple[str, ...],
    class_name: str | None,
    layer: str | None,
    check: bool,
    output_dir: str | None,
    as_json: bool,
) -> None:
    """Show where RUN looks in each IMAGE (files, folders, glob patterns).

    Per image and method: a PNG of the map over the image and the raw map as
    .npy, computed on the logits, one batch for many images.
    """
    from recipes.understand.explain import explain

    if _listed_layers(run, layer, as_json):
        return
    with stdout_to_stderr(as_json):
        result = explain(
            run,
            list(images),
            methods=list(methods),
            class_name=class_name,
            layer=layer,
            output_dir=output_dir,
            check=check,
        )
    paths = []
    for method in result["methods"].values():
        paths.extend(path for entry in method["files"] for path in (entry["png"], entry["npy"]))
        if "check" in method:
            paths.append(method["check"]["png"])
    _report(result, as_json, paths)
    if not as_json and check:
        for name, method in result["methods"].items():
            _print_check(name, method["check"])


def _print_check(name: str, check: dict[str, Any]) -> None:
    randomised = check["randomisation"]
    levels = ", ".join(f"{level['layers']}: {level['spearman']}" for level in randomised["levels"])
    faith = check["faithfulness"]
    info(
        f"{name}: randomisation {randomised['verdict']}; Spearman by top layers re-initialised "
        f"{levels}"
    )
    info(
        f"{name}: faithfulness {faith['verdict']}; deletion AUC {faith['deletion_auc']} (random "
        f"{faith['random_deletion_auc']}), insertion AUC {faith['insertion_auc']} (random "
        f"{faith['random_insertion_auc']})"
    )


@click.command("neighbors", epilog=_MODEL_HELP, cls=ZooCommand)
@click.argument("run", metavar="RUN", shell_complete=complete_run)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...", shell_complete=complete_file)
@_data_option("Folder of class sub-folders to search (the training data).")
@click.option(
    "--k", type=click.IntRange(min=1), default=5, show_default=True, help="Neighbours per image."
)
@_layer_option("the penultimate features")
@_output_option("RUN/neighbors")
@json_option
def neighbors_command(
    run: str,
    images: tuple[str, ...],
    data_dir: str,
    k: int,
    layer: str | None,
    output_dir: str | None,
    as_json: bool,
) -> None:
    """Find the k images of --data nearest to each IMAGE in the model's feature space."""
    from recipes.understand.neighbors import neighbors

    if _listed_layers(run, layer, as_json):
        return
    with stdout_to_stderr(as_json):
        result = neighbors(run, list(images), data_dir, k=k, layer=layer, output_dir=output_dir)
    paths = [path for query in result["queries"] for path in (query["png"], query["json"])]
    _report(result, as_json, paths)


@click.command("embed", epilog=_MODEL_HELP, cls=ZooCommand)
@click.argument("run", metavar="RUN", shell_complete=complete_run)
@_data_option("Folder of class sub-folders.")
@click.option(
    "--method",
    type=click.Choice(["pca", "tsne"]),
    default="pca",
    show_default=True,
    help="pca (fast, linear) or tsne (t-SNE: keeps neighbourhoods, slower).",
)
@click.option(
    "--max-images",
    type=click.IntRange(min=3),
    default=1000,
    show_default=True,
    help="Images used, an even share per class.",
)
@click.option("--k", type=click.IntRange(min=1), default=5, show_default=True, help="k of k-NN.")
@_layer_option("the penultimate features")
@_output_option("RUN/embed")
@json_option
def embed_command(
    run: str,
    data_dir: str,
    method: str,
    max_images: int,
    k: int,
    layer: str | None,
    output_dir: str | None,
    as_json: bool,
) -> None:
    """Map the features of --data's images to 2-D, score k-NN, export for TensorBoard."""
    from recipes.understand.embed import embed

    if _listed_layers(run, layer, as_json):
        return
    with stdout_to_stderr(as_json):
        result = embed(
            run,
            data_dir,
            method=method,
            max_images=max_images,
            k=k,
            layer=layer,
            output_dir=output_dir,
        )
    files = result["files"]
    _report(result, as_json, [files["png"], files["json"], files["projector"]])
    if not as_json:
        info(f"{result['k']}-NN accuracy in feature space: {result['knn_accuracy']:.1%}")
