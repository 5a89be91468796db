"""`zoo search` end to end on LeNet-5 and the built-in set: real trials, real keras-tuner."""

import json
import shutil

import keras_tuner as kt
import pytest
import yaml

from recipes.config import load_config_file, resolve_config
from recipes.run.layout import RunLayout
from recipes.search import tuning
from recipes.search.results import report
from recipes.search.study import StudyLayout
from recipes.search.tuning import SearchRequest
from tests.trained_runs import OTHER_SHAPES
from zoo.errors import UsageError

SETTINGS = {
    "arch": "lenet5",
    "classes": 3,
    "shapes_per_class": 15,
    "precision": "fp32",
    "batch_size": 16,
}


def request(output, **overrides):
    options = {"max_trials": 3, "epochs": 1, "output": str(output), "settings": dict(SETTINGS)}
    options.update(overrides)
    return SearchRequest(**options)


def search(request, isolate=False):
    """The trials in this process: quicker here; the CLI's tests run them in children."""
    return tuning.search(request, isolate=isolate)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("search") / "study"
    space = root.parent / "space.yaml"
    space.write_text("lr: {min: 1.0e-3, max: 3.0e-2, log: true}\nbatch_size: 16\naugment: none\n")
    result = search(request(root, space_file=str(space)))
    return {"path": root, "result": result, "space": str(space)}


