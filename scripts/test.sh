#!/usr/bin/env bash
# Runs the whole test suite (unit, gradient checks, golden values, media, CLI) in release mode.
# Installs what is missing first (system libraries, both downloadable models); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# The render-farm test starts a one-node Slurm cluster (scripts/slurm-local.sh): Debian's slurm-wlm and munge; the
# audio tests analyse a real song: the Frozen-Bubble theme from fb-music-high (2.4 MB).
SYSTEM_PACKAGES+=(slurm-wlm munge fb-music-high)
ensure_system_packages
ensure_release_build tests
# A home of the suite's own: the user's presets and models never change a test's result. Models are
# installed there once (kept between runs under .build/); no test downloads anything itself.
export DREAMVIDEO_HOME="${DREAMVIDEO_TEST_HOME:-$PWD/.build/test-home}"
ensure_models efficientnet-lite0 vgg16-hed
export DREAMVIDEO_OFFLINE=1
# The shipped presets, not a folder the user's environment points at.
unset DREAMVIDEO_PRESETS
# The OpenBLAS kernels the CLI runs (it restarts itself with better ones where OpenBLAS does not know the CPU),
# for the test process too: tests compare the library's frames with the CLI's, and different kernels round
# differently. (The test of that restart clears this variable for its own run.)
unset OPENBLAS_CORETYPE
core="$(OPENBLAS_VERBOSE=2 .build/release/dreamvideo --version 2>&1 | sed -n 's/^Core: //p' | tail -1)"
if [ -n "$core" ]; then export OPENBLAS_CORETYPE="$core"; fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
# A watchdog: a test that hangs fails the run after 40 minutes (the suite takes about 4) instead of stalling CI.
# One test at a time: the signal, lock and timing tests never share the machine with another test's render
# (about 4 minutes here against 2.3 in parallel).
timeout --kill-after=30 "${DREAMVIDEO_TEST_TIMEOUT:-2400}" swift test -c release --skip-build --no-parallel "$@" 2>&1 | tee "$log" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "the test run did not finish within ${DREAMVIDEO_TEST_TIMEOUT:-2400} s and was stopped (a hanging test; see the last tests started above)" >&2
fi
# A plain summary as the last line (XCTest also prints "Executed 0 tests" for its empty bundle).
n="$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\}.*passed.*/\1/p' "$log" | tail -1)"
skipped="$(grep -c '^➜ Test .* skipped' "$log" || true)"
if [ "$status" -eq 0 ] && [ -n "$n" ]; then
    echo "$n passed, 0 failed, $skipped skipped (each skip above names its reason)"
fi
exit "$status"
