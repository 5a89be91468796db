"""The runs of a folder: what each is, and pruning them without touching anything else."""

import os
import time

import pytest

from recipes.config import resolve_config
from recipes.run.layout import RunLayout
from recipes.runs import list_runs, planned_epochs, prune_candidates, remove_runs
from tests.run_dirs import make_run
from zoo.errors import UsageError


def by_name(runs):
    return {run.name: run for run in runs}


def test_each_run_says_what_it_is_and_other_folders_are_skipped(tmp_path):
    make_run(tmp_path, "done", epochs_done=3, finished=True)
    make_run(tmp_path, "stopped", epochs_done=1, data_dir="photos/faces")
    make_run(
        tmp_path,
        "tuned",
        task="finetune",
        base="runs/textures",
        classes=3,
        method="full",
        head_epochs=2,
    )
    (tmp_path / "lr-find-resnet18-1").mkdir()
    (tmp_path / "lr-find-resnet18-1" / "lr_find.json").write_text("{}")
    (tmp_path / "other-project").mkdir()
    (tmp_path / "other-project" / "config.yaml").write_text("lr: 1\n")  # not a run's
    (tmp_path / "notes.txt").write_text("x")

    runs = by_name(list_runs(tmp_path))
    assert set(runs) == {"done", "stopped", "tuned"}
    done = runs["done"]
    assert (done.status, done.task, done.model, done.data) == (
        "finished",
        "train",
        "lenet5",
        "shapes",
    )
    assert (done.epochs_done, done.epochs_planned) == (3, 3)
    assert done.best_val_accuracy == pytest.approx(0.7)
    assert done.test_accuracy == pytest.approx(0.55)
    assert done.size_bytes > 1100
    stopped = runs["stopped"]
    assert (stopped.status, stopped.data, stopped.epochs_done) == ("interrupted", "faces", 1)
    assert stopped.test_accuracy is None
    tuned = runs["tuned"]
    assert (tuned.status, tuned.model, tuned.epochs_done, tuned.epochs_planned) == (
        "interrupted", "runs/textures", 0, 2 + 3,
    )  # fmt: skip
    document = done.to_dict()
    assert document["date"].startswith(time.strftime("%Y-"))
    assert {"name", "status", "size_bytes", "best_val_accuracy", "pid"} <= set(document)


def test_a_half_written_or_unreadable_run_is_reported_not_fatal(tmp_path):
    bad_state = make_run(tmp_path, "bad-state", epochs_done=1)
    bad_state.file(RunLayout.STATE).write_text('{"epochs_do')
    broken = make_run(tmp_path, "broken")
    broken.file(RunLayout.CONFIG).write_text("task: [unclosed\n")
    unknown = make_run(tmp_path, "unknown-setting")
    unknown.file(RunLayout.CONFIG).write_text("arch: lenet5\nfrobnicate: 1\nfingerprint: x\n")

    runs = by_name(list_runs(tmp_path))
    assert runs["bad-state"].status == "interrupted"
    assert runs["bad-state"].problem.startswith("state.json: ")
    assert runs["bad-state"].epochs_done == 1  # from history.csv
    assert runs["broken"].status == "broken"
    assert "config.yaml" in runs["broken"].problem
    assert runs["broken"].model is None
    assert runs["unknown-setting"].status == "broken"


def test_a_running_run_names_its_process(tmp_path):
    run = make_run(tmp_path, "busy", epochs_done=1)
    run.lock()
    try:
        (info,) = list_runs(tmp_path)
        assert info.status == "running"
        assert info.pid == str(os.getpid())
    finally:
        run.unlock()
    assert list_runs(tmp_path)[0].status == "interrupted"


def test_the_folder_must_exist_and_not_be_a_run(tmp_path):
    with pytest.raises(UsageError, match="not a folder"):
        list_runs(tmp_path / "missing")
    make_run(tmp_path, "r")
    with pytest.raises(UsageError, match="is a run directory; pass the folder"):
        list_runs(tmp_path / "r")
    assert [run.name for run in list_runs(tmp_path)] == ["r"]


def test_planned_epochs_count_the_fine_tuning_phases_each_method_trains():
    finetune = {"task": "finetune", "base": "resnet18", "classes": 3, "epochs": 4}
    full = {**finetune, "method": "full"}
    assert planned_epochs(resolve_config(full, {"head_epochs": 2})) == 6
    assert planned_epochs(resolve_config(full, {"head_epochs": 2, "unfreeze": "none"})) == 2
    assert planned_epochs(resolve_config(finetune, {"head_epochs": 2})) == 4  # lp-ft
    assert planned_epochs(resolve_config(finetune, {"method": "probe"})) == 0
    assert planned_epochs(resolve_config(finetune, {"epochs": 0})) == 0
    assert planned_epochs(resolve_config({"arch": "lenet5", "epochs": 7})) == 7


