#!/usr/bin/env bash
# voicecall beside Chromium: PESQ-WB of calls voicecall ↔ Chromium, Chromium ↔ Chromium and
# voicecall ↔ voicecall in the same run, relay-only through coturn, clean and at 10 % loss
# (see benches/browser_quality.rs). Prints Markdown tables (also written to
# target/browser-quality-bench/report.md). Needs chromium and signaling-server/node_modules.
#
#   benches/browser_quality.sh                           # 5 repetitions, both conditions
#   benches/browser_quality.sh --repeat 2 --conditions 0,5b --kinds mixed,chromium
#   benches/browser_quality.sh --help                    # every option; conditions as in quality.rs
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/pesq_venv.sh
exec cargo bench --bench browser_quality -- "$@"
