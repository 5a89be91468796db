"""`zoo runs` and `zoo runs prune`: the table, one JSON document, asking before removing."""

import json

from click.testing import CliRunner

from cli.main import cli
from recipes.run.layout import RunLayout
from tests.run_dirs import make_run


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(arg) for arg in args], **kwargs)


def some_runs(root):
    make_run(root, "resnet18-done", epochs_done=3, finished=True)
    make_run(root, "faces-stopped", epochs_done=1, data_dir="data/faces")
    broken = make_run(root, "broken")
    broken.file(RunLayout.CONFIG).write_text("task: [unclosed\n")
    (root / "not-a-run").mkdir()


def test_the_table_lists_each_run_aligned(tmp_path):
    some_runs(tmp_path)
    result = run("runs", tmp_path)
    assert result.exit_code == 0, result.output
    header, *rows, total = result.stdout.splitlines()
    assert header.split()[:4] == ["RUN", "STATUS", "MODEL", "DATA"]
    assert len(rows) == 3 and "not-a-run" not in result.stdout
    done = next(row for row in rows if row.startswith("resnet18-done"))
    assert done.split()[1:7] == ["finished", "lenet5", "shapes", "3/3", "0.700", "0.550"]
    assert "faces" in next(row for row in rows if row.startswith("faces-stopped"))
    assert header.index("STATUS") == done.index("finished")  # columns line up
    assert total.startswith(f"3 runs in {tmp_path}")


def test_json_is_one_list_of_objects(tmp_path):
    some_runs(tmp_path)
    result = run("runs", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert sorted(item["status"] for item in document) == ["broken", "finished", "interrupted"]
    assert all({"model", "data", "epochs_done", "size_bytes", "date"} <= set(i) for i in document)
    assert run("runs", "list", tmp_path, "--json").stdout == result.stdout


def test_the_default_folder_is_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("runs")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "No run directories in runs."
    assert run("runs", "--json").stdout.strip() == "[]"
    make_run(tmp_path / "runs", "r", epochs_done=1)
    assert json.loads(run("runs", "--json").stdout)[0]["name"] == "r"


def test_a_missing_folder_or_a_run_is_a_usage_error(tmp_path):
    result = run("runs", tmp_path / "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    make_run(tmp_path, "r")
    result = run("runs", tmp_path / "r")
    assert result.exit_code == 2
    assert "pass the folder that holds it" in result.stderr


def test_prune_dry_run_lists_and_removes_nothing(tmp_path):
    some_runs(tmp_path)
    result = run("runs", "prune", tmp_path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would remove 2 runs" in result.stdout
    assert "broken" in result.stdout and "faces-stopped" in result.stdout
    assert "resnet18-done" not in result.stdout
    assert len(list(tmp_path.iterdir())) == 4
    document = json.loads(run("runs", "prune", tmp_path, "--dry-run", "--json").stdout)
    assert document["dry_run"] is True
    assert sorted(item["name"] for item in document["would_remove"]) == ["broken", "faces-stopped"]


def test_prune_asks_first(tmp_path):
    some_runs(tmp_path)
    declined = run("runs", "prune", tmp_path, input="n\n")
    assert declined.exit_code == 0, declined.output
    assert "Remove 2 runs" in declined.stderr and "Nothing removed." in declined.stderr
    assert (tmp_path / "broken").is_dir()
    declined = run("runs", "prune", tmp_path, "--json", input="n\n")
    assert declined.exit_code == 0, declined.output
    assert json.loads(declined.stdout) == {
        "dry_run": False, "removed": [], "kept": [], "freed_bytes": 0,
    }  # fmt: skip
    assert "faces-stopped" in declined.stderr  # the list the question is about
    accepted = run("runs", "prune", tmp_path, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Removed 2 runs" in accepted.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-run", "resnet18-done"]


def test_prune_yes_json_and_the_running_run_is_left_alone(tmp_path):
    some_runs(tmp_path)
    busy = make_run(tmp_path, "busy", epochs_done=1)
    busy.lock()
    try:
        result = run("runs", "prune", tmp_path, "--yes", "--json")
    finally:
        busy.unlock()
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert sorted(item["name"] for item in document["removed"]) == ["broken", "faces-stopped"]
    assert document["kept"] == [] and document["freed_bytes"] > 0
    assert busy.path.is_dir() and (tmp_path / "resnet18-done").is_dir()


def test_prune_finished_runs_by_age(tmp_path):
    some_runs(tmp_path)
    young = run("runs", "prune", tmp_path, "--finished", "--older-than", "1", "--yes")
    assert young.exit_code == 0, young.output
    assert young.stdout.strip() == f"Nothing to prune in {tmp_path}."
    old = run("runs", "prune", tmp_path, "--finished", "--older-than", "0", "--yes")
    assert old.exit_code == 0, old.output
    assert not (tmp_path / "resnet18-done").exists()
    assert (tmp_path / "faces-stopped").is_dir()  # --finished alone leaves unfinished runs
    bad = run("runs", "prune", tmp_path, "--older-than", "-2")
    assert bad.exit_code == 2


def test_runs_needs_no_tensorflow():
    import subprocess
    import sys

    script = (
        "import sys; from click.testing import CliRunner; from cli.main import cli; "
        "r = CliRunner().invoke(cli, ['runs', '--json']); assert r.exit_code == 0, r.output; "
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
