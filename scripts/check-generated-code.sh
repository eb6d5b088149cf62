#!/usr/bin/env bash
# Checks that the committed code under Generated/ is exactly what scripts/generate-protos.sh produces from
# Protos/ (so nobody edited generated code by hand or forgot to regenerate after changing a .proto).
#
#   scripts/check-generated-code.sh                           # check if the plugins are built, else skip
#   SLUICE_CHECK_GENERATED=1 scripts/check-generated-code.sh  # build the plugins if needed, then check
#
# Building the protoc plugins takes minutes, so without SLUICE_CHECK_GENERATED=1 the check is skipped (exit
# 0 with a message) when they are not built yet. It also needs `protoc`; a missing protoc skips the same way
# unless SLUICE_CHECK_GENERATED=1, which turns it into an error.
#
# Exit status: 0 when up to date or skipped, 1 when Generated/ differs (the diff is printed), 2 on setup
# errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$ROOT/scripts/protoc-plugins/.build/release"
FORCE="${SLUICE_CHECK_GENERATED:-0}"

skip() {
  echo "check-generated-code: SKIPPED: $1." \
    "Set SLUICE_CHECK_GENERATED=1 to build what is missing and run the check." >&2
  exit 0
}

if [[ "$FORCE" != "1" ]]; then
  command -v "${PROTOC:-protoc}" > /dev/null 2>&1 || skip "protoc is not installed"
  for plugin in protoc-gen-swift protoc-gen-grpc-swift-2; do
    [[ -x "$BIN_DIR/$plugin" ]] || skip "the protoc plugins are not built ($BIN_DIR/$plugin is missing)"
  done
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/sluice-generated.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# Start from a copy of Generated/ so files the generator does not own (if any) compare equal, then let the
# generator delete and rewrite its own files exactly as it would in the repository.
if [[ -d "$ROOT/Generated" ]]; then
  cp -R "$ROOT/Generated/." "$TMP/"
fi
if ! "$ROOT/scripts/generate-protos.sh" --output "$TMP" > /dev/null; then
  echo "check-generated-code: error: scripts/generate-protos.sh failed" >&2
  exit 2
fi

if ! diff -r -u "$ROOT/Generated" "$TMP"; then
  echo >&2
  echo "check-generated-code: FAILED: Generated/ is out of date with Protos/ (diff above)." >&2
  echo "Run scripts/generate-protos.sh and commit the result; never edit Generated/ by hand." >&2
  exit 1
fi
echo "check-generated-code: Generated/ is up to date with Protos/."
