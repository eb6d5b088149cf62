#!/usr/bin/env bash
# Regenerates the Swift code under Generated/ from the .proto files under Protos/.
#
#   scripts/generate-protos.sh                 # regenerate Generated/ in place
#   scripts/generate-protos.sh --output DIR    # write into DIR instead (used by check-generated-code.sh)
#
# Needs `protoc` (Debian: apt-get install protobuf-compiler; generated with 3.21.12). The two protoc plugins
# are built in release from the pinned tools package scripts/protoc-plugins/ when they are missing or
# report another version than the pins (a few minutes the first time). Set PROTOC to use another protoc.
#
# The output is deterministic: the same protos, protoc and plugin versions give byte-identical files.
# Every *.pb.swift and *.grpc.swift file in the output directory is deleted first, so code of removed
# protos disappears; other files there are left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROTO_DIR="$ROOT/Protos"
OUT_DIR="$ROOT/Generated"
TOOLS_DIR="$ROOT/scripts/protoc-plugins"
SCRATCH_DIR="$TOOLS_DIR/.build"
BIN_DIR="$SCRATCH_DIR/release"

# Plugin versions pinned in scripts/protoc-plugins/Package.swift, and the protoc the code was made with.
SWIFT_PLUGIN_VERSION="1.39.0"
GRPC_PLUGIN_VERSION="2.4.1"
EXPECTED_PROTOC="libprotoc 3.21.12"

# Options shared by both plugins: `package` access (the consumers are other targets of this package) and
# file names from the proto path (sluice/rag/v1/rag.proto -> sluice_rag_v1_rag.*.swift), so that all
# services compile as one flat module without name clashes.
SWIFT_OPTS="Visibility=Package,FileNaming=PathToUnderscores"
GRPC_OPTS="Visibility=Package,FileNaming=PathToUnderscores,Server=true,Client=true"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --output)
      [[ $# -ge 2 ]] || { echo "error: --output needs a directory" >&2; exit 2; }
      OUT_DIR="$2"
      shift 2
      ;;
    -h | --help)
      sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "error: unknown argument '$1' (see --help)" >&2
      exit 2
      ;;
  esac
done

PROTOC="${PROTOC:-protoc}"
if ! command -v "$PROTOC" > /dev/null 2>&1; then
  echo "error: protoc not found; install it with 'apt-get install -y protobuf-compiler'" >&2
  exit 1
fi
protoc_version="$("$PROTOC" --version)"
if [[ "$protoc_version" != "$EXPECTED_PROTOC" ]]; then
  echo "warning: $protoc_version found, the committed code was generated with $EXPECTED_PROTOC" >&2
fi

# Prints the version a plugin binary reports, or nothing when it is missing or broken.
plugin_version() {
  [[ -x "$1" ]] && "$1" --version 2> /dev/null | awk '{ print $2 }' || true
}

# Builds one plugin product of the tools package unless the binary is there with the pinned version.
ensure_plugin() {
  local product="$1" version="$2"
  if [[ "$(plugin_version "$BIN_DIR/$product")" == "$version" ]]; then
    return
  fi
  echo "Building $product $version (release; takes a few minutes the first time)..." >&2
  swift build -c release \
    --package-path "$TOOLS_DIR" \
    --scratch-path "$SCRATCH_DIR" \
    --product "$product" >&2
  if [[ "$(plugin_version "$BIN_DIR/$product")" != "$version" ]]; then
    echo "error: $BIN_DIR/$product does not report version $version;" \
      "check the pins in scripts/protoc-plugins/Package.swift" >&2
    exit 1
  fi
}

ensure_plugin protoc-gen-swift "$SWIFT_PLUGIN_VERSION"
ensure_plugin protoc-gen-grpc-swift-2 "$GRPC_PLUGIN_VERSION"

# Proto paths relative to Protos/, in a locale-independent order. They are recorded in the generated file
# headers, so they must not depend on where the repository is checked out.
protos=()
while IFS= read -r -d '' file; do
  protos+=("${file#"$PROTO_DIR"/}")
done < <(find "$PROTO_DIR" -type f -name '*.proto' -print0 | LC_ALL=C sort -z)
if [[ ${#protos[@]} -eq 0 ]]; then
  echo "error: no .proto files under $PROTO_DIR" >&2
  exit 1
fi

mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
find "$OUT_DIR" -type f \( -name '*.pb.swift' -o -name '*.grpc.swift' \) -delete

(
  cd "$PROTO_DIR"
  "$PROTOC" \
    --proto_path=. \
    --plugin=protoc-gen-swift="$BIN_DIR/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift-2="$BIN_DIR/protoc-gen-grpc-swift-2" \
    --swift_out="$OUT_DIR" \
    --swift_opt="$SWIFT_OPTS" \
    --grpc-swift-2_out="$OUT_DIR" \
    --grpc-swift-2_opt="$GRPC_OPTS" \
    "${protos[@]}"
)

echo "Generated $(find "$OUT_DIR" -type f \( -name '*.pb.swift' -o -name '*.grpc.swift' \) | wc -l | tr -d ' ')" \
  "files in ${OUT_DIR#"$ROOT"/} from ${#protos[@]} protos."
