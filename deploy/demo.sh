#!/usr/bin/env bash
# A loopback demo call: starts the bundled signaling server, then two headless clients
# ("alice" calls "bob") that talk with the speech files in assets/audio/ and record what
# they hear. Prints what happened and where the recordings are.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/voicecall"
out=${VOICECALL_DEMO_DIR:-$(mktemp -d -t voicecall-demo.XXXXXX)}
mkdir -p "$out"

server_log="$out/server.log"
(cd signaling-server && PORT=0 HOST=127.0.0.1 exec node src/index.js) >"$server_log" 2>&1 &
server_pid=$!
pids=("$server_pid")
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

port=""
for _ in $(seq 100); do
  port=$(grep -o '"msg":"listening".*"port":[0-9]*' "$server_log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "the signaling server did not start:"; cat "$server_log"; exit 1; }
url="http://127.0.0.1:$port"
echo "signaling server: $url"

"$bin" listen --server "$url" --bind 127.0.0.1 --auto-accept --once \
  --input assets/audio/speech-b.wav --output "$out/bob-heard.wav" >"$out/bob.log" 2>&1 &
pids+=($!)
bob_pid=$!
for _ in $(seq 100); do [ -s "$out/bob.log" ] && break; sleep 0.1; done
bob_id=$(head -n 1 "$out/bob.log")
echo "bob is listening as $bob_id"

echo "alice calls bob for 7 seconds:"
"$bin" call "$bob_id" --server "$url" --bind 127.0.0.1 --duration 7s \
  --input assets/audio/speech-a.wav --output "$out/alice-heard.wav" 2>&1 | sed 's/^/  [alice] /'
wait "$bob_pid" || true
sed 's/^/  [bob]   /' "$out/bob.log"

echo
echo "recordings (48 kHz mono WAV):"
echo "  what bob heard (alice's speech):   $out/bob-heard.wav"
echo "  what alice heard (bob's speech):   $out/alice-heard.wav"
