"""`StudyLayout`: `--overwrite` replaces a study, and never a folder that holds anything else."""

import pytest

from recipes.search.study import StudyLayout
from zoo.errors import UsageError


def test_overwrite_empties_a_study_and_refuses_any_other_folder(tmp_path):
    victim = tmp_path / "victim"
    (victim / "src").mkdir(parents=True)
    (victim / "src" / "main.py").write_text("print('mine')")
    (victim / "important.txt").write_text("keep me")
    with pytest.raises(UsageError, match="important.txt, src, which no search writes"):
        StudyLayout(victim).open({"mode": "train"}, resume=False, overwrite=True)
    assert (victim / "src" / "main.py").is_file() and (victim / "important.txt").is_file()
    assert not (victim / "study.lock").exists()

    study = tmp_path / "study"
    (study / "trials" / "0" / "execution-1").mkdir(parents=True)
    (study / "tuner" / "trial_0").mkdir(parents=True)
    for name in ("study.json", "trials.csv", "best.yaml", "objective.png", "report.json"):
        (study / name).write_text("{}")
    layout = StudyLayout(study)
    layout.open({"mode": "train"}, resume=False, overwrite=True)
    layout.unlock()
    assert sorted(entry.name for entry in study.iterdir()) == ["study.json", "study.lock"]
