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
if [ -x benches/send_quality.sh ]; then
  echo "== send_quality" >&2
  benches/send_quality.sh
fi
if [ -x benches/browser_quality.sh ]; then
  echo "== browser_quality" >&2
  # Issue 17's rows (5 calls each, clean and 10 % loss), then Chromium beside us on the
  # quality benchmark's other lines (3 calls each), so every row has its Chromium column.
  benches/browser_quality.sh
  benches/browser_quality.sh --repeat 3 --conditions 5r,20r,5b,jit
fi
echo "tables written to $out" >&2
