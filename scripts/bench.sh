#!/usr/bin/env bash
# Measures the latency Sluice adds and the throughput it keeps, against a fixed-answer upstream on loopback.
#
# Usage: scripts/bench.sh [SECONDS]   (each measurement runs SECONDS, default 10)
#
# Release build. Three targets, all answering POST /v1/chat/completions the same way:
#   direct      wrk → fixed-answer upstream (`sluice bench upstream`)
#   all-in-one  wrk → `sluice serve` → upstream
#   split       wrk → `sluice serve edge` → gRPC → `sluice serve inference` → upstream (+ governance over gRPC)
#   nginx       wrk → nginx (one worker, keep-alive upstream) → upstream: a mature C reverse proxy doing no work
#               beyond forwarding, as a reference for what any proxy hop costs on this machine
#   nio-proxy   wrk → `sluice bench proxy` (a bare SwiftNIO forwarding proxy) → upstream: the same for SwiftNIO
# For each, non-stream and stream: p50/p99 at concurrency 1 (wrk -c1), requests/s at 64 connections (wrk -c64).
# Prints a Markdown table; added latency = target − direct, throughput as a ratio of direct, from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[[ -x /usr/sbin/nginx ]] || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }
scripts/fetch-tokenizer.sh >/dev/null
swift build -c release --scratch-path .build-release --product sluice >/dev/null
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)/sluice"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
    for _ in $(seq 1 600); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.05
    done
    echo "bench: $1 never answered" >&2
    exit 1
}

upstream_port=$(free_port)
"$bin" bench upstream --port "$upstream_port" & pids+=($!)

mkdir -p "$work/data/tokenizers"
cp "${SLUICE_DATA_DIR:-./.sluice}/tokenizers/cl100k_base.tiktoken" "$work/data/tokenizers/"
cat > "$work/config.json" <<JSON
{
  "data_dir": "$work/data",
  "log_level": "warning",
  "providers": [ { "name": "bench", "kind": "openai", "base_url": "http://127.0.0.1:$upstream_port/v1" } ],
  "models": [ { "name": "bench", "deployments": [ { "provider": "bench", "model": "bench" } ] } ]
}
JSON
export SLUICE_CONFIG="$work/config.json"
key=$("$bin" keys create --tenant bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

aio_port=$(free_port)
SLUICE_HTTP_PORT=$aio_port "$bin" serve > "$work/aio.log" 2>&1 & pids+=($!)

split_port=$(free_port)
export SLUICE_INFERENCE_ADDRESS="127.0.0.1:$(free_port)" SLUICE_GOVERNANCE_ADDRESS="127.0.0.1:$(free_port)"
governance_ops=$(free_port)
inference_ops=$(free_port)
SLUICE_HTTP_PORT=$governance_ops "$bin" serve governance > "$work/governance.log" 2>&1 & pids+=($!)
SLUICE_HTTP_PORT=$inference_ops "$bin" serve inference > "$work/inference.log" 2>&1 & pids+=($!)
SLUICE_HTTP_PORT=$split_port "$bin" serve edge > "$work/edge.log" 2>&1 & pids+=($!)

nio_proxy_port=$(free_port)
"$bin" bench proxy --port "$nio_proxy_port" --upstream-port "$upstream_port" & pids+=($!)

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    upstream bench { server 127.0.0.1:$upstream_port; keepalive 64; }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
NGINX
/usr/sbin/nginx -c "$work/nginx/nginx.conf" -g "daemon off;" & pids+=($!)

wait_http "http://127.0.0.1:$aio_port/health/ready"
wait_http "http://127.0.0.1:$governance_ops/health/ready"
wait_http "http://127.0.0.1:$inference_ops/health/ready"
wait_http "http://127.0.0.1:$split_port/health/ready"
wait_http "http://127.0.0.1:$nginx_port/"
wait_http "http://127.0.0.1:$nio_proxy_port/"

for kind in plain stream; do
    stream_field=""
    [[ $kind == stream ]] && stream_field='"stream":true,'
    cat > "$work/$kind.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
wrk.body = '{"model":"bench",$stream_field"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about foxes."}]}'
LUA
done

declare -A urls=(
    [direct]="http://127.0.0.1:$upstream_port/v1/chat/completions"
    [all-in-one]="http://127.0.0.1:$aio_port/v1/chat/completions"
    [split]="http://127.0.0.1:$split_port/v1/chat/completions"
    [nginx]="http://127.0.0.1:$nginx_port/v1/chat/completions"
    [nio-proxy]="http://127.0.0.1:$nio_proxy_port/v1/chat/completions"
)

results="$work/results.txt"
: > "$results"
for kind in plain stream; do
    for target in direct nginx nio-proxy all-in-one split; do
        # Warm up connections, caches and allocators before measuring.
        wrk -t1 -c4 -d2s -s "$work/$kind.lua" "${urls[$target]}" > /dev/null
        wrk -t1 -c1 -d"${seconds}s" --latency -s "$work/$kind.lua" "${urls[$target]}" > "$work/c1.txt"
        wrk -t2 -c64 -d"${seconds}s" -s "$work/$kind.lua" "${urls[$target]}" > "$work/c64.txt"
        python3 - "$kind" "$target" "$work/c1.txt" "$work/c64.txt" >> "$results" <<'PY'
import re, sys
kind, target, c1, c64 = sys.argv[1:5]
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
print(kind, target, micros(t1, 50), micros(t1, 99), rps)
PY
    done
done

python3 - "$results" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
data = {(k, t): (float(p50), float(p99), float(rps)) for k, t, p50, p99, rps in rows}
print("| mode | target | p50 µs | p99 µs | p50 added µs | p99 added µs | req/s @64 | vs direct |")
print("|---|---|---|---|---|---|---|---|")
for kind in ("plain", "stream"):
    base = data[(kind, "direct")]
    for target in ("direct", "nginx", "nio-proxy", "all-in-one", "split"):
        p50, p99, rps = data[(kind, target)]
        added = "" if target == "direct" else f"{p50 - base[0]:.0f} | {p99 - base[1]:.0f}"
        if target == "direct": added = "– | –"
        print(f"| {'stream' if kind == 'stream' else 'non-stream'} | {target} | {p50:.0f} | {p99:.0f} | {added} | {rps:.0f} | {rps / base[2]:.2f}× |")
PY
