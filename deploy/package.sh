#!/usr/bin/env bash
# Builds the Debian packages, version from Cargo.toml:
#   voicecall_<version>_<arch>.deb       the desktop app: binary, desktop entry (also the
#                                        voicecall: link handler), icons, AppStream
#                                        metainfo, man pages
#   voicecall-server_<version>_all.deb   the signaling server with its production
#                                        node_modules, a sandboxed systemd unit, its env
#                                        file, coturn and nginx examples
# Both are checked with desktop-file-validate / appstreamcli validate before they are built.
#
#   deploy/package.sh                     release build (cargo build --release), xz, into target/debian
#   deploy/package.sh --binary PATH       package this binary instead (tests/deb_package.rs
#                                         passes the debug build it already has)
#   deploy/package.sh --out DIR --compression none|gzip|xz
#
# Needs dpkg-dev, librsvg2-bin, desktop-file-utils, appstream, npm (deploy/setup-debian.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

binary=""
out="$repo/target/debian"
compression=xz
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --compression) compression=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "package.sh: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps rsvg-convert desktop-file-validate appstreamcli npm objcopy; do
  command -v "$tool" >/dev/null || fail "$tool is missing (deploy/setup-debian.sh installs it)"
done

# `cargo pkgid` reads the version the way cargo does (path+file:///…#voicecall@0.1.0).
version=$(cargo pkgid -p voicecall --offline 2>/dev/null || cargo pkgid -p voicecall)
version=${version##*[#@]}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "cannot read the version from Cargo.toml (got '$version')"
arch=$(dpkg --print-architecture)
# Reproducible: the date of the last commit, not of the build.
date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
maintainer="voicecall developers <voicecall@localhost>"

if [ -z "$binary" ]; then
  cargo build --release --locked --bin voicecall
  binary="$repo/target/release/voicecall"
fi
[ -x "$binary" ] || fail "$binary is not an executable"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

app_id=org.voicecall.VoiceCall
package_files="$repo/deploy/package"

# Every file root:root, directories 0755, files 0644 unless executable.
finish_tree() {
  local root=$1
  find "$root" -type d -exec chmod 0755 {} +
  find "$root" -type f ! -path "$root/DEBIAN/*" -exec chmod go-w,a+r {} +
  (cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 -r md5sum > DEBIAN/md5sums)
}

installed_size() { du -sk --exclude=DEBIAN "$1" | cut -f1; }

build_deb() {
  local root=$1 name=$2
  dpkg-deb --root-owner-group -Z"$compression" --build "$root" "$out/$name" >/dev/null
  echo "$out/$name"
}

# ---------------------------------------------------------------------------------------
# voicecall (the desktop app)

app="$work/voicecall"
install -d "$app/DEBIAN" "$app/usr/bin" "$app/usr/share/applications" "$app/usr/share/metainfo" \
  "$app/usr/share/man/man1" "$app/usr/share/doc/voicecall"
# Line tables stay in the build for backtraces and profiles; the package needs none.
objcopy --strip-debug "$binary" "$app/usr/bin/voicecall"
chmod 0755 "$app/usr/bin/voicecall"

install -m 0644 "$package_files/$app_id.desktop" "$app/usr/share/applications/"
desktop-file-validate "$app/usr/share/applications/$app_id.desktop"
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" "$package_files/$app_id.metainfo.xml" \
  > "$app/usr/share/metainfo/$app_id.metainfo.xml"
appstreamcli validate --no-net "$app/usr/share/metainfo/$app_id.metainfo.xml" >/dev/null \
  || { appstreamcli validate --no-net "$app/usr/share/metainfo/$app_id.metainfo.xml" || true
       fail "the AppStream metainfo is not valid"; }

icons="$app/usr/share/icons/hicolor"
install -D -m 0644 assets/icons/voicecall.svg "$icons/scalable/apps/$app_id.svg"
for size in 16 24 32 48 64 128 256 512; do
  install -d "$icons/${size}x${size}/apps"
  rsvg-convert -w "$size" -h "$size" assets/icons/voicecall.svg -o "$icons/${size}x${size}/apps/$app_id.png"
done

"$binary" man-pages "$work/man"
for page in "$work/man"/*.1; do
  gzip -9n -c "$page" > "$app/usr/share/man/man1/$(basename "$page").gz"
done
install -m 0644 "$package_files/copyright" "$app/usr/share/doc/voicecall/"

# Libraries the binary links (dpkg-shlibdeps wants a debian/control beside it), plus what
# winit and wgpu open at run time: the X11/Wayland keyboard and cursor libraries, GL/Vulkan.
mkdir -p "$work/shlibs/debian"
printf 'Source: voicecall\n\nPackage: voicecall\nArchitecture: any\n' > "$work/shlibs/debian/control"
linked=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$app/usr/bin/voicecall" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$linked" ] || fail "dpkg-shlibdeps found no libraries for $binary"
runtime_libs="libxkbcommon0, libxkbcommon-x11-0, libx11-6, libx11-xcb1, libxcursor1, libxrandr2, libxi6, libegl1 | libgl1, fonts-dejavu-core | fonts-liberation2"

cat > "$app/DEBIAN/control" <<EOF
Package: voicecall
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(installed_size "$app")
Depends: $linked, $runtime_libs
Recommends: libvulkan1, xdg-utils
Suggests: voicecall-server
Section: net
Priority: optional
Description: peer-to-peer voice calls by short ID
 voicecall calls people by a short ID (k7m-q2x-9fd): share yours or a call link,
 type theirs, press Call; their app rings with Accept and Decline. Audio goes
 straight between the two computers (Opus over WebRTC, DTLS-SRTP), or through a
 TURN relay. A signaling server (package voicecall-server, or someone else's)
 introduces the two apps. Opens voicecall: call links; incoming calls show a
 desktop notification while the window is in the background.
EOF
finish_tree "$app"
build_deb "$app" "voicecall_${version}_${arch}.deb"

# ---------------------------------------------------------------------------------------
# voicecall-server (the signaling server)

srv="$work/voicecall-server"
share="$srv/usr/share/voicecall-server"
doc="$srv/usr/share/doc/voicecall-server"
install -d "$srv/DEBIAN" "$share" "$doc/examples/coturn" "$doc/examples/nginx" \
  "$srv/lib/systemd/system" "$srv/etc/voicecall"
cp -r signaling-server/src signaling-server/public "$share/"
install -m 0644 signaling-server/package.json signaling-server/package-lock.json \
  signaling-server/PROTOCOL.md "$share/"
# Production dependencies only, from the lock file; no install scripts run. The optional
# ones are native add-ons (bufferutil: WebSocket unmasking in C, which ws falls back from to
# JavaScript) and would make the package architecture-specific: left out.
(cd "$share" && npm ci --omit=dev --omit=optional --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
native=$(find "$share/node_modules" -name '*.node' -print -quit)
[ -z "$native" ] || fail "native module $native: the server package could not be Architecture: all"

# The deploy unit, pointed at the packaged server; nothing else changes in it.
sed -e 's#/opt/voicecall/signaling-server#/usr/share/voicecall-server#g' \
    -e 's#^\# /etc/systemd/system/voicecall-signaling.service#\# /lib/systemd/system/voicecall-signaling.service (package voicecall-server)#' \
  deploy/systemd/voicecall-signaling.service > "$srv/lib/systemd/system/voicecall-signaling.service"
! grep -q /opt/ "$srv/lib/systemd/system/voicecall-signaling.service" \
  || fail "the packaged unit still points into /opt"
# The env file: the deploy one, with the example TURN/STUN servers commented out so a
# fresh install hands clients no servers that do not exist.
sed -e 's/^\(STUN_URLS=\)/#\1/' -e 's/^\(TURN_URLS=\)/#\1/' \
  deploy/systemd/signaling.env > "$srv/etc/voicecall/signaling.env"
# The unit hands the server a TURN secret, and the server refuses a secret without TURN
# URLs; with none set yet, the env file (which overrides the unit's Environment=) unsets it.
cat >> "$srv/etc/voicecall/signaling.env" <<'ENV'

# No TURN server is set up yet, so the TURN secret the unit hands over stays unused.
# Once TURN_URLS is set above, delete this line to hand out TURN credentials.
TURN_SECRET_FILE=
ENV
echo /etc/voicecall/signaling.env > "$srv/DEBIAN/conffiles"

install -m 0644 deploy/coturn/turnserver.conf deploy/coturn/coturn-voicecall.conf \
  deploy/coturn/README.md "$doc/examples/coturn/"
install -m 0755 deploy/coturn/render-turnserver-conf.sh "$doc/examples/coturn/"
install -m 0644 deploy/nginx/voicecall.conf "$doc/examples/nginx/"
install -m 0644 deploy/README.md "$doc/README.deploy.md"
install -m 0644 "$package_files/copyright" "$doc/"
install -m 0755 "$package_files/server/postinst" "$package_files/server/prerm" \
  "$package_files/server/postrm" "$srv/DEBIAN/"

cat > "$srv/DEBIAN/control" <<EOF
Package: voicecall-server
Version: $version
Architecture: all
Maintainer: $maintainer
Installed-Size: $(installed_size "$srv")
Depends: nodejs (>= 20), init-system-helpers (>= 1.54)
Suggests: coturn, nginx, redis-server
Section: net
Priority: optional
Description: signaling server for voicecall
 Hands out short, stable client IDs, relays call setup between voicecall apps,
 issues short-lived TURN credentials and can run as a Redis-backed cluster.
 Runs as the sandboxed systemd service voicecall-signaling (DynamicUser,
 read-only system), configured in /etc/voicecall/signaling.env; listens on
 127.0.0.1:3000 for a TLS reverse proxy. Examples for coturn and nginx are in
 /usr/share/doc/voicecall-server/examples.
EOF
finish_tree "$srv"
chmod 0755 "$doc/examples/coturn/render-turnserver-conf.sh"
build_deb "$srv" "voicecall-server_${version}_all.deb"
