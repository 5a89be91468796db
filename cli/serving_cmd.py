"""`zoo evaluate`, `zoo predict`, `zoo export` and `zoo serve`: using a trained model."""

from __future__ import annotations

from typing import Any

import click

from cli.commands import ZooCommand
from cli.completion import complete_directory, complete_file, complete_run
from cli.options import FiniteRange, SectionedCommand, count_option, schema_options
from cli.output import echo_json, info, json_option, stdout_to_stderr
from recipes.config.schema import DEFAULT_MAX_PIXELS
from recipes.serving.server.limits import ServeLimits

_MODEL_HELP = "RUN is a run directory written by `zoo train`/`zoo finetune`, or a .keras file."


@click.command(
    "evaluate", epilog=_MODEL_HELP, cls=SectionedCommand, tensorflow_first=False
)  # after the checks
@click.argument("run", metavar="RUN", shell_complete=complete_run)
@schema_options("evaluate")
@click.option(
    "--split",
    type=click.Choice(["test", "val", "validation", "train"]),
    default="test",
    show_default=True,
    help="Which split to measure.",
)
@click.option(
    "--tta",
    type=click.Choice(["none", "flip", "crops"]),
    default="none",
    show_default=True,
    help="Test-time augmentation: mirror-image averaging, or AlexNet's 10 crops.",
)
@click.option(
    "--output",
    "output_dir",
    type=click.Path(),
    shell_complete=complete_directory,
    help="Report folder (default: the run directory).",
)
@json_option
def evaluate_command(
    run: str,
    data_dir: str | None,
    dataset: str | None,
    tfds_dir: str | None,
    batch_size: int | None,
    split: str,
    tta: str,
    output_dir: str | None,
    as_json: bool,
) -> None:
    """Measure RUN on a data split: loss, top-1/top-5, per-class scores, confusion matrix.

    Without --data or --dataset, a run is measured on its own data source.
    """
    from recipes.config.schema import SETTINGS
    from recipes.data.noise import import_tensorflow_quietly
    from recipes.run.trained import check_model_path

    check_model_path(run)
    import_tensorflow_quietly()
    from recipes.serving.evaluate import evaluate

    with stdout_to_stderr(as_json):
        report = evaluate(
            run,
            data_dir=data_dir,
            dataset=dataset,
            tfds_dir=tfds_dir,
            split=split,
            tta=tta,
            batch_size=batch_size or SETTINGS["batch_size"].default,
            output_dir=output_dir,
        )
    if report["note"]:
        info(f"note: {report['note']}")
    if as_json:
        echo_json(report)
        return
    _print_evaluation(report)


def _print_evaluation(report: dict[str, Any]) -> None:
    tta = "" if report["tta"] == "none" else f", TTA {report['tta']}"
    click.echo(f"{report['model']} on {report['data']} ({report['split']}{tta})")
    click.echo(f"images     {report['images']}")
    smoothing = report.get("label_smoothing") or 0.0
    note = f"; metrics.json's *_loss includes label smoothing {smoothing:g}" if smoothing else ""
    click.echo(f"loss       {report['loss']:.4f}  (plain cross-entropy{note})")
    click.echo(f"top-1      {report['accuracy']:.2%}")
    if "top5_accuracy" in report:
        click.echo(f"top-5      {report['top5_accuracy']:.2%}")
    width = max(12, *(len(name) for name in report["per_class"]))
    click.echo("")
    click.echo(f"{'class':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
    for name, row in report["per_class"].items():
        click.echo(
            f"{name:<{width}} {row['precision']:>9.3f} {row['recall']:>9.3f} "
            f"{row['f1']:>9.3f} {row['support']:>8}"
        )
    macro = report["macro_avg"]
    click.echo(
        f"{'macro avg':<{width}} {macro['precision']:>9.3f} {macro['recall']:>9.3f} "
        f"{macro['f1']:>9.3f} {report['images']:>8}"
    )
    if report["bad"]:
        info(f"{len(report['bad'])} unreadable file(s) were skipped.")
    click.echo("")
    for kind, path in report["files"].items():
        click.echo(f"{kind:<5} {path}")


@click.command(
    "predict", epilog=_MODEL_HELP, cls=ZooCommand, tensorflow_first=False
)  # after the checks
@click.argument("run", metavar="RUN", shell_complete=complete_run)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...", shell_complete=complete_file)
@count_option("--top-k", low=1, default=5, help_text="Classes listed per image.")
@count_option("--batch-size", low=1, default=32, help_text="Images per batch.")
@json_option
def predict_command(
    run: str, images: tuple[str, ...], top_k: int, batch_size: int, as_json: bool
) -> None:
    """Predict the classes of IMAGE... (files, folders, glob patterns) with RUN.

    Files that cannot be read are reported and skipped.
    """
    from recipes.data.noise import import_tensorflow_quietly
    from recipes.serving.predict import check_inputs, predict

    check_inputs(run, list(images))
    import_tensorflow_quietly()
    with stdout_to_stderr(as_json):
        result = predict(run, list(images), top_k=top_k, batch_size=batch_size)
    if as_json:
        echo_json(result)
    else:
        for entry in result["predictions"]:
            ranked = ", ".join(
                f"{item['class']} {item['probability']:.3f}" for item in entry["top_k"]
            )
            click.echo(f"{entry['path']}: {ranked}")
    for entry in result["bad"]:
        info(f"skipped {entry['path']}: {entry['reason']}")


@click.command(
    "export", epilog=_MODEL_HELP, cls=ZooCommand, tensorflow_first=False
)  # after the checks
@click.argument("run", metavar="RUN", shell_complete=complete_run)
@click.option(
    "--output",
    "--out",
    "output",
    type=click.Path(file_okay=False),
    default="saved_models",
    show_default=True,
    help="Folder holding one sub-folder per model name.",
)
@click.option("--name", help="Model name (default: the run's folder or file name).")
@click.option(
    "--version",
    type=click.IntRange(min=1),
    help="Version number (default: the next free one).",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["savedmodel", "tflite", "onnx"]),
    default="savedmodel",
    show_default=True,
    help="tflite and onnx make a new version that holds the SavedModel and the file "
    "converted from it (model.tflite, model.onnx): a version, once written, never changes; "
    "--version N --overwrite replaces one.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing version.")
