#!/usr/bin/env bash
# Measures the latency Sluice adds and the throughput it keeps, against a fixed-answer upstream on loopback.
#
# Usage: scripts/bench.sh [SECONDS] [ROUNDS]   (each measurement runs SECONDS, default 10; ROUNDS rounds, default 3)
#        SLUICE_BENCH_BIN=path/to/sluice scripts/bench.sh ...   measures that binary instead of building one
#        SLUICE_BENCH_TOOLS=path/to/sluice-bench ...             uses that build of the benchmark tools
#
# Release build. Three targets, all answering POST /v1/chat/completions the same way:
#   direct      wrk → fixed-answer upstream (`sluice-bench upstream`)
#   all-in-one  wrk → `sluice serve` → upstream
#   split       wrk → `sluice serve edge` → gRPC → `sluice serve inference` → upstream (+ governance over gRPC)
#   nginx       wrk → nginx (one worker, keep-alive upstream) → upstream: a mature C reverse proxy doing no work
#               beyond forwarding, as a reference for what any proxy hop costs on this machine
#   nio-proxy   wrk → `sluice-bench proxy` (a bare SwiftNIO forwarding proxy) → upstream: the same for SwiftNIO
#   nginx-split wrk → nginx → (auth_request to a second nginx answering 204) → a third nginx → upstream: split mode's
#               process hops with none of its work (and an authorization hop on every request, which split's edge
#               caches for a second), as a reference for what that shape costs on this machine
# For each, non-stream and stream: p50/p99 at concurrency 1 (wrk -c1), requests/s at 64 connections (wrk -c64), and
# the CPU time the target's own processes spent per request during the concurrency-1 run (the upstream's for direct;
# edge, inference and governance together for split). CPU time changes far less with the machine's background load
# than latency does, so it is the steadier figure for comparing two builds.
# Every round measures every target once, in turn, so slow drifts of a shared machine reach all targets alike. Prints
# a Markdown table of medians over the rounds: added latency is target − direct within each round, throughput a ratio
# of direct in the same round; the p99-added column also gives the lowest and highest round.
#
# SLUICE_BENCH_POLICIES=1 measures what limits and budgets cost (issue 16): direct and all-in-one as configured by
# default, and beside them all-in-one with a key whose tenant policy has requests and tokens per minute and a token
# and a money budget all active (aio-policy: the same process, counting in process), and a second all-in-one process
# counting in Redis (aio-redis: Debian's redis-server on loopback). The limits are far above what the benchmark
# sends, so every request does all the work and none is refused. A second table gives each as ratios of all-in-one.
#
# SLUICE_BENCH_MACHINERY=1 measures the speed machinery instead (decision record 0005): direct, all-in-one and split
# as configured by default, and beside them the same modes with pieces of the `performance` configuration switched
# off: all-in-one without the event-loop channel, the plain HTTP client or the fast JSON readers, and with all of them
# off; split without Exchange streams or event-loop executors, and with everything off. A second table gives each
# variant's CPU per request and requests/s as ratios of its mode with everything on, in the same rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
rounds="${2:-3}"

[[ -x /usr/sbin/nginx ]] || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }
source scripts/bench-lib.sh
if [[ -n "${SLUICE_BENCH_BIN:-}" ]]; then
    bin="$SLUICE_BENCH_BIN"
else
    swift build -c release --scratch-path .build-release --product sluice >/dev/null
    bin="$(swift build -c release --scratch-path .build-release --show-bin-path)/sluice"
fi

upstream_port=$(free_port)
"$bench_bin" upstream --port "$upstream_port" & pids+=($!)
upstream_pid=$!

bench_instance "$work" "$bin"

aio_port=$(free_port)
SLUICE_HTTP_PORT=$aio_port "$bin" serve > "$work/aio.log" 2>&1 & pids+=($!)
aio_pid=$!

