#!/usr/bin/env bash
# Every test: the signaling server's (Node) and the engine's (Rust), plus format and lints.
set -euo pipefail
# Incremental caches only pay off on rebuilds; in CI they doubled the target dir.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cd "$(dirname "$0")/.."
(cd signaling-server && npm test)
# The web client in chromium (screens at two widths, browser calls), in a loopback-only namespace.
(cd signaling-server && npm run test:browser)
cargo fmt --all -- --check
deploy/check-layers.sh
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --all-targets --locked
