"""The examples that end the `--help` of the main commands.

Kept in one table, next to nothing else, so that a test can parse every line
with the real commands (an example that no longer parses fails the tests).
`LazyGroup` adds them to each command's epilog when the command is loaded.
"""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    "train": (
        "zoo train --arch lenet5 --epochs 2  # the built-in set, offline",
        "zoo train --arch resnet18 --data ./photos --preset resnet --epochs 30",
        "zoo train --arch vgg_a --dataset cifar10 --image-size 32 --batch-size 128",
        "zoo train --arch resnet18 --data ./photos --lr auto  # a range test picks the rate",
        "zoo train --config run.yaml --lr 0.01 --dry-run  # show the resolved settings",
        "zoo train --arch resnet18 --output runs/r18 --resume",
    ),
    "finetune": (
        "zoo finetune --base mobilenet_v2 --data ./flowers --epochs 5",
        "zoo finetune --base efficientnet_b0 --classes 5  # the built-in set, offline",
        "zoo finetune --base runs/r18 --data ./photos --unfreeze all --finetune-lr 1e-5",
        "zoo finetune --base resnet50 --weights ./resnet50_notop.h5 --data ./photos",
    ),
    "evaluate": (
        "zoo evaluate runs/r18  # on the run's own data",
        "zoo evaluate runs/r18 --data ./photos --split test --tta flip",
        "zoo evaluate model.keras --dataset cifar10 --json",
    ),
    "predict": (
        "zoo predict runs/r18 cat.jpg dog.jpg --top-k 3",
        "zoo predict runs/r18 './photos/test/*.jpg' --json",
    ),
    "export": (
        "zoo export runs/r18 --name flowers  # saved_models/flowers/1",
        "zoo export runs/r18 --format tflite --out saved_models",
        "zoo export runs/r18 --name flowers --version 2 --overwrite",
    ),
    "serve": (
        "zoo serve saved_models/flowers --port 8501",
        "zoo serve saved_models/flowers --max-request-mb 10 --quiet",
    ),
    "search": (
        "zoo search --arch resnet18,lenet5 --max-trials 6 --epochs 2",
        "zoo search --base mobilenet_v2 --classes 5 --data ./flowers --tuner hyperband",
        "zoo search --arch resnet18 --space space.yaml --retrain-best 20",
        "zoo search report runs/search-resnet18-20261201-120000",
    ),
    "lr-find": (
        "zoo lr-find --arch resnet18 --data ./photos",
        "zoo lr-find --base mobilenet_v2 --classes 5 --data ./flowers --end-lr 1",
        "zoo train --arch resnet18 --data ./photos --lr auto  # the test, then the run",
    ),
    "bench": (
        "zoo bench model --arch resnet18 --image-size 64 --steps 5",
        "zoo bench model --arch resnet50 --mode infer --precision bf16 --json",
        "zoo bench train --arch resnet18 --image-size 64 --epochs 3",
        "zoo bench data --epochs 2 --image-size 128",
    ),
    "runs": (
        "zoo runs  # the runs under ./runs",
        "zoo runs ./experiments --json",
        "zoo runs prune --dry-run  # what pruning would remove",
        "zoo runs prune --finished --older-than 30 --yes",
    ),
}
"""Command name -> example lines; `  # ` starts a comment, aligned when shown."""

HEADING = "Examples:"


def epilog(command: str, before: str | None = None) -> str | None:
    """The epilog of a command: its own text (if any), then its examples.

    Args:
        command: The command's name in `EXAMPLES`.
        before: The command's own epilog.

    Returns:
        The epilog; `before` unchanged when the command has no examples or
        already shows some.
    """
    lines = EXAMPLES.get(command)
    if not lines or (before and HEADING in before):
        return before
    return examples_block(lines, before)


def examples_block(lines: tuple[str, ...] | list[str], before: str | None = None) -> str:
    """Example lines as an epilog: `before` (if any), the heading, then the lines.

    Args:
        lines: Example command lines; `  # ` starts a comment, aligned when shown.
        before: Text to keep in front of the examples.

    Returns:
        The epilog.
    """
    parts = [line.partition("  # ") for line in lines]
    width = max((len(command) for command, _, comment in parts if comment), default=0)
    shown = [
        f"  {command:<{width}}  # {comment}" if comment else f"  {command}"
        for command, _, comment in parts
    ]
    # "\b" keeps click from re-wrapping the lines into one paragraph.
    block = "\n".join(["\b", *shown])
    return "\n\n".join(part for part in (before, HEADING, block) if part)
