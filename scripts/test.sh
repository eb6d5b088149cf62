#!/usr/bin/env bash
# Installs the test clients, builds, and runs every test: the Swift suites, then the OpenAI-SDK conformance
# suite against a running Sluice (all-in-one and split mode) with mock upstreams.
#
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
export SLUICE_DATA_DIR="${SLUICE_DATA_DIR:-${root}/.sluice}"

scripts/setup.sh --test

export SLUICE_TEST_PYTHON="${root}/.venv/bin/python3"
export SLUICE_TOKENIZER_FILE="${SLUICE_DATA_DIR}/tokenizers/cl100k_base.tiktoken"

swift build --build-tests
swift test --skip-build

export SLUICE_BIN="${root}/.build/debug/sluice"
.venv/bin/python3 -m pytest Tests/conformance -q -p no:cacheprovider