split_port=$(free_port)
export SLUICE_INFERENCE_ADDRESS="127.0.0.1:$(free_port)" SLUICE_GOVERNANCE_ADDRESS="127.0.0.1:$(free_port)"
governance_ops=$(free_port)
inference_ops=$(free_port)
SLUICE_HTTP_PORT=$governance_ops "$bin" serve governance > "$work/governance.log" 2>&1 & pids+=($!)
split_pids="$!"
SLUICE_HTTP_PORT=$inference_ops "$bin" serve inference > "$work/inference.log" 2>&1 & pids+=($!)
split_pids+=" $!"
SLUICE_HTTP_PORT=$split_port "$bin" serve edge > "$work/edge.log" 2>&1 & pids+=($!)
split_pids+=" $!"

# Variants for SLUICE_BENCH_MACHINERY=1: NAME MODE BASELINE PERFORMANCE-JSON. Each runs with its own configuration
# file and gRPC addresses, on the same data directory (one is measured at a time), and is compared with its baseline.
# The plain HTTP client is used only where calls run on their event loop, so switching off the event-loop channel or
# executors also switches it off: those variants are compared with the same mode without the plain client.
machinery_variants=(
    "aio-no-plain-http all-in-one all-in-one {\"plain_http_client\":false}"
    "aio-no-loop-channel all-in-one aio-no-plain-http {\"event_loop_channel\":false}"
    "aio-no-fast-json all-in-one all-in-one {\"fast_json\":false}"
    "aio-anchors all-in-one all-in-one {\"event_loop_channel\":false,\"plain_http_client\":false,\"fast_json\":false}"
    "split-no-exchange split split {\"exchange_streams\":false}"
    "split-no-plain-http split split {\"plain_http_client\":false}"
    "split-no-executors split split-no-plain-http {\"event_loop_executors\":false}"
    "split-anchors split split {\"event_loop_channel\":false,\"event_loop_executors\":false,\"plain_http_client\":false,\"fast_json\":false,\"exchange_streams\":false}"
)
declare -A variant_pids=() variant_urls=() variant_modes=() variant_baselines=() variant_keys=()
variant_names=()
if [[ "${SLUICE_BENCH_POLICIES:-0}" == 1 ]]; then
    command -v redis-server > /dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" 2>&1 &
    pids+=($!)
    policed_key=$("$bin" keys create --tenant bench-policed --json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
    "$bin" policy set --tenant bench-policed --rpm 10000000 --tpm 10000000000 \
        --budget-tokens-day 10000000000000 --budget-usd-month 1000000 > /dev/null
    python3 - "$work/config.json" "$work/redis.json" "$redis_port" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["redis"] = {"url": f"redis://127.0.0.1:{sys.argv[3]}"}
json.dump(config, open(sys.argv[2], "w"))
PY
    redis_http_port=$(free_port)
    (
        export SLUICE_CONFIG="$work/redis.json" SLUICE_VECTOR_ADDRESS="127.0.0.1:$(free_port)"
        SLUICE_HTTP_PORT=$redis_http_port exec "$bin" serve > "$work/aio-redis.log" 2>&1
    ) &
    pids+=($!)
    variant_names+=(aio-policy aio-redis)
    variant_urls[aio-policy]="http://127.0.0.1:$aio_port/v1/chat/completions"
    variant_urls[aio-redis]="http://127.0.0.1:$redis_http_port/v1/chat/completions"
    variant_pids[aio-policy]=$aio_pid
    variant_pids[aio-redis]=$!
    variant_keys[aio-policy]=$policed_key
    variant_keys[aio-redis]=$policed_key
    for name in aio-policy aio-redis; do
        variant_modes[$name]=all-in-one
        variant_baselines[$name]=all-in-one
    done
fi
if [[ "${SLUICE_BENCH_MACHINERY:-0}" == 1 ]]; then
    for variant in "${machinery_variants[@]}"; do
        read -r name mode baseline performance <<< "$variant"
        python3 - "$work/config.json" "$work/$name.json" "$performance" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["performance"] = json.loads(sys.argv[3])
json.dump(config, open(sys.argv[2], "w"))
PY
        port=$(free_port)
        (
            export SLUICE_CONFIG="$work/$name.json" SLUICE_VECTOR_ADDRESS="127.0.0.1:$(free_port)"
            export SLUICE_INFERENCE_ADDRESS="127.0.0.1:$(free_port)" SLUICE_GOVERNANCE_ADDRESS="127.0.0.1:$(free_port)"
            if [[ $mode == all-in-one ]]; then
                SLUICE_HTTP_PORT=$port exec "$bin" serve > "$work/$name.log" 2>&1
            else
                SLUICE_HTTP_PORT=$(free_port) "$bin" serve governance > "$work/$name-governance.log" 2>&1 &
                SLUICE_HTTP_PORT=$(free_port) "$bin" serve inference > "$work/$name-inference.log" 2>&1 &
                SLUICE_HTTP_PORT=$port "$bin" serve edge > "$work/$name-edge.log" 2>&1 &
                wait
            fi
        ) &
        pids+=($!)
        variant_names+=("$name")
        variant_urls[$name]="http://127.0.0.1:$port/v1/chat/completions"
        variant_modes[$name]=$mode
        variant_baselines[$name]=$baseline
        variant_pids[$name]=$!
    done
fi

nio_proxy_port=$(free_port)
"$bench_bin" proxy --port "$nio_proxy_port" --upstream-port "$upstream_port" & pids+=($!)
nio_proxy_pid=$!

# Starts an nginx with one worker: start_nginx NAME PORT UPSTREAMS LOCATIONS; prints the master's pid.
start_nginx() {
    local dir="$work/nginx-$1"
    mkdir -p "$dir"
    cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    $3
    server {
        listen 127.0.0.1:$2;
        $4
    }
}
NGINX
    /usr/sbin/nginx -c "$dir/nginx.conf" -g "daemon off;" > /dev/null 2>&1 &
    echo $!
}
# Forwards to the named keep-alive upstream, streaming the answer through as it arrives.
forward() { echo "proxy_pass http://$1; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off;"; }