@count_option("--top-k", low=1, default=5, help_text="Classes in the top_k_classes output.")
@count_option(
    "--max-pixels",
    low=1,
    default=DEFAULT_MAX_PIXELS,
    help_text="Largest image (width x height x GIF frames) serving_default decodes; larger ones "
    "are refused from their header, before decoding.",
)
@json_option
def export_command(
    run: str,
    output: str,
    name: str | None,
    version: int | None,
    format_: str,
    overwrite: bool,
    top_k: int,
    max_pixels: int,
    as_json: bool,
) -> None:
    """Export RUN for serving: a SavedModel in TF Serving's layout OUTPUT/NAME/VERSION/.

    The default signature takes encoded JPEG/PNG bytes (`image_bytes`), so TF
    Serving's {"b64": ...} requests work; `serving_images` takes a float32
    image batch. Each export is checked against the Keras model.
    """
    from recipes.data.noise import import_tensorflow_quietly
    from recipes.run.trained import check_model_path

    check_model_path(run)
    import_tensorflow_quietly()
    from recipes.serving.export import export_model

    with stdout_to_stderr(as_json):
        result = export_model(
            run,
            output=output,
            name=name,
            version=version,
            format=format_,
            overwrite=overwrite,
            top_k=top_k,
            max_pixels=max_pixels,
        )
    if as_json:
        echo_json(result)
        return
    click.echo(f"exported {result['name']} version {result['version']} to {result['path']}")
    for signature, spec in result["signatures"].items():
        inputs = ", ".join(
            f"{key}: {dtype} {shape}" for key, (dtype, shape) in spec["inputs"].items()
        )
        click.echo(f"  {signature}({inputs})")
    for kind, check in result["checks"].items():
        worst = max(value for key, value in check.items() if key.startswith("max_abs_diff"))
        click.echo(f"  {kind}: max |difference| to Keras {worst:.2e} on {check['samples']} images")
    for kind, path in result["files"].items():
        if kind != "savedmodel":
            click.echo(f"  {kind}: {path}")


@click.command("serve", cls=ZooCommand)
@click.argument(
    "model_dir", metavar="saved_models/NAME", type=click.Path(), shell_complete=complete_directory
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8501,
    show_default=True,
    help="Port to listen on (0: any free one).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. No authentication: keep it on loopback.",
)
@click.option("--quiet", is_flag=True, help="Do not log each request.")
@click.option(
    "--max-request-mb",
    type=FiniteRange(min=0, min_open=True, max=4096),
    default=ServeLimits.max_request_bytes / 2**20,
    show_default=True,
    help="Largest request body, in MiB (413 beyond).",
)
@click.option(
    "--max-inflight-mb",
    type=FiniteRange(min=0, min_open=True, max=65536),
    default=ServeLimits.max_inflight_bytes / 2**20,
    show_default=True,
    help="Most MiB of request bodies held at once over all clients (503 beyond).",
)
@count_option(
    "--max-request-elements",
    low=1,
    default=ServeLimits.max_request_elements,
    help_text="Most JSON values (numbers, arrays) in one request (413 beyond).",
)
@count_option(
    "--max-instances",
    low=1,
    default=ServeLimits.max_instances,
    help_text="Most instances in one request (413 beyond).",
)
@count_option(
    "--max-request-pixels",
    low=1,
    default=ServeLimits.max_request_pixels,
    help_text="Most pixels the images of one request may hold together, as their headers "
    "say (413 beyond); each image is also held to its export's --max-pixels (400 beyond).",
)
@click.option(
    "--request-timeout",
    type=FiniteRange(min=0, min_open=True, max=3600),
    default=ServeLimits.request_timeout,
    show_default=True,
    help="Seconds a client has to send a request's head, and again its body.",
)
def serve_command(
    model_dir: str,
    port: int,
    host: str,
    quiet: bool,
    max_request_mb: float,
    max_inflight_mb: float,
    max_request_elements: int,
    max_instances: int,
    max_request_pixels: int,
    request_timeout: float,
) -> None:
    """Serve an exported model over TensorFlow Serving's REST API.

    Answers GET /v1/models/NAME, GET /v1/models/NAME/metadata and
    POST /v1/models/NAME[/versions/V]:predict, so TF Serving clients work
    unchanged. As TF Serving does by default, only the highest version is
    served, including one exported while the server runs. For production use
    the tensorflow/serving container.
    """
    from recipes.serving.server import make_server

    limits = ServeLimits(
        max_request_bytes=int(max_request_mb * 2**20),
        max_inflight_bytes=int(max_inflight_mb * 2**20),
        max_request_elements=max_request_elements,
        max_instances=max_instances,
        max_request_pixels=max_request_pixels,
        request_timeout=request_timeout,
    )
    server = make_server(
        model_dir, host=host, port=port, limits=limits, log=None if quiet else info
    )
    version = server.model.latest_version()
    info(f"Serving {server.model.name} version {version} at {server.url} (Ctrl-C stops)")
    try:
        server.serve_forever()  # uvicorn stops on Ctrl-C itself, or re-raises it afterwards
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    info("Stopped.")
