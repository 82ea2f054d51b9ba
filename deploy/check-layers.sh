#!/usr/bin/env bash
# The layers (docs/architecture.md), checked on the dependency graph: the compiler already
# refuses imports a crate does not depend on, so it is enough that no crate depends on
# what its layer may not see.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
forbid() { # crate, then the packages it must not reach through its normal dependencies
  local crate=$1; shift
  local reached
  reached=$(cargo tree --locked -p "$crate" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  for banned in "$@"; do
    if grep -qx "$banned" <<<"$reached"; then
      echo "layer violation: $crate depends on $banned" >&2
      cargo tree --locked -p "$crate" -e normal -i "$banned" >&2 || true
      status=1
    fi
  done
}

# The sans-IO core: no runtime, network, audio, codec or UI.
forbid voicecall-core tokio webrtc rtc rust_socketio cpal opus iced voicecall-engine voicecall-lab
# The engine: no UI, and never the test tooling.
forbid voicecall-engine iced arboard voicecall-lab
# The app ships without the test tooling.
forbid voicecall voicecall-lab
[ $status -eq 0 ] && echo "layers ok: core ⟂ {tokio, webrtc, cpal, opus, iced}; engine ⟂ {iced, lab}; app ⟂ lab"
exit $status
