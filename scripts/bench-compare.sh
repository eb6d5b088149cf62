#!/usr/bin/env bash
# Compares two builds of `sluice serve` side by side: CPU time per request at concurrency 1, alternating the two
# binaries batch by batch so that a shared machine's drift reaches both alike.
#
# Usage: scripts/bench-compare.sh BEFORE_BIN AFTER_BIN [SECONDS] [ROUNDS]   (defaults: 10 s batches, 5 rounds)
#        SLUICE_BENCH_TOOLS=path/to/sluice-bench ...   uses that build of the benchmark tools
#
# Both binaries serve all-in-one against one fixed-answer upstream (`sluice-bench upstream`), each with its own
# data directory and key. Each round measures non-stream then stream, before then after; the table gives each
# batch's CPU per request and the medians, and the median of the per-round after/before ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
before="$1"
after="$2"
seconds="${3:-10}"
rounds="${4:-5}"

source scripts/bench-lib.sh

upstream_port=$(free_port)
"$bench_bin" upstream --port "$upstream_port" & pids+=($!)

declare -A url pid
for name in before after; do
    bin="${!name}"
    bench_instance "$work/$name" "$bin"
    port=$(free_port)
    SLUICE_HTTP_PORT=$port SLUICE_VECTOR_ADDRESS="127.0.0.1:$(free_port)" "$bin" serve > "$work/$name.log" 2>&1 &
    pids+=($!)
    pid[$name]=$!
    url[$name]="http://127.0.0.1:$port/v1/chat/completions"
    for kind in non-stream stream; do bench_lua "$work/$name-$kind.lua" "$key" "$kind"; done
done
for name in before after; do wait_http "${url[$name]%/v1/*}/health/ready"; done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)
results="$work/results.txt"
for round in $(seq 1 "$rounds"); do
    for kind in non-stream stream; do
        for name in before after; do
            wrk -t1 -c4 -d1s -s "$work/$name-$kind.lua" "${url[$name]}" > /dev/null
            start=$(ticks "${pid[$name]}")
            requests=$(wrk -t1 -c1 -d"${seconds}s" -s "$work/$name-$kind.lua" "${url[$name]}" |
                awk '/requests in/ {print $1}')
            end=$(ticks "${pid[$name]}")
            echo "$round $kind $name $(( (end - start) * 1000000 / ticks_per_second / requests ))" >> "$results"
        done
    done
    echo "bench-compare: round $round of $rounds done" >&2
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print("| mode | before µs/request | after µs/request | after/before (median of rounds) | rounds (before → after) |")
print("|---|---|---|---|---|")
for kind in ("non-stream", "stream"):
    cpu = {(r[0], r[2]): int(r[3]) for r in rows if r[1] == kind}
    rounds = sorted({r[0] for r in rows}, key=int)
    ratios = [cpu[(n, "after")] / cpu[(n, "before")] for n in rounds]
    detail = ", ".join(f"{cpu[(n, 'before')]} → {cpu[(n, 'after')]}" for n in rounds)
    print(f"| {kind} | {statistics.median(cpu[(n, 'before')] for n in rounds):.0f} "
          f"| {statistics.median(cpu[(n, 'after')] for n in rounds):.0f} | {statistics.median(ratios):.2f} | {detail} |")
PY
