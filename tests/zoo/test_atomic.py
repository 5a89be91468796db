"""Atomic writes: the old file or the new one, never a torn one."""

import pytest

from zoo.atomic import atomic_copy, atomic_write, atomic_write_text


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def fail(path):
        path.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_copy_is_whole_and_readable(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"model bytes" * 1000)
    atomic_copy(source, tmp_path / "deep" / "copy.bin")
    copy = tmp_path / "deep" / "copy.bin"
    assert copy.read_bytes() == source.read_bytes()
    assert copy.stat().st_mode & 0o444 == 0o444