def test_the_study_directory(study):
    path = study["path"]
    for name in ("study.json", "trials.csv", "best.yaml", "report.json"):
        assert (path / name).is_file(), name
    for name in ("objective.png", "curves.png", "parameters.png", "parallel.png"):
        assert (path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    rows = (path / "trials.csv").read_text().splitlines()
    assert rows[0].startswith("trial,trial_id,status,lr,")
    assert len(rows) == 4
    for trial in ("0", "1", "2"):
        history = path / "trials" / trial / "execution-1" / "history.csv"
        assert history.is_file()
        assert not list((path / "trials" / trial).rglob("*.keras"))  # no checkpoints per trial
    assert (path / "tuner" / "oracle.json").is_file()


def test_plain_keras_tuner_reads_the_study(study):
    tuner = kt.RandomSearch(
        hypermodel=lambda hp: None,
        objective=kt.Objective("val_accuracy", "max"),
        max_trials=3,
        directory=str(study["path"]),
        project_name="tuner",
        overwrite=False,
    )
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.trial_id == study["result"]["best"]["trial_id"]
    assert best.score == pytest.approx(study["result"]["best"]["objective"])


def test_the_best_configuration_reproduces_the_best_trial(study):
    best = study["result"]["best"]
    config = resolve_config(load_config_file(str(study["path"] / "best.yaml")))
    assert config.task == "train" and config.model.arch == "lenet5"
    assert config.optim.lr == pytest.approx(best["values"]["lr"])
    assert config.optim.optimizer == best["values"]["optimizer"]
    assert config.optim.batch_size == 16 and config.augmentation.augment == "none"
    assert config.run.output is None


def test_the_report_reads_the_study_again(study):
    again = report(StudyLayout(study["path"]))
    assert again["best"] == study["result"]["best"]
    assert [row["trial_id"] for row in again["trials"]] == ["0", "1", "2"]
    assert [row["trial"] for row in again["trials"]] == [1, 2, 3]  # keras-tuner's "Trial #1"
    for row in again["trials"]:  # the epoch that scored best, as the run's history has it
        history = RunLayout(study["path"] / "trials" / row["trial_id"] / "execution-1").history()
        scores = [epoch["val_accuracy"] for epoch in history]
        assert row["best_epoch"] == history[scores.index(max(scores))]["epoch"]
    assert set(again["importance"]["scores"]) <= {"lr", "optimizer", "weight_decay",
                                                  "label_smoothing"}  # fmt: skip
    json.dumps(again)


def test_an_existing_study_needs_resume_or_overwrite(study, tmp_path):
    path = tmp_path / "study"
    shutil.copytree(study["path"], path)
    before = (path / "trials.csv").read_text()
    with pytest.raises(UsageError, match="--resume to continue"):
        search(request(path, space_file=study["space"]))
    with pytest.raises(UsageError, match="another space"):
        search(request(path, resume=True))  # the default space, not the study's
    assert (path / "trials.csv").read_text() == before
    resumed = search(request(path, space_file=study["space"], resume=True, max_trials=4))
    assert [row["trial_id"] for row in resumed["trials"]] == ["0", "1", "2", "3"]
    assert (path / "trials.csv").read_text().startswith(before.splitlines()[0])


def test_a_failed_trial_is_recorded_and_the_study_goes_on(tmp_path):
    space = tmp_path / "space.yaml"
    # alexnet needs 67 px: the 32 px of the study fails that trial, lenet5 trains.
    space.write_text("arch: {values: [lenet5, alexnet]}\nlr: 0.003\nbatch_size: 16\n")
    settings = {**SETTINGS, "image_size": 32}
    result = search(
        request(tmp_path / "study", space_file=str(space), tuner="grid", max_trials=2,
                settings=settings)
    )  # fmt: skip
    statuses = {row["values"]["arch"]: row for row in result["trials"]}
    assert statuses["lenet5"]["status"] == "COMPLETED"
    assert statuses["alexnet"]["status"] == "FAILED"
    assert "at least 67x67" in statuses["alexnet"]["failure"]
    assert "\n" not in statuses["alexnet"]["failure"]
    assert result["best"]["values"]["arch"] == "lenet5"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tuner": "genetic"}, "Unknown tuner 'genetic'"),
        ({"objective": "accuracy"}, "Unknown objective"),
        ({"max_trials": 0}, "--max-trials must be at least 1"),
        ({"settings": {**SETTINGS, "base": "resnet50"}}, "not both"),
        ({"settings": {**SETTINGS, "arch": "resnet17"}}, "Did you mean"),
        ({"settings": {**SETTINGS, "val_split": 0}}, "validation split"),
        ({"resume": True}, "no study to resume"),
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(tmp_path, overrides, message):
    path = tmp_path / "study"
    with pytest.raises(UsageError, match=message) as caught:
        search(request(path, **overrides))
    assert "\n" not in str(caught.value)
    assert not path.exists() or not any(path.iterdir())


def test_a_study_in_use_is_refused(tmp_path):
    path = tmp_path / "study"
    path.mkdir()
    holder = StudyLayout(path)
    holder.lock()
    try:
        with pytest.raises(UsageError, match="in use by another search"):
            search(request(path, overwrite=True))
    finally:
        holder.unlock()


def test_best_yaml_is_yaml_of_the_run_schema(study):
    document = yaml.safe_load((study["path"] / "best.yaml").read_text())
    assert set(document) >= {"task", "model", "data", "optim", "run"}


def test_hyperband_continues_trials_and_fine_tuning_is_one_unit(shapes_run, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(
        "lr: {min: 1.0e-3, max: 1.0e-2, log: true}\nhead_epochs: 1\nunfreeze: '1'\n"
        "batch_size: 16\naugment: none\n"
    )
    settings = {
        "base": str(shapes_run),
        "method": "full",  # the head trained for epochs, then phase 2: one trial
        "shape_classes": ",".join(OTHER_SHAPES),  # classes the base has not learnt
        "shapes_per_class": 12,
        "precision": "fp32",
    }
    result = search(
        SearchRequest(
            settings=settings, tuner="hyperband", max_trials=4, epochs=2,
            space_file=str(space), output=str(tmp_path / "study"),
        )
    )  # fmt: skip
    rows = result["trials"]
    assert 1 <= len(rows) <= 4 and all(row["status"] == "COMPLETED" for row in rows)
    # A trial runs both phases as one run: its epochs go past the head's one epoch.
    longest = max(rows, key=lambda row: row["epochs"])
    history = tmp_path / "study" / "trials" / longest["trial_id"] / "execution-1" / "history.csv"
    phases = [line.split(",")[1] for line in history.read_text().splitlines()[1:]]
    if longest["epochs"] >= 2:
        assert "finetune" in phases
    config = resolve_config(load_config_file(str(tmp_path / "study" / "best.yaml")))
    assert config.task == "finetune" and config.finetune.finetune_lr is not None


def test_retrain_best_trains_the_best_configuration_into_a_run(study, tmp_path):
    from recipes.search.tuning import retrain_best

    result = retrain_best(StudyLayout(study["path"]), epochs=1, output=str(tmp_path / "best"))
    assert (tmp_path / "best" / "model.keras").is_file()
    config = resolve_config(load_config_file(str(tmp_path / "best" / "config.yaml")))
    assert config.optim.lr == pytest.approx(study["result"]["best"]["values"]["lr"])
    assert result["epochs"] == 1


def test_a_best_value_at_the_border_of_its_range_is_flagged():
    from recipes.search.results import TrialRow, border_warnings

    space = {"lr": {"min": 1e-4, "max": 1e-1, "log": True}, "dropout": {"min": 0.0, "max": 0.5}}
    best = TrialRow("3", "COMPLETED", {"lr": 0.09, "dropout": 0.25}, 0.9, 2, 2, 1.0)
    (warning,) = border_warnings(space, best)
    assert warning.startswith("lr: the best value 0.09 is at the high end")
    assert "search up to 1" in warning
