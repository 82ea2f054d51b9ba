#!/usr/bin/env bash
# Installs what voicecall needs to build, run and test on a fresh Debian 12, then fetches
# the signaling server's packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

packages=(
  build-essential cmake pkg-config       # the opus crate builds libopus with cmake
  libssl-dev openssl                     # TLS for signaling (wss) and TURN over TLS; test certificates
  libasound2-dev libopus-dev             # cpal (ALSA) and Opus headers
  libxkbcommon-dev libxkbcommon-x11-0 libwayland-dev libx11-dev libxcursor1 libxrandr2 libxi6
  libgl1 libegl1 libvulkan1 fonts-dejavu-core  # the iced window (software or GPU renderer)
  xvfb xdotool x11-utils imagemagick     # headless window tests and screenshots
  tesseract-ocr                          # reads the labels in window test screenshots
  espeak-ng sox                          # speech for audio tests
  coturn redis-server                    # STUN/TURN and the signaling cluster's store
  chromium                               # the web client's browser tests (puppeteer-core)
  iproute2 iptables conntrack            # network namespaces for NAT tests, mapping flushes
  dpkg-dev librsvg2-bin                  # deploy/package.sh: library dependencies, PNG icons
  desktop-file-utils appstream           # validate the desktop entry and AppStream metainfo
  xdg-utils libglib2.0-bin dbus          # call links via xdg-open, gio launch, a session bus
  init-system-helpers                    # tests/deb_install.rs: the server package's scripts
  python3 python3-venv                   # PESQ benchmarks
  ca-certificates curl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian 12 ships Node 18; the server needs 20+. Use the machine's Node if it is new enough.
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "voicecall needs Node.js 20 or newer (https://nodejs.org or NodeSource's deb)" >&2
  exit 1
fi
if ! command -v cargo >/dev/null; then
  echo "voicecall needs Rust (https://rustup.rs)" >&2
  exit 1
fi

(cd signaling-server && npm ci --no-audit --no-fund --loglevel=error)