def test_candidates_are_the_unfinished_runs_unless_asked_otherwise(tmp_path):
    make_run(tmp_path, "done", epochs_done=3, finished=True)
    make_run(tmp_path, "stopped", epochs_done=1)
    broken = make_run(tmp_path, "broken")
    broken.file(RunLayout.CONFIG).write_text("task: [unclosed\n")
    busy = make_run(tmp_path, "busy")
    busy.lock()
    try:
        runs = list_runs(tmp_path)
        names = lambda chosen: sorted(run.name for run in chosen)  # noqa: E731
        assert names(prune_candidates(runs)) == ["broken", "stopped"]
        assert names(prune_candidates(runs, interrupted=True)) == ["broken", "stopped"]
        assert names(prune_candidates(runs, finished=True)) == ["done"]
        both = prune_candidates(runs, interrupted=True, finished=True)
        assert names(both) == ["broken", "done", "stopped"]  # never the running one
        later = time.time() + 3 * 86400
        assert names(prune_candidates(runs, older_than=2, now=later)) == ["broken", "stopped"]
        assert names(prune_candidates(runs, older_than=4, now=later)) == []
        with pytest.raises(UsageError, match="--older-than"):
            prune_candidates(runs, older_than=-1)
    finally:
        busy.unlock()


def test_removing_leaves_links_running_runs_and_other_folders_alone(tmp_path):
    root = tmp_path / "runs"
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "data.bin").write_text("keep me")
    stopped = make_run(root, "stopped", epochs_done=1)
    elsewhere = make_run(tmp_path / "elsewhere", "run", epochs_done=1)
    os.symlink(elsewhere.path, root / "linked")
    busy = make_run(root, "busy", epochs_done=1)
    runs = list_runs(root)
    assert by_name(runs)["linked"].link
    chosen = prune_candidates(runs)
    assert sorted(run.name for run in chosen) == ["busy", "stopped"]  # the link is never chosen

    busy.lock()  # it starts again between the listing and the removal
    try:
        result = remove_runs(root, [*chosen, by_name(runs)["linked"]])
    finally:
        busy.unlock()
    assert [run.name for run in result.removed] == ["stopped"]
    assert {run.name: reason for run, reason in result.kept} == {
        "busy": "it is running",
        "linked": "it is a symbolic link",
    }
    assert not stopped.path.exists()
    assert (outside / "data.bin").read_text() == "keep me"
    assert elsewhere.path.is_dir() and (root / "linked").is_symlink()
    assert result.freed_bytes > 1000
    assert result.to_dict()["kept"][0]["reason"]


def test_a_run_that_changed_since_the_listing_is_kept(tmp_path):
    root = tmp_path / "runs"
    stopped = make_run(root, "stopped", epochs_done=1)
    (chosen,) = prune_candidates(list_runs(root))
    stopped.file(RunLayout.MODEL).write_bytes(b"m")  # resumed and finished meanwhile
    result = remove_runs(root, [chosen])
    assert not result.removed
    assert "finished now" in result.kept[0][1]
    assert stopped.path.is_dir()


def test_nothing_outside_the_folder_or_without_a_config_is_removed(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    other = make_run(tmp_path / "elsewhere", "stopped", epochs_done=1)
    (info,) = list_runs(tmp_path / "elsewhere")
    result = remove_runs(root, [info])
    assert "not a folder of" in result.kept[0][1]
    assert other.path.is_dir()
    plain = root / "plain"
    plain.mkdir()
    info.path = plain
    result = remove_runs(root, [info])
    assert "not a run directory" in result.kept[0][1]
    assert plain.is_dir()


def test_only_what_zoo_commands_write_is_removed(tmp_path):
    root = tmp_path / "runs"
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "data.bin").write_text("keep me")
    evaluated = make_run(root, "evaluated", epochs_done=1)
    for name in ("evaluation-val.json", "best-confusion-test.png", "top-losses-val.png"):
        evaluated.file(name).write_text("report")
    (evaluated.path / "explain" / "gradcam").mkdir(parents=True)
    (evaluated.path / ".history.csv.123.partial.csv").write_text("being written")
    project = make_run(root, "project", epochs_done=1)  # a config.yaml, and a source tree
    (project.path / "src").mkdir()
    (project.path / "src" / "main.py").write_text("print('mine')")
    diary = make_run(root, "diary", epochs_done=1)
    diary.file(RunLayout.CONFIG).write_text("fingerprint: [unclosed")
    diary.file("diary.txt").write_text("dear diary")
    linked = make_run(root, "linked", epochs_done=1)
    os.symlink(outside, linked.path / "link-out")

    result = remove_runs(root, prune_candidates(list_runs(root)))
    assert [run.name for run in result.removed] == ["evaluated"]
    reasons = {run.name: reason for run, reason in result.kept}
    assert reasons["project"] == "it holds src, which no zoo command writes there"
    assert "diary.txt" in reasons["diary"] and "link-out" in reasons["linked"]
    assert (project.path / "src" / "main.py").read_text() == "print('mine')"
    assert (diary.path / "diary.txt").is_file() and (outside / "data.bin").is_file()
    (diary.path / "diary.txt").unlink()  # a broken run and nothing else: it goes
    result = remove_runs(root, prune_candidates(list_runs(root)))
    assert [run.name for run in result.removed] == ["diary"]
