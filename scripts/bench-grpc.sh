#!/usr/bin/env bash
# Measures what a gRPC call costs between two Sluice-built processes on loopback, against a message on an open
# stream, with the transport's flush coalescing at its default (100 µs) and off; and what a message on a stream costs
# when either side drives swift-nio-http2 directly instead of grpc-swift (a lean transport, decision record 0004).
#
# Usage: scripts/bench-grpc.sh [CALLS]   (measured calls per row, default 10000, after 500 for warm-up)
#
# Release build. `sluice-bench grpc serve` answers an echo service on one event loop (`--lean`: the stream method on
# swift-nio-http2 alone); `sluice-bench grpc call` makes the calls one after another (concurrency 1) and reports the
# round trip and its own CPU per call (`--mode lean-stream`: the stream on swift-nio-http2 alone); the server's CPU
# per call comes from /proc. Prints a Markdown table; ratios are against the first row, measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-10000}"

export SLUICE_BENCHMARKS=1
swift build -c release --scratch-path .build-release --product sluice-bench >/dev/null
bench_bin="$(swift build -c release --scratch-path .build-release --show-bin-path)/sluice-bench"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

server=""
cleanup() { [[ -n "$server" ]] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

echo "| server | flush delay | client mode | p50 µs | p99 µs | client CPU µs/call | server CPU µs/call | p50 vs first row |"
echo "|---|---|---|---|---|---|---|---|"
first_p50=""
# server kind, flush delay, client modes
for row in "grpc 100 unary stream" "grpc 0 unary stream lean-stream" "lean 0 stream lean-stream"; do
    read -r kind delay modes <<<"$row"
    flags=(--port "$port" --flush-delay-us "$delay")
    [[ $kind == lean ]] && flags+=(--lean)
    "$bench_bin" grpc serve "${flags[@]}" & server=$!
    for _ in $(seq 1 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1)" 2>/dev/null && break
        sleep 0.05
    done
    for mode in $modes; do
        before=$(cpu_ticks "$server")
        line=$("$bench_bin" grpc call --port "$port" --flush-delay-us "$delay" --mode "$mode" --count "$calls")
        after=$(cpu_ticks "$server")
        p50=$(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$line")
        p99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$line")
        client=$(sed -n 's/.*client_cpu_us_per_call=\([0-9]*\).*/\1/p' <<<"$line")
        # The server's ticks include the client's 500 warm-up calls.
        server_us=$(( (after - before) * 1000000 / ticks_per_second / (calls + 500) ))
        first_p50="${first_p50:-$p50}"
        ratio=$(python3 -c "print(f'{$p50 / $first_p50:.2f}×')")
        label="$delay µs"; [[ "$delay" == 0 ]] && label="off"
        server_label="grpc-swift"; [[ $kind == lean ]] && server_label="swift-nio-http2"
        echo "| $server_label | $label | $mode | $p50 | $p99 | $client | $server_us | $ratio |"
    done
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
