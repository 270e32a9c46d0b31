#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz) of every target in
# fuzz/, each for a bounded time, one after the other on one core. A crash,
# a leak, an out-of-memory or a hang fails the run and names the input that
# caused it (under fuzz/artifacts/<target>/).
#
#   bash scripts/fuzz.sh                     # 60 s per target (CI)
#   FUZZ_SECONDS=3600 bash scripts/fuzz.sh   # an hour per target
#   FUZZ_TARGETS="rle deid" bash scripts/fuzz.sh
#
# Settings (environment):
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_TARGETS    targets to run (default: all of `cargo fuzz list`)
#   FUZZ_RSS_MB     memory bound per process and per allocation (default 2048)
#   FUZZ_TIMEOUT    seconds one input may take before it counts as a hang (default 30)
#   FUZZ_SANITIZER  address (default) or none (faster build and runs; huge
#                   single allocations are then caught only through the RSS bound)
#   FUZZ_CORPUS     where the inputs found are kept between runs (default
#                   ~/.cache/hilum-fuzz-corpus); the committed seeds in
#                   fuzz/corpus/ are read, never written
#
# Needs a nightly toolchain (installed when missing, minimal profile) and
# cargo-fuzz (installed from crates.io when missing). The build goes to
# $CARGO_TARGET_DIR/fuzz, outside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
FUZZ_RSS_MB="${FUZZ_RSS_MB:-2048}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-30}"
FUZZ_SANITIZER="${FUZZ_SANITIZER:-address}"
FUZZ_CORPUS="${FUZZ_CORPUS:-$HOME/.cache/hilum-fuzz-corpus}"
export CARGO_TARGET_DIR="$CARGO_TARGET_DIR/fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: installing the nightly toolchain (libFuzzer's instrumentation needs it)" >&2
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked --version '^0.13'
fi

fuzz() { cargo +nightly fuzz "$@"; }
# The same build flags for `build` and `run` (different ones would rebuild).
# cargo-fuzz forces one codegen unit in release mode; 16 compile in parallel
# and keep the build within CI's time on two cores.
build_flags=(--sanitizer "$FUZZ_SANITIZER" --codegen-units 16)

started=$(date +%s)
fuzz build "${build_flags[@]}"
echo "fuzz: build took $(( $(date +%s) - started )) s" >&2

targets="${FUZZ_TARGETS:-$(fuzz list)}"
failed=()
for target in $targets; do
    mkdir -p "$FUZZ_CORPUS/$target"
    log="$CARGO_TARGET_DIR/fuzz-$target.log"
    echo "fuzz: $target for $FUZZ_SECONDS s" >&2
    before=$(date +%s)
    touch "$log.start"
    # New inputs go to the first corpus folder (outside the clone); the
    # committed seeds are the second. -malloc_limit_mb turns one huge
    # allocation into a reported crash before it can succeed lazily.
    if fuzz run "${build_flags[@]}" "$target" "$FUZZ_CORPUS/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$FUZZ_RSS_MB" \
        -malloc_limit_mb="$FUZZ_RSS_MB" -timeout="$FUZZ_TIMEOUT" \
        -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
        echo "fuzz: $target: ${runs:-?} inputs in $(( $(date +%s) - before )) s (${rate:-?}/s), no failure" >&2
    else
        tail -n 60 "$log" >&2
        echo "fuzz: $target FAILED; full log: $log" >&2
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: failing targets: ${failed[*]}; failing inputs:" >&2
    for target in "${failed[@]}"; do
        find "$PWD/fuzz/artifacts/$target" -type f -newer "$CARGO_TARGET_DIR/fuzz-$target.log.start" >&2 || true
    done
    echo "fuzz: reproduce with: cargo +nightly fuzz run TARGET INPUT; make it a regression as the README's \"Fuzzing\" section says" >&2
    exit 1
fi
echo "fuzz: all targets ran $FUZZ_SECONDS s without a failure" >&2