nginx_port=$(free_port)
nginx_pid=$(start_nginx one "$nginx_port" "upstream bench { server 127.0.0.1:$upstream_port; keepalive 64; }" \
    "location / { $(forward bench) }")
pids+=("$nginx_pid")

# Split mode's shape with three nginx processes doing no work: the front asks a second process (auth_request, an
# empty 204) before it forwards to a third, which forwards to the upstream. Split mode's hops with none of its work,
# and one more per request: split's edge asks governance once per key and second, this front asks on every request.
# A generous floor for split's added latency on this machine.
nginx_split_port=$(free_port)
nginx_auth_port=$(free_port)
nginx_relay_port=$(free_port)
nginx_auth_pid=$(start_nginx auth "$nginx_auth_port" "" "location / { return 204; }")
pids+=("$nginx_auth_pid")
nginx_relay_pid=$(start_nginx relay "$nginx_relay_port" \
    "upstream bench { server 127.0.0.1:$upstream_port; keepalive 64; }" "location / { $(forward bench) }")
pids+=("$nginx_relay_pid")
nginx_front_pid=$(start_nginx front "$nginx_split_port" "
    upstream auth { server 127.0.0.1:$nginx_auth_port; keepalive 64; }
    upstream relay { server 127.0.0.1:$nginx_relay_port; keepalive 64; }" "
        location / { auth_request /auth; $(forward relay) }
        location = /auth {
            internal;
            proxy_pass_request_body off;
            proxy_set_header Content-Length \"\";
            $(forward auth)
        }")
pids+=("$nginx_front_pid")

wait_http "http://127.0.0.1:$aio_port/health/ready"
wait_http "http://127.0.0.1:$governance_ops/health/ready"
wait_http "http://127.0.0.1:$inference_ops/health/ready"
wait_http "http://127.0.0.1:$split_port/health/ready"
wait_http "http://127.0.0.1:$nginx_port/"
wait_http "http://127.0.0.1:$nginx_auth_port/"
wait_http "http://127.0.0.1:$nginx_relay_port/"
wait_http "http://127.0.0.1:$nginx_split_port/"
wait_http "http://127.0.0.1:$nio_proxy_port/"
for name in "${variant_names[@]}"; do
    wait_http "${variant_urls[$name]%/v1/chat/completions}/health/ready"
    # The processes of a variant: the subshell's serve (all-in-one) or its three children (split).
    if [[ ${variant_modes[$name]} == all-in-one ]]; then
        variant_pids[$name]="${variant_pids[$name]}"
    else
        variant_pids[$name]="$(pgrep -P "${variant_pids[$name]}" | tr '\n' ' ')"
        # shellcheck disable=SC2206 # the list of pids is meant to split
        pids+=(${variant_pids[$name]})
    fi
done

for kind in plain stream; do bench_lua "$work/$kind.lua" "$key" "$kind"; done
# The wrk script of each target: the benchmark key's, or a variant's own key's.
declare -A scripts=()
for kind in plain stream; do
    for name in "${variant_names[@]}"; do
        if [[ -n "${variant_keys[$name]:-}" ]]; then
            bench_lua "$work/$kind-$name.lua" "${variant_keys[$name]}" "$kind"
            scripts[$kind/$name]="$work/$kind-$name.lua"
        fi
    done
done
script() { echo "${scripts[$1/$2]:-$work/$1.lua}"; }

# The processes whose CPU time counts for each target: nginx's is its worker, a child of the master started here.
declare -A target_pids=(
    [direct]="$upstream_pid"
    [all-in-one]="$aio_pid"
    [split]="$split_pids"
    [nginx]="$(pgrep -P "$nginx_pid" | tr '\n' ' ')"
    [nio-proxy]="$nio_proxy_pid"
    [nginx-split]="$(pgrep -P "$nginx_front_pid,$nginx_auth_pid,$nginx_relay_pid" | tr '\n' ' ')"
)
# User plus system time of the given processes, all threads, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
    echo "$total"
}
ticks_per_second=$(getconf CLK_TCK)

