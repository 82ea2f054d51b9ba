#!/usr/bin/env bash
# Offline replay of received RTP traces (VOICECALL_RX_TRACE) through the receive path,
# recorded and ideal arrivals, each scored with wideband PESQ (benches/rx_replay.rs).
# Deterministic: the same trace gives the same numbers.
#
#   benches/rx_replay.sh TRACE.bin...
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/pesq_venv.sh
exec cargo bench --bench rx_replay -- "$@"
