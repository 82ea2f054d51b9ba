#!/usr/bin/env bash
# Every test: the signaling server's (Node) and the engine's (Rust), plus format and lints.
set -euo pipefail
# Incremental caches only pay off on rebuilds; in CI they doubled the target dir.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cd "$(dirname "$0")/.."
# Every timed check stalls when the hypervisor takes the CPU (steal); a failed run's log
# should say how much it took (docs/quality.md, "The host's stolen CPU time").
cpu_line() { head -n 1 /proc/stat 2>/dev/null || true; }
steal_report() {
  local start="$1" end
  end=$(cpu_line)
  [ -n "$start" ] && [ -n "$end" ] || return 0
  # Fields after "cpu": user nice system idle iowait irq softirq steal.
  awk -v a="$start" -v b="$end" -v load="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" 'BEGIN {
    split(a, x); split(b, y); total = 0
    for (i = 2; i <= 9; i++) total += y[i] - x[i]
    if (total > 0) printf "CPU time stolen by the hypervisor during the tests: %.1f %%; load average %s\n", (y[9] - x[9]) * 100 / total, load
  }' </dev/null
}
cpu_at_start=$(cpu_line)
trap 'steal_report "$cpu_at_start"' EXIT
(cd signaling-server && npm test)
# The web client in chromium (screens at two widths, browser calls), in a loopback-only namespace.
(cd signaling-server && npm run test:browser)
cargo fmt --all -- --check
deploy/check-layers.sh
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --all-targets --locked
