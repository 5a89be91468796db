"""Measuring an ensemble's members on one split, with `zoo evaluate`'s recipe."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recipes.run.layout import RunLayout
from recipes.run.trained import TrainedModel
from recipes.serving.evaluate import evaluate
from zoo.errors import UsageError


def evaluate_members(
    members: Sequence[TrainedModel], data: dict[str, str | None], batch_size: int
) -> tuple[list[dict[str, Any]], str]:
    """Measures every member on the test split, or on the validation split without one.

    The members' reports go to a scratch folder (their run directories are
    left as they are); only the numbers are kept.

    Args:
        members: The members.
        data: `data_dir`, `dataset` and `tfds_dir` for `evaluate` (all `None`:
            each run's own source).
        batch_size: Images per batch.

    Returns:
        The reports, in member order, and the split measured.

    Raises:
        UsageError: The data cannot be measured, or the members were measured
            on different images (data settings that split differently).
    """
    reports: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="zoo-ensemble-") as scratch:
        for index, member in enumerate(members):
            where = {**data, "batch_size": batch_size, "output_dir": Path(scratch) / str(index)}
            if reports:
                reports.append(evaluate(member.run_dir, split=reports[0]["split"], **where))
                continue
            try:
                reports.append(evaluate(member.run_dir, split="test", **where))
            except UsageError as no_test:
                try:
                    reports.append(evaluate(member.run_dir, split="val", **where))
                except UsageError:
                    raise no_test from None
    _check_same_images(members, reports)
    return reports, reports[0]["split"]


def member_score(member: TrainedModel, report: dict[str, Any]) -> dict[str, Any]:
    """One member's line of the comparison: which run, how it is fed, how it scored.

    Args:
        member: The member.
        report: Its evaluation.

    Returns:
        `run` (absolute), `name` (in the ensemble), `input_size`,
        `interpolation`, `accuracy`, `loss` and `top5_accuracy` (more than 5
        classes only).
    """
    height, width = member.input_size
    return {
        "run": str(Path(member.run_dir or "").resolve()),
        "name": member.model.name,
        "input_size": [height, width],
        "interpolation": member.interpolation,
        **scores(report),
    }


def scores(report: dict[str, Any]) -> dict[str, float]:
    """An evaluation's headline numbers: `accuracy`, `loss` and `top5_accuracy` if measured.

    Args:
        report: What `recipes.serving.evaluate.evaluate` returned.

    Returns:
        The numbers by name.
    """
    keys = ("accuracy", "loss", "top5_accuracy")
    return {key: report[key] for key in keys if key in report}


def split_warnings(members: Sequence[TrainedModel], split: str) -> list[str]:
    """Why a validation split may not be held out from every member.

    Args:
        members: The members.
        split: The split measured.

    Returns:
        Warnings for the user (none for a test split, or runs that split alike).
    """
    if split != "val":
        return []
    settings = {
        (config.run.seed, config.data.val_split)
        for config in (RunLayout(member.run_dir or "").config() for member in members)
    }
    if len(settings) == 1:
        return []
    return [
        "The runs were trained with different seeds or val_split; where their validation "
        "images are split off one folder, each run trained on part of the others' validation "
        "images. Measure on held-out data with --data DIR (a test/ folder)."
    ]


def _check_same_images(members: Sequence[TrainedModel], reports: Sequence[dict[str, Any]]) -> None:
    def images(report: dict[str, Any]) -> tuple[Any, ...]:
        support = tuple(row["support"] for row in report["per_class"].values())
        return report["data"], report["images"], support

    for member, report in zip(members[1:], reports[1:], strict=True):
        if images(report) != images(reports[0]):
            raise UsageError(
                f"{member.source} and {members[0].source} hold out different images "
                f"({report['images']} and {reports[0]['images']} in the {report['split']} split "
                f"of {report['data']}): their val_split, shapes_per_class, shape_classes or "
                "data differ. "
                "Measure them on the same held-out images with --data DIR (a test/ folder)."
            )
