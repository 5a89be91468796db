"""The process `recipes.search.trials` runs a few trials in: quiet start, then `trials.main`.

python -m recipes.search.child REQUEST.json

Its standard input is a pipe its parent never writes to: when the parent dies
(even by `kill -9`) the pipe closes and the child ends at once, rather than go
on writing a study that a `--resume` may have taken over.
"""

from __future__ import annotations

import os
import sys
import threading

from recipes.data.noise import import_tensorflow_quietly

ORPHANED = 137
"""Exit code when the parent is gone (as if killed by SIGKILL, like it)."""


def _end_with_parent() -> None:
    # The descriptor, not `sys.stdin`: a thread blocked in the buffered reader holds its
    # lock, which the interpreter needs at a normal exit.
    while os.read(sys.stdin.fileno(), 4096):
        pass  # the parent never writes; the read returns b"" when it has gone
    os._exit(ORPHANED)  # at once: nothing of this process may outlive its parent


if __name__ == "__main__":
    threading.Thread(target=_end_with_parent, daemon=True, name="parent-watch").start()
    import_tensorflow_quietly()
    from recipes.search.trials import main

    sys.exit(main(sys.argv[1:]))
