#!/usr/bin/env bash
# Synapse (the Matrix homeserver the Matrix channel is tested against) in its own virtual
# environment, .venv-synapse: Synapse pins its own Twisted/attrs/pydantic versions, so it never
# shares the core's .venv. Idempotent and fast when Synapse is already installed.
#   scripts/setup-synapse.sh            # install if missing
#   SYNAPSE_PYTHON=python3.12 SYNAPSE_VENV=/opt/synapse-venv scripts/setup-synapse.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SYNAPSE_VENV:-.venv-synapse}"
SPEC="matrix-synapse>=1.120,<2"
STAMP="$VENV/.amtsbote-spec"

if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$SPEC" ]; then
  exit 0
fi
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import synapse.app.homeserver' 2>/dev/null; then
  echo "$SPEC" > "$STAMP"   # installed before the stamp existed
  exit 0
fi

find_python() {
  for c in "${SYNAPSE_PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 \
        && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  return 1
}
PY=$(find_python) || { echo "Synapse needs Python 3.10 or newer (set SYNAPSE_PYTHON)." >&2; exit 1; }

echo "Installing Synapse into $VENV ($($PY --version))"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q "$SPEC"
"$VENV/bin/python" -c 'import synapse.app.homeserver'
echo "$SPEC" > "$STAMP"
