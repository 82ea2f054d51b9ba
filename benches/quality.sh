#!/usr/bin/env bash
# Speech quality benchmark: wideband PESQ of espeak-ng speech through two real clients,
# DTLS-SRTP, relay-only through coturn with the netem relay impairing the media, for our
# receive/send design and a naive one, plus the CPU cost of noise suppression and echo
# cancellation. Prints Markdown tables (also written to target/quality-bench/report.md).
#
#   benches/quality.sh                 # every condition, ours vs naive
#   benches/quality.sh --modes ours,naive,nored --conditions 0,10r
#   benches/quality.sh --repeat 2      # average over two seeds per condition
#   QUALITY_PROFILE=dev benches/quality.sh   # the test profile's build (dependencies
#                                            # optimised, no release build needed)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/pesq_venv.sh
if [ "${QUALITY_PROFILE:-release}" = dev ]; then
  VOICECALL_QUALITY_BENCH=1 exec cargo test --bench quality -- "$@"
fi
exec cargo bench --bench quality -- "$@"
