"""Training throughput against PyTorch + timm on the same CPU, side by side.

One training step on synthetic batches, three sides in one run:

- zoo: the model `zoo train` builds and compiles, and plain Keras (the
  `keras.applications` model, fp32, `compile(optimizer="adam")`, `fit`), both
  from `zoo bench model --mode train --json`;
- timm: `timm.create_model(MODEL)` in training mode, channels_last, AdamW,
  cross-entropy, `backward()` and `step()`, under `torch.autocast` in bf16 when
  the precision is bf16 (as timm's own training script does on CPU).

Each side is a process of its own; the order alternates from round to round,
so load from elsewhere falls on all of them. Images/s is the mean over the
timed steps after the warm-up steps, best of the side's rounds. Precision
`auto` is bf16 where the CPU has native bf16 (AVX512-BF16 or AMX) and fp32
otherwise, for both sides, as `zoo train` decides.

PyTorch and timm are not dependencies of keras-zoo: install them
(`pip install -e '.[timm]'`) into this environment, or into another one whose
Python `--torch-python` names. Never run in CI.

    python benchmarks/timm_side_by_side.py --rounds 2
    python benchmarks/timm_side_by_side.py --torch-python /opt/torch/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timm_step(model_name: str, size: int, batch: int, steps: int, warmup: int, bf16: bool) -> dict:
    """Times timm's training step; runs in the PyTorch interpreter."""
    import timm
    import torch
    import torch.nn.functional as functional

    torch.manual_seed(0)
    model = timm.create_model(model_name, num_classes=1000).train()
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.rand(batch, 3, size, size).mul(255).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - started
    return {
        "images_per_second": batch * steps / seconds,
        "torch": torch.__version__,
        "timm": timm.__version__,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
    }


def _precision(requested: str) -> str:
    if requested != "auto":
        return requested
    from recipes.training.devices import cpu_supports_bf16

    return "bf16" if cpu_supports_bf16() else "fp32"


def _run_timm(args: argparse.Namespace, precision: str) -> dict:
    command = [args.torch_python, __file__, "--side", "timm", "--timm-model", args.timm_model]
    command += ["--image-size", str(args.image_size), "--batch-size", str(args.batch_size)]
    command += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    command += ["--precision", precision]
    completed = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _run_zoo(args: argparse.Namespace, precision: str) -> dict:
    zoo_command = str(Path(sys.executable).with_name("zoo"))
    command = [zoo_command, "bench", "model", "--arch", args.arch, "--mode", "train"]
    command += ["--image-size", str(args.image_size), "--batch-size", str(args.batch_size)]
    command += ["--steps", str(args.steps), "--rounds", "1", "--precision", precision, "--json"]
    completed = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(completed.stdout)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet50", help="The zoo's architecture.")
    parser.add_argument("--timm-model", default="resnet50", help="timm's name for it.")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3, help="Timed steps per side and round.")
    parser.add_argument("--warmup", type=int, default=1, help="timm's untimed first steps.")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    parser.add_argument("--torch-python", default=sys.executable, help="Python with torch+timm.")
    parser.add_argument("--side", choices=("timm",), help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    """Runs the sides in turn and prints a markdown table."""
    args = _arguments()
    if args.side == "timm":
        bf16 = args.precision == "bf16"
        result = timm_step(
            args.timm_model, args.image_size, args.batch_size, args.steps, args.warmup, bf16
        )
        print(json.dumps(result))
        return
    precision = _precision(args.precision)
    rates: dict[str, list[float]] = {"keras": [], "zoo": [], "timm": []}
    about: dict[str, str] = {}
    for number in range(args.rounds):
        sides = ("timm", "zoo") if number % 2 == 0 else ("zoo", "timm")
        for side in sides:
            if side == "timm":
                result = _run_timm(args, precision)
                rates["timm"].append(result["images_per_second"])
                about["timm"] = f"PyTorch {result['torch']} + timm {result['timm']}"
                about["timm"] += f", {result['threads']} threads, {result['params']:,} parameters"
            else:
                result = _run_zoo(args, precision)
                rates["zoo"].append(result["zoo"]["train"]["images_per_second"])
                rates["keras"].append(result["keras"]["train"]["images_per_second"])
                about["zoo"] = f"{result['zoo']['model']}, {result['params']:,} parameters"
                about["keras"] = f"{result['keras']['model']}, fp32"
                forward_flops = result["forward_flops"]
                peak = next(iter(result["peak"].values()))
    print(
        f"{args.arch} / timm {args.timm_model}, {args.image_size} px, batch {args.batch_size}, "
        f"one training step on synthetic batches; {args.rounds} rounds, sides alternating; "
        f"{os.cpu_count()} CPU cores, precision {precision}\n"
    )
    print("| side | images/s per round | best | vs plain Keras fp32 | MFU |")
    print("|---|---|---:|---:|---:|")
    best = {side: max(values) for side, values in rates.items()}
    for side, label in (("keras", "plain Keras"), ("zoo", "zoo"), ("timm", "PyTorch + timm")):
        rounds = ", ".join(f"{value:.2f}" for value in rates[side])
        ratio = best[side] / best["keras"]
        mfu = 3 * forward_flops * best[side] / peak["flops_per_second"]
        print(
            f"| {label} ({precision if side != 'keras' else 'fp32'}) | {rounds} "
            f"| {best[side]:.2f} | {ratio:.2f}x | {mfu:.2f} |"
        )
    print(f"\nzoo / timm: {best['zoo'] / best['timm']:.2f}x")
    for side, text in about.items():
        print(f"- {side}: {text}")
    print(
        f"- MFU: 3 x {forward_flops / 1e9:.2f} GFLOP per image over the matmul peak, "
        f"{peak['flops_per_second'] / 1e9:.1f} GFLOP/s ({peak['method']})"
    )


if __name__ == "__main__":
    main()
