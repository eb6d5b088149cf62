#!/usr/bin/env bash
# Formats the Swift sources with the checked-in .swift-format (generated code excluded).
#
# Usage: scripts/format.sh          format in place
#        scripts/format.sh --check  fail, listing the files, if formatting would change anything
set -euo pipefail
cd "$(dirname "$0")/.."
files=(Package.swift scripts/protoc-plugins/Package.swift)
while IFS= read -r file; do files+=("$file"); done < <(git ls-files 'Sources/*.swift' 'Tests/*.swift')
if [[ "${1:-}" == "--check" ]]; then
    changed=()
    for file in "${files[@]}"; do
        if ! diff -q <(swift format format --configuration .swift-format "$file") "$file" >/dev/null; then
            changed+=("$file")
        fi
    done
    if ((${#changed[@]} > 0)); then
        printf 'format: not formatted (run scripts/format.sh):\n' >&2
        printf '  %s\n' "${changed[@]}" >&2
        exit 1
    fi
    echo "format: ${#files[@]} files are formatted"
else
    swift format format --configuration .swift-format --in-place --parallel "${files[@]}"
fi