declare -A urls=(
    [direct]="http://127.0.0.1:$upstream_port/v1/chat/completions"
    [all-in-one]="http://127.0.0.1:$aio_port/v1/chat/completions"
    [split]="http://127.0.0.1:$split_port/v1/chat/completions"
    [nginx]="http://127.0.0.1:$nginx_port/v1/chat/completions"
    [nio-proxy]="http://127.0.0.1:$nio_proxy_port/v1/chat/completions"
    [nginx-split]="http://127.0.0.1:$nginx_split_port/v1/chat/completions"
)
for name in "${variant_names[@]}"; do
    target_pids[$name]="${variant_pids[$name]}"
    urls[$name]="${variant_urls[$name]}"
done
if [[ "${SLUICE_BENCH_POLICIES:-0}" == 1 ]]; then
    bench_targets=(direct all-in-one "${variant_names[@]}")
elif [[ "${SLUICE_BENCH_MACHINERY:-0}" == 1 ]]; then
    bench_targets=(direct all-in-one split "${variant_names[@]}")
else
    bench_targets=(direct nginx nio-proxy all-in-one nginx-split split)
fi

results="$work/results.txt"
: > "$results"
for round in $(seq 1 "$rounds"); do
    for kind in plain stream; do
        for target in "${bench_targets[@]}"; do
            # Warm up connections, caches and allocators before measuring.
            lua=$(script "$kind" "$target")
            wrk -t1 -c4 -d2s -s "$lua" "${urls[$target]}" > /dev/null
            # shellcheck disable=SC2086 # the list of pids is meant to split
            before=$(cpu_ticks ${target_pids[$target]})
            wrk -t1 -c1 -d"${seconds}s" --latency -s "$lua" "${urls[$target]}" > "$work/c1.txt"
            # shellcheck disable=SC2086
            after=$(cpu_ticks ${target_pids[$target]})
            wrk -t2 -c64 -d"${seconds}s" -s "$lua" "${urls[$target]}" > "$work/c64.txt"
            python3 - "$round" "$kind" "$target" "$work/c1.txt" "$work/c64.txt" \
                "$((after - before))" "$ticks_per_second" >> "$results" <<'PY'
