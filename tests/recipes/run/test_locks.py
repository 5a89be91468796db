"""`DirectoryLock`: one process at a time, and a lock file that is not a file is refused."""

import os

import pytest

from recipes.run.locks import DirectoryLock
from zoo.errors import UsageError


def _lock(path):
    return DirectoryLock(path, busy=lambda owner: f"held by {owner}")


def test_the_pid_is_written_and_a_second_holder_is_refused(tmp_path):
    first = _lock(tmp_path / "run.lock")
    first.acquire()
    assert (tmp_path / "run.lock").read_text() == str(os.getpid())
    assert _lock(tmp_path / "run.lock").holder() == str(os.getpid())
    with pytest.raises(UsageError, match=f"held by {os.getpid()}"):
        _lock(tmp_path / "run.lock").acquire()
    first.release()
    assert _lock(tmp_path / "run.lock").holder() is None


def test_a_lock_that_links_elsewhere_is_refused_and_its_target_kept(tmp_path):
    victim = tmp_path / "important.txt"
    victim.write_text("keep me")
    (tmp_path / "run.lock").symlink_to(victim)
    with pytest.raises(UsageError, match="not a regular file"):
        _lock(tmp_path / "run.lock").acquire()
    assert victim.read_text() == "keep me"
    assert _lock(tmp_path / "run.lock").holder() is None


def test_a_fifo_lock_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "run.lock")
    with pytest.raises(UsageError, match="not a regular file"):
        _lock(tmp_path / "run.lock").acquire()
    assert _lock(tmp_path / "run.lock").holder() is None  # `zoo runs` does not hang on it
