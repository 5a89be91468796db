"""A lock on a run or study directory: one process at a time works in it.

The lock is `flock` on a file in the directory, which the system releases when
its process dies, so `kill -9` leaves nothing to clean up; the file holds the
owner's pid for the message another process gets. The file is opened without
following links and without waiting, and must be a regular file: a lock that
is a link (to a file the pid would overwrite) or a FIFO (which would hang the
open) is refused.
"""

from __future__ import annotations

import errno
import fcntl
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path

from zoo.errors import UsageError


class DirectoryLock:
    """An exclusive lock held through a file.

    Args:
        path: The lock file (created when missing).
        busy: Says, given the owner's pid, why the directory cannot be had and
            what to do; the message of the `UsageError` `acquire` raises.
    """

    def __init__(self, path: str | Path, busy: Callable[[str], str]) -> None:
        self.path = Path(path)
        self.busy = busy
        self._handle: io.TextIOWrapper | None = None

    def acquire(self) -> None:
        """Takes the lock without waiting.

        Raises:
            UsageError: Another live process holds it.
        """
        handle = _open_regular(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise UsageError(self.busy(owner)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def fileno(self) -> int:
        """The held lock's file descriptor: a child process given it holds the lock too.

        Raises:
            RuntimeError: The lock is not held.
        """
        if self._handle is None:
            raise RuntimeError(f"{self.path} is not held")
        return self._handle.fileno()

    def release(self) -> None:
        """Lets go of the lock (the system does too when the process dies)."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def holder(self) -> str | None:
        """The pid of the live process that holds the lock, or `None` when none does.

        Creates and writes nothing: a directory is looked at, not claimed (the
        check holds a shared lock for an instant, then lets go).
        """
        try:
            handle = _open_regular(self.path, os.O_RDONLY)
        except (OSError, UsageError):
            return None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "unknown"
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None


def _open_regular(path: Path, flags: int) -> io.TextIOWrapper:
    """Opens a lock file that must be a regular file, never through a link, never waiting.

    Raises:
        UsageError: The path is a link, a FIFO, a device or a folder.
        OSError: It cannot be opened otherwise.
    """
    refused = (
        f"{path} is not a regular file (a link or a special file); a lock file must be "
        "one. Remove it if nothing of yours works there."
    )
    try:
        descriptor = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise UsageError(refused) from None
        raise
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise UsageError(refused)
    os.set_blocking(descriptor, True)
    mode = "r+" if flags & os.O_RDWR else "r"
    return open(descriptor, mode, encoding="utf-8")  # noqa: SIM115 (the caller closes it)
