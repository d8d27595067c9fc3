#!/usr/bin/env bash
# Soak test: a long zoom at a small size, resident memory sampled every 100 frames.
# Memory must not grow beyond noise over the render (the README's Reliability section quotes a run).
#   scripts/soak.sh [FRAMES=2000] [SIZE=128x96]
set -euo pipefail
cd "$(dirname "$0")/.."
frames="${1:-2000}"; size="${2:-128x96}"
[[ "$frames" =~ ^[0-9]+$ ]] && [ "$frames" -ge 100 ] || { echo "soak.sh: FRAMES must be a whole number ≥ 100, got '$frames'" >&2; exit 64; }
bin=.build/release/dreamvideo
[ -x "$bin" ] || swift build -c release
dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
"$bin" zoom samples/chelsea.png -o "$dir/soak.mp4" --size "$size" --frames "$frames" --iterations 2 --octaves 2 \
    --checkpoint-every 50 --encoder-preset ultrafast -q &
pid=$!
echo "frame  rss_mib"
last=-1
while kill -0 "$pid" 2>/dev/null; do
    cp="$dir/soak.mp4.dreamvideo/checkpoint.json"
    n=$(grep -o '"nextFrame" : [0-9]*' "$cp" 2>/dev/null | grep -o '[0-9]*$' || echo 0)
    if [ "$n" -ge $((last + 100)) ] && [ $((n % 100)) -eq 0 ]; then
        rss=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status 2>/dev/null || echo "?")
        echo "$n  $rss"
        last=$n
    fi
    sleep 0.2
done
wait "$pid"
echo "done: $(ls -la "$dir/soak.mp4" | awk '{print $5}') bytes"
