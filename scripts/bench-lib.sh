# Shared by scripts/bench.sh and scripts/bench-compare.sh; sourced, not run.
#
# After sourcing: `$bench_bin` is the `sluice-bench` tools (SLUICE_BENCH_TOOLS, or a release build), `$work` a
# temporary directory removed on exit, `pids` an array whose processes are stopped on exit, and `free_port` and
# `wait_http URL` are defined. wrk is installed if missing and the tokenizer fetched.

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
scripts/fetch-tokenizer.sh >/dev/null
# The benchmark tools (the fixed-answer upstream, the bare NIO proxy) live in `sluice-bench`, outside the product.
export SLUICE_BENCHMARKS=1
if [[ -n "${SLUICE_BENCH_TOOLS:-}" ]]; then
    bench_bin="$SLUICE_BENCH_TOOLS"
else
    swift build -c release --scratch-path .build-release --product sluice-bench >/dev/null
    bench_bin="$(swift build -c release --scratch-path .build-release --show-bin-path)/sluice-bench"
fi

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

# bench_instance DIR BIN: writes DIR/config.json (data in DIR/data with the tokenizer, one `bench` model on the
# fixed-answer upstream at $upstream_port, priced by DIR/price-book.json), exports SLUICE_CONFIG to it, and sets `key` to a new API key made by BIN.
bench_instance() {
    local dir="$1" sluice="$2"
    mkdir -p "$dir/data/tokenizers"
    cp "${SLUICE_DATA_DIR:-./.sluice}/tokenizers/cl100k_base.tiktoken" "$dir/data/tokenizers/"
    cat > "$dir/config.json" <<JSON
{
  "data_dir": "$dir/data",
  "log_level": "warning",
  "providers": [ { "name": "bench", "kind": "openai", "base_url": "http://127.0.0.1:$upstream_port/v1" } ],
  "models": [ { "name": "bench", "deployments": [ { "provider": "bench", "model": "bench" } ] } ],
  "governance": { "price_book_file": "$dir/price-book.json" }
}
JSON
    # The bench model priced as gpt-4o-mini, so that the ledger and money budgets have real costs to count.
    cat > "$dir/price-book.json" <<JSON
{ "version": "bench-1", "prices": [
  { "model": "bench", "effective_from": "2024-01-01", "input": 150000, "output": 600000 } ] }
JSON
    export SLUICE_CONFIG="$dir/config.json"
    key=$("$sluice" keys create --tenant bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
}

# bench_lua FILE KEY KIND: a wrk script posting the benchmark's chat request with KEY; KIND `stream` asks for SSE.
bench_lua() {
    local stream_field=""
    [[ $3 == stream ]] && stream_field='"stream":true,'
    cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
wrk.body = '{"model":"bench",$stream_field"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about foxes."}]}'
LUA
}
