#!/usr/bin/env bash
# Speech quality of the send path alone (capture processing, DTX, Opus), no network: the
# quality benchmark's passages encoded and decoded in process and scored with wideband PESQ.
# Deterministic, so sender settings can be compared without the machine's load in them.
#
#   benches/send_quality.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/pesq_venv.sh
exec cargo bench --bench send_quality -- "$@"
