#!/bin/sh
# Render coturn's config with the TURN secret filled in.
#
#   render-turnserver-conf.sh TEMPLATE OUTPUT [SECRET_FILE]
#
# SECRET_FILE defaults to $CREDENTIALS_DIRECTORY/turn-secret (systemd's
# LoadCredential=turn-secret:/etc/voicecall/turn-secret). The secret is read
# from the file by awk, never passed as an argument, so it does not show up
# in `ps`. OUTPUT is written with mode 0600. Fails if the template lacks
# exactly one "static-auth-secret=__VOICECALL_TURN_SECRET__" line or the
# secret is empty or contains whitespace.
set -eu

template=${1:?usage: render-turnserver-conf.sh TEMPLATE OUTPUT [SECRET_FILE]}
output=${2:?usage: render-turnserver-conf.sh TEMPLATE OUTPUT [SECRET_FILE]}
secret_file=${3:-${CREDENTIALS_DIRECTORY:-/nonexistent}/turn-secret}
placeholder='static-auth-secret=__VOICECALL_TURN_SECRET__'

if [ ! -r "$secret_file" ]; then
  echo "render-turnserver-conf: cannot read the TURN secret file $secret_file" >&2
  exit 1
fi
count=$(grep -c -x -F "$placeholder" "$template" || true)
if [ "$count" != 1 ]; then
  echo "render-turnserver-conf: $template must contain the line '$placeholder' exactly once (found $count)" >&2
  exit 1
fi

umask 077
tmp="$output.tmp.$$"
# First line of the secret file, surrounding whitespace (the newline an
# editor or `echo` leaves) trimmed, like the signaling server does.
if ! awk -v secret_file="$secret_file" -v placeholder="$placeholder" '
  BEGIN {
    if ((getline secret < secret_file) <= 0) exit 2
    gsub(/^[ \t\r]+|[ \t\r]+$/, "", secret)
    if (secret == "" || secret ~ /[ \t]/) exit 3
  }
  $0 == placeholder { print "static-auth-secret=" secret; next }
  { print }
' "$template" > "$tmp"; then
  rm -f "$tmp"
  echo "render-turnserver-conf: the secret in $secret_file is empty or contains whitespace" >&2
  exit 1
fi
mv -f "$tmp" "$output"
