"""`make_ensemble`: builds, saves and measures the ensemble of trained runs, as one run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recipes.config import RunConfig
from recipes.ensemble.compare import evaluate_members, member_score, scores, split_warnings
from recipes.ensemble.model import build_ensemble, check_count, check_members, load_member
from recipes.run.layout import RunLayout
from recipes.run.trained import TrainedModel
from recipes.serving.evaluate import evaluate
from zoo.errors import UsageError


def make_ensemble(
    runs: Sequence[str | Path],
    *,
    output: str | Path | None = None,
    data_dir: str | None = None,
    dataset: str | None = None,
    tfds_dir: str | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Builds, saves and measures the ensemble of trained runs.

    Everything that can be refused is checked before the run directory is
    made: the output, the runs, their classes and channels, the model, and the
    members' evaluation (which checks the data).

    Args:
        runs: Two or more run directories with the same class names in the
            same order.
        output: The new run directory (default: `runs/ensemble-TIMESTAMP`); an
            existing directory that holds files is refused.
        data_dir: Data to measure on (default: the first run's own data source).
        dataset: A tensorflow-datasets name to measure on instead.
        tfds_dir: Where tensorflow-datasets keeps its data.
        batch_size: Images per batch of the evaluation.

    Returns:
        `run_dir`, `model`, `input_size`, `class_names`, `split`, `data`,
        `images`, the ensemble's `accuracy`, `loss` (also as `test_accuracy`
        or `val_accuracy`, ... like a run's metrics) and `top5_accuracy` (more
        than 5 classes), `gain` (the ensemble's accuracy minus the best
        member's), `members` (see `compare.member_score`), `best_member` (its
        run), `warnings`, `files` (the ensemble's evaluation report) and
        `seconds`.

    Raises:
        UsageError: Fewer than two runs, a path that is not a finished run, a
            run given twice, runs whose classes or channels differ, an input
            size the ensemble cannot take, an existing output directory, or
            data the runs cannot be measured on.
    """
    started = time.perf_counter()
    check_count(len(runs))
    _check_output(output)
    members = [load_member(run) for run in runs]
    check_members(members)
    model = build_ensemble(members)
    data = {"data_dir": data_dir, "dataset": dataset, "tfds_dir": tfds_dir}
    if not (data_dir or dataset):
        first = RunLayout(members[0].run_dir or "").config().data
        data = {"data_dir": first.data_dir, "dataset": first.dataset, "tfds_dir": first.tfds_dir}
    reports, split = evaluate_members(members, data, batch_size)
    comparison, best = _comparison(members, reports)
    comparison["warnings"] = split_warnings(members, split)
    input_size = tuple(model.input_shape[1:3])
    config = ensemble_config(members, best, input_size, output)

    run = RunLayout.create(config, "ensemble")
    try:
        run.write_class_names(members[0].class_names)
        run.write_json(RunLayout.METRICS, comparison)
        run.save_model(model, RunLayout.MODEL)  # last of the run's files: it marks it finished
        report = evaluate(run.path, **data, split=split, batch_size=batch_size)
        headline = scores(report)
        measured = {
            **headline,
            **{f"{split}_{key}": value for key, value in headline.items()},
            "gain": report["accuracy"] - comparison["members"][best]["accuracy"],
        }
        run.write_json(RunLayout.METRICS, {**measured, **comparison})
    finally:
        run.unlock()
    return {
        "run_dir": str(run.path),
        "model": str(run.file(RunLayout.MODEL)),
        "input_size": list(input_size),
        "class_names": list(members[0].class_names),
        **measured,
        **comparison,
        "files": report["files"],
        "seconds": round(time.perf_counter() - started, 2),
    }


def ensemble_config(
    members: Sequence[TrainedModel],
    best: int,
    input_size: tuple[int, ...],
    output: str | Path | None,
) -> RunConfig:
    """The ensemble run's `config.yaml`: the best member's, fed as the ensemble is.

    The input size is the ensemble's, the interpolation that of the member
    taking the largest images (the ensemble resizes for the others), and the
    data source, split and seed the first member's, so that `zoo evaluate` on
    the ensemble without `--data` measures the images the comparison used.

    Args:
        members: The members.
        best: Index of the best member.
        input_size: `(height, width)` of the ensemble's input.
        output: The run directory (`None` for a generated one).

    Returns:
        The checked configuration.
    """
    largest = next(member for member in members if tuple(member.input_size) == input_size)
    first = RunLayout(members[0].run_dir or "").config()
    data = {
        key: getattr(first.data, key)
        for key in (
            "data_dir",
            "dataset",
            "tfds_dir",
            "val_split",
            "shapes_per_class",
            "shape_classes",
        )
    }
    best_config = RunLayout(members[best].run_dir or "").config()
    return best_config.replace(
        **data,
        image_size=int(input_size[0]),
        interpolation=largest.interpolation,
        seed=first.run.seed,
        output=str(output) if output is not None else None,
        resume=False,
    )


def _comparison(
    members: Sequence[TrainedModel], reports: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any], int]:
    """What the members scored, and which is best: the most accurate, of equals the lowest loss."""
    measured = [member_score(m, report) for m, report in zip(members, reports, strict=True)]
    best = max(range(len(measured)), key=lambda i: (measured[i]["accuracy"], -measured[i]["loss"]))
    first = reports[0]
    comparison = {
        "split": first["split"],
        "data": first["data"],
        "images": first["images"],
        "members": measured,
        "best_member": measured[best]["run"],
    }
    return comparison, best


def _check_output(output: str | Path | None) -> None:
    if output is None:
        return
    path = Path(output)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(
            f"{path} already exists and is not empty; an ensemble is written to a new "
            "directory: choose another --output."
        )
