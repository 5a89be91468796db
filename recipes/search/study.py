"""`StudyLayout`: every file of a study directory, its lock, and resume or overwrite.

A study directory holds:

    study.json        what the study searches: mode, space, settings, tuner,
                      objective, epochs, and their fingerprint
    study.lock        held while a search works on the study
    tuner/            keras-tuner's own project (oracle.json, trial_*/trial.json,
                      checkpoints): a reloaded keras-tuner tuner reads it as is
    trials/TRIAL_ID/  each trial's run directory (config.yaml, history.csv, ...,
                      and `failure.txt` when it failed)
    trials.csv        one row per trial: status, hyper-parameters, objective, ...
    best.yaml         the best trial's run configuration (`zoo train --config`)
    report.json       what `zoo search report` prints
    *.png             objective per trial, learning curves, objective per
                      parameter, parallel coordinates

Every file is written atomically; `--resume` continues a study only when its
fingerprint is the same, and `--overwrite` starts it afresh.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from recipes.run.locks import DirectoryLock
from recipes.search.pictures import PICTURES
from zoo.atomic import atomic_write_text
from zoo.errors import UsageError

TUNER_PROJECT = "tuner"


class StudyLayout:
    """A study directory: its files, its lock, and whether it may be (re)used.

    Args:
        path: The study directory.
    """

    STUDY = "study.json"
    LOCK = "study.lock"
    TRIALS = "trials"
    TABLE = "trials.csv"
    BEST = "best.yaml"
    REPORT = "report.json"
    FAILURE = "failure.txt"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock: DirectoryLock | None = None

    def file(self, name: str) -> Path:
        """A file of the study."""
        return self.path / name

    @property
    def tuner_dir(self) -> Path:
        """keras-tuner's project folder."""
        return self.path / TUNER_PROJECT

    def trial_dir(self, trial_id: str) -> Path:
        """The run directory of one trial."""
        return self.path / self.TRIALS / str(trial_id)

    def exists(self) -> bool:
        """Whether a study was started here."""
        return self.file(self.STUDY).is_file()

    def describe(self) -> dict[str, Any]:
        """`study.json`.

        Raises:
            UsageError: There is no study here.
        """
        if not self.exists():
            raise UsageError(
                f"{self.path} is not a study directory (no {self.STUDY}); pass the --output "
                "of a `zoo search`."
            )
        return json.loads(self.file(self.STUDY).read_text(encoding="utf-8"))

    def open(self, description: dict[str, Any], *, resume: bool, overwrite: bool) -> None:
        """Takes the study for this search: new, resumed or overwritten.

        Args:
            description: What the search studies (written to `study.json`).
            resume: Continue the study that is there.
            overwrite: Replace whatever is there.

        Raises:
            UsageError: A study or other files are there without `--resume` or
                `--overwrite`, `--resume` of nothing or of a changed study, or
                another search holds the study.
        """
        if resume and overwrite:
            raise UsageError("Give either --resume or --overwrite, not both.")
        fingerprint = study_fingerprint(description)
        if resume and not self.exists():
            raise UsageError(f"{self.path} holds no study to resume; start one without --resume.")
        if not resume and not overwrite and self.path.exists() and any(self.path.iterdir()):
            raise UsageError(
                f"{self.path} already holds a study or other files; pass --resume to continue "
                "it, --overwrite to start again, or choose another --output."
            )
        if overwrite and self.path.exists():
            self._refuse_foreign_entries()
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock()
        try:
            if resume:
                saved = self.describe()
                if saved.get("fingerprint") != fingerprint:
                    changed = sorted(
                        key for key in description if saved.get(key) != description[key]
                    )
                    raise UsageError(
                        f"The study in {self.path} was started with another "
                        f"{', '.join(changed) or 'setting'}; resume it as it was, or pass "
                        "--overwrite to start again."
                    )
            elif overwrite:
                self._clear()
            self.write_json(self.STUDY, {**description, "fingerprint": fingerprint})
        except BaseException:
            self.unlock()
            raise

    def _refuse_foreign_entries(self) -> None:
        """`--overwrite` replaces a study, never a folder that holds anything else.

        Raises:
            UsageError: The folder holds an entry no search writes.
        """
        if not self.path.is_dir() or self.path.is_symlink():
            raise UsageError(f"{self.path} is not a study directory; choose another --output.")
        foreign = sorted(
            entry.name
            for entry in self.path.iterdir()
            if entry.name not in STUDY_ENTRIES and ".partial" not in entry.name
        )
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise UsageError(
                f"{self.path} holds {shown}, which no search writes: --overwrite replaces a "
                "study only. Choose another --output."
            )

    def _clear(self) -> None:
        for entry in self.path.iterdir():
            if entry.name == self.LOCK:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def lock(self) -> None:
        """Takes the study's lock.

        Raises:
            UsageError: Another search holds it.
        """
        self._lock = DirectoryLock(
            self.file(self.LOCK),
            lambda owner: (
                f"{self.path} is in use by another search (pid {owner}); wait for it "
                "to finish or choose another --output."
            ),
        )
        self._lock.acquire()

    def lock_fileno(self) -> int | None:
        """The held lock's descriptor, for the processes that run the trials to share it.

        `None` when this process holds no lock: a keras-tuner worker shares the
        chief's study without locking it.
        """
        return None if self._lock is None else self._lock.fileno()

    def unlock(self) -> None:
        """Releases the lock (the system releases it too when the process dies)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def write_json(self, name: str, data: Any) -> None:
        """Writes one of the study's JSON files atomically."""
        atomic_write_text(self.file(name), json.dumps(data, indent=2, default=str) + "\n")

    def read_json(self, name: str) -> Any:
        """Reads one of the study's JSON files."""
        return json.loads(self.file(name).read_text(encoding="utf-8"))


STUDY_ENTRIES = frozenset(
    {
        StudyLayout.STUDY, StudyLayout.LOCK, StudyLayout.TRIALS, StudyLayout.TABLE,
        StudyLayout.BEST, StudyLayout.REPORT, TUNER_PROJECT, "best-run", *PICTURES,
    }
)  # fmt: skip
"""What a study directory holds: its files, keras-tuner's project, pictures, the retrained run."""


def study_fingerprint(description: dict[str, Any]) -> str:
    """A short hash of what a study searches (not how many trials it runs)."""
    defining = {key: value for key, value in description.items() if key != "max_trials"}
    encoded = json.dumps(defining, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]
