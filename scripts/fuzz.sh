#!/usr/bin/env bash
# Builds every fuzz target once, then runs each for N seconds (default 20) from the committed corpus.
#
#   scripts/fuzz.sh [seconds-per-target]          # FUZZ_JOBS=2 targets run side by side (default 2)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). New inputs go to a
# scratch directory, so the committed corpora (fuzz/corpus/<target>) stay small; a crash is saved under
# fuzz/artifacts/<target>/ and fails the script. Minimize one with `cargo +nightly fuzz tmin <target> <file>`
# and commit it to fuzz/corpus/<target>/crash-<name> with a regression unit test.
set -euo pipefail

seconds="${1:-20}"
jobs="${FUZZ_JOBS:-2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

cargo +nightly fuzz build
bin_dir="target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Runs one target's binary directly (cargo fuzz run would re-check the build for every target).
run_target() {
    local target="$1"
    mkdir -p "$scratch/$target" "artifacts/$target"
    if "$bin_dir/$target" -artifact_prefix="artifacts/$target/" -max_total_time="$seconds" \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        "$scratch/$target" "corpus/$target" >"$scratch/$target.log" 2>&1; then
        echo "ok" >"$scratch/$target.status"
    else
        echo "failed" >"$scratch/$target.status"
    fi
}

targets=$(cargo +nightly fuzz list)
for target in $targets; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    echo "== fuzz $target for ${seconds}s"
    run_target "$target" &
done
wait

failed=()
for target in $targets; do
    executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$target.log")
    echo "$target: ${executed:-?} executions, $(cat "$scratch/$target.status")"
    if [ "$(cat "$scratch/$target.status")" != "ok" ]; then
        failed+=("$target")
        grep -E -A12 'panicked|ERROR|Test unit written' "$scratch/$target.log" |
            grep -v '^ *[0-9]*: \|^ *at ' | head -40 || true
    fi
done

if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz targets failed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "all fuzz targets ran ${seconds}s without a crash"
