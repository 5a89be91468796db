"""`zoo search` and `zoo search report` on the command line."""

import json
import subprocess
import sys

from click.testing import CliRunner

from cli.main import cli

TINY = [
    "--arch", "lenet5", "--classes", "3", "--shapes-per-class", "12", "--precision", "fp32",
    "--batch-size", "16",
]  # fmt: skip


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_search_json_then_report(tmp_path):
    # The real command in its own process: the trials' child processes write to its stdout too.
    study = tmp_path / "study"
    args = ["search", *TINY, "--max-trials", "2", "--epochs", "1", "--output", str(study), "--json"]
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads(result.stdout)  # the document alone: no banners, no epoch lines
    assert len(document["trials"]) == 2 and document["best"] is not None
    text = run("search", "report", study)
    assert text.exit_code == 0, text.output
    assert "best: trial" in text.stdout and "val_accuracy" in text.stdout
    again = run("search", "report", study, "--json")
    assert json.loads(again.stdout)["best"] == document["best"]


def one_line_error(result):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_bad_usage_is_one_line(tmp_path):
    assert "not both" in one_line_error(run("search", *TINY, "--base", "resnet50"))
    assert "--tuner" in one_line_error(run("search", *TINY, "--tuner", "genetic"))
    space = tmp_path / "space.yaml"
    space.write_text("lr: {min: 0.1, max: 0.01}\n")
    assert "min > max" in one_line_error(run("search", *TINY, "--space", space))
    assert "not a study directory" in one_line_error(run("search", "report", tmp_path))


def test_a_chief_and_two_workers_on_loopback(tmp_path):
    """keras-tuner's chief/worker mode: every trial runs once, the chief writes the study."""
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    study = tmp_path / "study"
    args = [sys.executable, "-m", "cli.main", "search", *TINY, "--max-trials", "3",
            "--epochs", "1", "--output", str(study), "--oracle", f"127.0.0.1:{port}"]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}

    def start(tuner_id):
        return subprocess.Popen(
            [*args, "--tuner-id", tuner_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )

    chief = start("chief")
    deadline = time.time() + 120
    while time.time() < deadline and not (study / "study.json").is_file():
        time.sleep(0.2)
    workers = [start("tuner0"), start("tuner1")]
    for process in [*workers, chief]:
        out, err = process.communicate(timeout=400)
        assert process.returncode == 0, err[-3000:]
    trials = sorted(path.name for path in (study / "trials").iterdir())
    assert trials == ["0", "1", "2"]
    for trial in trials:  # each trial ran once, by one worker
        assert [p.name for p in (study / "trials" / trial).iterdir()] == ["execution-1"]
    assert len((study / "trials.csv").read_text().splitlines()) == 4
    assert (study / "best.yaml").is_file()


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as listing:
        return [int(child) for child in listing.read().split()]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_a_study_killed_mid_trial_resumes_and_runs_that_trial_again(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    study = tmp_path / "study"
    args = [sys.executable, "-m", "cli.main", "search", *TINY, "--max-trials", "3",
            "--epochs", "2", "--output", str(study)]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    deadline = time.time() + 240
    while time.time() < deadline and not (study / "trials" / "1" / "execution-1").is_dir():
        time.sleep(0.1)
    children = _children(first.pid)
    assert children, "no process runs the trials"
    os.kill(first.pid, signal.SIGKILL)  # the search alone: the process running its trials follows
    first.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children), "the trials outlived the search"
    assert not (study / "trials.csv").exists()

    result = run("search", *TINY, "--max-trials", "3", "--epochs", "2", "--output", study,
                 "--resume", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [row["trial_id"] for row in document["trials"]] == ["0", "1", "2"]
    assert all(row["status"] == "COMPLETED" for row in document["trials"])
    for trial in ("0", "1", "2"):
        runs = sorted(p.name for p in (study / "trials" / trial).iterdir())
        assert runs == ["execution-1"], runs  # the interrupted run was replaced
        assert (study / "trials" / trial / "execution-1" / "metrics.json").is_file()
