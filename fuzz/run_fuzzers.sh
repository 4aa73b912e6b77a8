#!/usr/bin/env bash
# Runs each libFuzzer target of the fuzz build for a bounded time; `make fuzz` calls it.
#   fuzz/run_fuzzers.sh <build dir> <total seconds> <target>...
# The targets share the time equally. Each starts from its seed corpus fuzz/corpus/<target>/
# (read only: the repository is never written) plus what earlier runs found in
# <build dir>/corpus/<target>/, where libFuzzer puts new inputs. A crash, sanitizer report, leak,
# timeout or out-of-memory fails the run, with the saved input and the command that replays it.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 <build dir> <total seconds> <target>..." >&2
    exit 2
fi
build=$(cd "$1" && pwd)
total=$2
shift 2
source_dir=$(cd "$(dirname "$0")" && pwd)
share=$((total / $#))
[ "$share" -ge 1 ] || share=1

# UBSan stops at the first report (-fno-sanitize-recover); this makes it say where.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

failed=0
for target in "$@"; do
    binary=$build/fuzz/$target
    seeds=$source_dir/corpus/$target
    found=$build/corpus/$target
    artifacts=$build/artifacts/$target
    log=$build/$target.log
    rm -rf "$artifacts" # what a failed run saved stays until the next run
    mkdir -p "$found" "$artifacts"
    echo "--- $target: ${share} s from $(find "$seeds" -type f | wc -l) seeds and $(find "$found" -type f | wc -l) earlier finds"
    # -max_len: the largest frames the codec cares about (255-byte names, str16 payloads) fit
    # with room for a body; -timeout: seconds one input may take before it counts as a hang.
    if "$binary" -max_total_time="$share" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$found" "$seeds" >"$log" 2>&1; then
        # The last status line: executions, edges covered (cov), features (ft), corpus size.
        grep -E '^#[0-9]+' "$log" | tail -n 1 || true
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" || true
    else
        failed=1
        echo "!!! $target FAILED; the end of $log:" >&2
        tail -n 60 "$log" >&2
        for input in "$artifacts"/*; do
            [ -e "$input" ] || continue
            echo "!!! input saved as $input; replay: $binary $input" >&2
        done
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "!!! fuzzing found a problem: fix it, add a regression test (docs/FUZZING.md) and keep the input in fuzz/corpus/<target>/regression-<what>" >&2
fi
exit "$failed"
