#!/usr/bin/env bash
# Sets up, builds and starts Sluice on embedded defaults (all services in one process, SQLite, echo model).
#
# Usage: scripts/serve.sh [sluice serve arguments…]
# Environment: SLUICE_CONFIG, SLUICE_DATA_DIR, SLUICE_HTTP_PORT and the rest of the configuration reference.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product sluice
exec .build/debug/sluice serve "$@"
