"""Resident memory of a long study: the process running trial 2 against trial 20.

Runs a 20-trial random search of LeNet-5 on the built-in set (one epoch per
trial), as `zoo search` does, and reads the resident memory each trial's
process held after the trial (its `metrics.json`).

    python benchmarks/search_memory.py [--trials 20] [--in-process]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--in-process", action="store_true", help="All trials in one process.")
    args = parser.parse_args()

    from recipes.search.tuning import SearchRequest, search

    with tempfile.TemporaryDirectory() as scratch:
        study = Path(scratch) / "study"
        settings = {"arch": "lenet5", "classes": 4, "shapes_per_class": 40, "precision": "fp32"}
        request = SearchRequest(settings, max_trials=args.trials, epochs=1, output=str(study))
        search(request, isolate=not args.in_process)
        readings = [
            json.loads((run / "metrics.json").read_text())["rss_mib"]
            for run in sorted(study.glob("trials/*/execution-1"), key=lambda p: int(p.parent.name))
        ]
    where = "one process" if args.in_process else "a few trials per process"
    second, last = readings[1], readings[-1]
    print(f"RSS after each trial ({where}): {' '.join(f'{value:.0f}' for value in readings)}")
    print("| trials | where | RSS after trial 2 | RSS after the last | growth |")
    print("|---:|---|---:|---:|---:|")
    growth = 100 * (last / second - 1)
    print(f"| {len(readings)} | {where} | {second:.0f} MiB | {last:.0f} MiB | {growth:+.1f}% |")


if __name__ == "__main__":
    main()
