#!/usr/bin/env bash
# Runs every benchmark in release mode and collects their tables into one Markdown file
# (default docs/benchmarks-latest.md; pass a path to write elsewhere). Benchmarks print
# numbers beside a baseline from the same run and never fail on a threshold.
# Needs what deploy/setup-debian.sh installs (coturn, Xvfb, Python for PESQ).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-docs/benchmarks-latest.md}")
mkdir -p "$(dirname "$out")"
{
  echo "# voicecall benchmarks"
  echo
  echo "Produced by \`benches/run-all.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
} >"$out"
export VOICECALL_BENCH_OUT="$out"
(cd signaling-server && [ -d node_modules ] || npm ci --silent)
cargo build --release --locked --bins --quiet
for bench in setup_time latency cost echo; do
  echo "== $bench" >&2
  cargo bench --locked --quiet --bench "$bench"
done
if [ -x benches/quality.sh ]; then
  echo "== quality" >&2
  benches/quality.sh
fi
if [ -x benches/browser_quality.sh ]; then
  echo "== browser_quality" >&2
  benches/browser_quality.sh
fi
echo "tables written to $out" >&2
