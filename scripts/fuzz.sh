#!/usr/bin/env bash
# Fuzzes the readers that take files from outside: safetensors weights, torch pickles, pictures and videos
# (FFmpeg's open path), render checkpoints. Each libFuzzer target runs for SECONDS (default 300) from the
# seeds in Fuzz/seeds plus the corpus it grew before (Fuzz/corpus, not in git). Crashes land in
# Fuzz/artifacts/TARGET/: reproduce one with the plain replay build (`swift build --product fuzz-TARGET`
# then `.build/debug/fuzz-TARGET FILE`), fix it, and add the file to Tests/DreamEngineTests/Fixtures/fuzz.
#   scripts/fuzz.sh [SECONDS] [TARGET…]     TARGET: safetensors torch video checkpoint (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-300}"; shift || true
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] || { echo "fuzz.sh: SECONDS must be a positive whole number, got '$secs'" >&2; exit 64; }
for t in "$@"; do
    case "$t" in safetensors|torch|video|checkpoint) ;; *) echo "fuzz.sh: unknown target '$t' (safetensors, torch, video, checkpoint)" >&2; exit 64 ;; esac
done
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(safetensors torch video checkpoint)
for t in "${targets[@]}"; do
    # One product at a time: the other executables cannot link with -sanitize=fuzzer (libFuzzer brings main).
    swift build -c release --scratch-path .build-fuzz --product "fuzz-$t" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | tail -1
done
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
status=0
for t in "${targets[@]}"; do
    mkdir -p "Fuzz/corpus/$t" "Fuzz/artifacts/$t"
    dict=(); [ -f "Fuzz/$t.dict" ] && dict=("-dict=Fuzz/$t.dict")
    # No network: FFmpeg demuxers (HLS, SDP, RTSP) would open URLs named inside a fuzzed file.
    net=(); unshare -n true 2>/dev/null && net=(unshare -n)
    log="Fuzz/artifacts/$t.log"
    "${net[@]}" ".build-fuzz/release/fuzz-$t" "Fuzz/corpus/$t" "Fuzz/seeds/$t" "${dict[@]}" \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="Fuzz/artifacts/$t/" -print_final_stats=1 </dev/null >"$log" 2>&1 || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    found=$(find "Fuzz/artifacts/$t" -type f | wc -l)
    echo "fuzz-$t: ${secs}s, ${execs:-?} executions, $found crash/timeout/oom inputs in Fuzz/artifacts/$t (log $log)"
    [ "$found" -eq 0 ] || status=1
done
exit $status
