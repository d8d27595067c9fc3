# Shared steps of setup.sh and test.sh (sourced, not run).

# Debian packages the build and the tests need: FFmpeg's libraries (and the ffmpeg/ffprobe programs the
# tests use to cross-check our files), OpenBLAS, HDF5, OpenCV's video module (optical flow; 16 packages,
# 10 MB), pkg-config, and python3-pip for model downloads.
SYSTEM_PACKAGES=(pkg-config libavcodec-dev libavformat-dev libswscale-dev libswresample-dev libavutil-dev
                 libopenblas-dev libhdf5-dev libopencv-video-dev ffmpeg python3 python3-pip)

ensure_system_packages() {
    local todo=()
    for p in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
        # A python3 with pip from elsewhere (e.g. pyenv) is fine too.
        [ "$p" = python3 ] && command -v python3 >/dev/null && continue
        [ "$p" = python3-pip ] && python3 -m pip --version >/dev/null 2>&1 && continue
        todo+=("$p")
    done
    if [ ${#todo[@]} -gt 0 ]; then
        echo "installing system packages: ${todo[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${todo[@]}"
    fi
}

# Release build of the tool. With "tests", the test targets too, in the same configuration that
# `swift test -c release` uses, so the test run does not rebuild everything.
ensure_release_build() {
    if [ "${1:-}" = tests ]; then swift build -c release --build-tests; else swift build -c release; fi
}

ensure_models() {
    for m in "$@"; do
        .build/release/dreamvideo models install "$m"
    done
}
