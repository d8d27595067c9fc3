#!/usr/bin/env bash
# Runs the whole test suite (unit, gradient checks, golden values, media, CLI) in release mode.
# Installs what is missing first (system libraries, both downloadable models); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_system_packages
ensure_release_build tests
ensure_models efficientnet-lite0 vgg16-hed
swift test -c release --skip-build "$@"
