#!/usr/bin/env bash
# Time per dream step (as the tool runs it: tiles of 512 px, jitter, normalised update) against pixel
# count, for both models at their default layers. Prints a Markdown table with ms per megapixel,
# which stays roughly flat when cost grows linearly with pixels.
#   Benchmarks/scaling.sh [--runs N]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
runs=3
[ "${1:-}" = --runs ] && runs="$2"
source scripts/lib.sh
ensure_release_build >/dev/null
ensure_models efficientnet-lite0 vgg16-hed >/dev/null 2>&1
printf "| model | size | megapixels | ms per step | ms per megapixel |\n|---|---|---|---|---|\n"
for model in efficientnet-lite0 vgg16-hed; do
    for size in 256x256 512x512 1024x576 1280x720 1920x1080 3840x2160; do
        out="$(.build/release/dreamvideo-bench --json --tiled --runs "$runs" --warmup 1 --models "$model" --sizes "$size")"
        python3 - "$model" "$size" "$out" <<'PY'
import json, sys
model, size, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
w, h = map(int, size.split("x"))
mp = w * h / 1e6
ms = out["results"][0]["median_ms"]
print(f"| {model} | {size} | {mp:.2f} | {ms:.0f} | {ms / mp:.0f} |")
PY
    done
done
