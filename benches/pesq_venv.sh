# Sourced by the PESQ benchmarks' scripts: a Python venv with pesq, numpy and scipy under
# the target dir (made once), named in VOICECALL_PESQ_PYTHON for support::pesq.
target="${CARGO_TARGET_DIR:-target}"
venv="$target/pesq-venv"
if ! "$venv/bin/python" -c 'import pesq, numpy, scipy' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet pesq numpy scipy
fi
(cd signaling-server && [ -d node_modules ] || npm ci --silent)
# Not realpath: that resolves the venv's symlink to the system python, without the venv's packages.
export VOICECALL_PESQ_PYTHON="$(cd "$venv/bin" && pwd)/python"
