#!/usr/bin/env bash
# GPU readiness in one command: the training step of one architecture in fp32, bf16 and fp16
# (Keras adds loss scaling to fp16 by itself), XLA off and on, the default strategy and a
# one-GPU MirroredStrategy, each through `zoo bench model`; then one markdown table.
#
#   bash benchmarks/gpu_check.sh                       # ResNet-50, 224 px, batch 64
#   ARCH=resnet18 SIZE=64 BATCH=32 bash benchmarks/gpu_check.sh
#
# On a machine without a GPU it runs what the CPU can (fp16 is refused: it needs a GPU) and
# says so in the table. It reports; it never fails on timing. Writes its JSON to $OUT_DIR
# (default: a temporary folder).
set -uo pipefail
cd "$(dirname "$0")/.."
ARCH=${ARCH:-resnet50}
SIZE=${SIZE:-224}
BATCH=${BATCH:-64}
STEPS=${STEPS:-10}
OUT_DIR=${OUT_DIR:-$(mktemp -d)}
mkdir -p "$OUT_DIR"

run() {  # run NAME FLAGS...: one measurement into $OUT_DIR/NAME.json (or NAME.err)
  local name=$1
  shift
  if zoo bench model --arch "$ARCH" --image-size "$SIZE" --batch-size "$BATCH" \
      --steps "$STEPS" --rounds 2 --mode train --classes 1000 --json "$@" \
      > "$OUT_DIR/$name.json" 2> "$OUT_DIR/$name.log"; then
    echo "done: $name" >&2
  else
    grep '^error:' "$OUT_DIR/$name.log" | tail -n 1 > "$OUT_DIR/$name.err"
    rm -f "$OUT_DIR/$name.json"
    echo "failed: $name: $(cat "$OUT_DIR/$name.err")" >&2
  fi
}

for strategy in default mirrored; do
  for precision in fp32 bf16 fp16; do
    for jit in off on; do
      run "$strategy-$precision-jit_$jit" --precision "$precision" --jit "$jit" \
        --strategy "$strategy"
    done
  done
done

python - "$OUT_DIR" "$ARCH" "$SIZE" "$BATCH" <<'EOF'
import json, pathlib, subprocess, sys

out, arch, size, batch = pathlib.Path(sys.argv[1]), *sys.argv[2:]
try:
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True, check=True).stdout.strip()
except (OSError, subprocess.CalledProcessError):
    gpu = "no GPU (nvidia-smi not found)"
print(f"{arch}, {size} px, batch {batch}, training step (zoo bench model --mode train); {gpu}\n")
print("| strategy | precision | XLA | images/s | MFU | keras fp32 images/s | note |")
print("|---|---|---|---:|---:|---:|---|")
for strategy in ("default", "mirrored"):
    for precision in ("fp32", "bf16", "fp16"):
        for jit in ("off", "on"):
            name = f"{strategy}-{precision}-jit_{jit}"
            result, error = out / f"{name}.json", out / f"{name}.err"
            if result.is_file():
                report = json.loads(result.read_text())
                zoo, keras = report["zoo"]["train"], report["keras"]["train"]
                mfu = zoo.get("mfu")
                print(f"| {strategy} | {precision} | {jit} | {zoo['images_per_second']:.1f} | "
                      f"{'-' if mfu is None else f'{100 * mfu:.0f}%'} | "
                      f"{keras['images_per_second']:.1f} | |")
            elif error.is_file():
                print(f"| {strategy} | {precision} | {jit} | - | - | - | "
                      f"{error.read_text().strip().removeprefix('error: ')} |")
print(f"\nJSON: {out}")
EOF