import re, sys
round_, kind, target, c1, c64, ticks, per_second = sys.argv[1:8]
def micros(text, pct):
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
def check(text):
    if "Non-2xx" in text or "Socket errors" in text:
        sys.exit(f"bench: errors during {kind}/{target}:\n{text}")
t1, t64 = open(c1).read(), open(c64).read()
check(t1); check(t64)
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t64).group(1))
requests = int(re.search(r"^\s*(\d+) requests in", t1, re.M).group(1))
cpu = int(ticks) / int(per_second) * 1e6 / requests
print(round_, kind, target, micros(t1, 50), micros(t1, 99), rps, cpu)
PY
        done
    done
    echo "bench: round $round of $rounds done" >&2
done

python3 - "$results" "${bench_targets[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
data = {(r, k, t): (float(p50), float(p99), float(rps), float(cpu)) for r, k, t, p50, p99, rps, cpu in rows}
rounds = sorted({r for r, _, _ in data}, key=int)
targets = sys.argv[2:]
print(f"{len(rounds)} rounds; medians over the rounds")
print()
print(
    "| mode | target | p50 µs | p99 µs | p50 added µs | p99 added µs (lowest–highest round) | req/s @64 | vs direct "
    "| CPU µs/request @1 |"
)
print("|---|---|---|---|---|---|---|---|---|")
for kind in ("plain", "stream"):
    for target in targets:
        runs = [data[(r, kind, target)] for r in rounds]
        bases = [data[(r, kind, "direct")] for r in rounds]
        p50 = statistics.median(run[0] for run in runs)
        p99 = statistics.median(run[1] for run in runs)
        rps = statistics.median(run[2] for run in runs)
        cpu = statistics.median(run[3] for run in runs)
        ratio = statistics.median(run[2] / base[2] for run, base in zip(runs, bases))
        if target == "direct":
            added = "– | –"
        else:
            added50 = statistics.median(run[0] - base[0] for run, base in zip(runs, bases))
            added99 = [run[1] - base[1] for run, base in zip(runs, bases)]
            added = f"{added50:.0f} | {statistics.median(added99):.0f} ({min(added99):.0f}–{max(added99):.0f})"
        mode = "stream" if kind == "stream" else "non-stream"
        print(f"| {mode} | {target} | {p50:.0f} | {p99:.0f} | {added} | {rps:.0f} | {ratio:.2f}× | {cpu:.0f} |")
PY
if ((${#variant_names[@]} > 0)); then
    pairs=()
    for name in "${variant_names[@]}"; do pairs+=("$name=${variant_baselines[$name]}"); done
    python3 - "$results" "${pairs[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
data = {(r, k, t): (float(rps), float(cpu)) for r, k, t, _, _, rps, cpu in rows}
rounds = sorted({r for r, _, _ in data}, key=int)
print()
print("Each variant against its baseline, in the same rounds (median of the per-round ratios). For the machinery, a")
print("piece helps when switching it off raises CPU per request (ratio above 1.00) or lowers requests/s (below 1.00);")
print("for policies, the ratios are what counting limits and budgets costs.")
print()
print("| mode | variant | baseline | CPU µs/request @1 | variant/baseline | req/s @64 | variant/baseline |")
print("|---|---|---|---|---|---|---|")
for kind in ("plain", "stream"):
    for pair in sys.argv[2:]:
        name, base = pair.split("=")
        cpu = statistics.median(data[(r, kind, name)][1] for r in rounds)
        rps = statistics.median(data[(r, kind, name)][0] for r in rounds)
        cpu_ratio = statistics.median(data[(r, kind, name)][1] / data[(r, kind, base)][1] for r in rounds)
        rps_ratio = statistics.median(data[(r, kind, name)][0] / data[(r, kind, base)][0] for r in rounds)
        mode = "stream" if kind == "stream" else "non-stream"
        print(f"| {mode} | {name} | {base} | {cpu:.0f} | {cpu_ratio:.2f} | {rps:.0f} | {rps_ratio:.2f} |")
PY
fi
