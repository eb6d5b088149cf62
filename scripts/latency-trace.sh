#!/usr/bin/env bash
# When do the slowest requests happen? Sends COUNT chat completions one after another to a running target and
# reports the latency percentiles and, for the slowest 1 %, whether they fall at a fixed phase of a period (a
# periodic job would show as one crowded bin) and how closely they follow each other.
#
# Usage: scripts/latency-trace.sh PORT API_KEY [COUNT]   (COUNT default 30000; the target answers like bench.sh's)
set -euo pipefail
cd "$(dirname "$0")/.."
port="$1"; key="$2"; count="${3:-30000}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
clang -O2 -o "$out/latency-trace" scripts/latency-trace.c
"$out/latency-trace" "$port" "$count" "$key" > "$out/trace.csv"
python3 - "$out/trace.csv" <<'PY'
import collections, sys
rows = [tuple(int(x) for x in line.split(",")) for line in open(sys.argv[1])]
ordered = sorted(latency for _, latency in rows)
at = lambda q: ordered[min(len(ordered) - 1, int(len(ordered) * q))] / 1000
print(f"{len(rows)} requests in {rows[-1][0] / 1e9:.1f} s; p50 {at(.5):.0f} µs, p90 {at(.9):.0f} µs, "
      f"p99 {at(.99):.0f} µs, p99.9 {at(.999):.0f} µs")
threshold = ordered[int(len(ordered) * .99)]
slow = [(i, start) for i, (start, latency) in enumerate(rows) if latency >= threshold]
for period_ms in (20, 4):
    bins = collections.Counter(int(start % (period_ms * 1_000_000) / (period_ms * 100_000)) for _, start in slow)
    print(f"slowest 1 % by phase of {period_ms} ms, ten bins: {[bins[b] for b in range(10)]}")
gaps = sorted((b - a) / 1e6 for (_, a), (_, b) in zip(slow, slow[1:]))
print("gap to the previous slow request, ms, quartiles:",
      [round(gaps[int(len(gaps) * q)], 2) for q in (.25, .5, .75)])
print("slow requests right after a slow one:", sum(1 for (i, _), (j, _) in zip(slow, slow[1:]) if j == i + 1))
PY
