#!/usr/bin/env bash
# The test emulator for the live collector: moto on loopback, seeded with a failed StackSet deployment
# (scripts/EMULATOR.md).
#   scripts/emulator.sh install   make .venv hold the moto pinned in scripts/emulator-requirements.txt
#   scripts/emulator.sh run [--scenario reference|scale] [--accounts N] [--failed K] [args...]
#                                 install if needed, then serve; prints `READY http://127.0.0.1:<port>`
#                                 on stdout and exits when stdin reaches EOF or the parent dies.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
requirements="$root/scripts/emulator-requirements.txt"
moto_version="$(sed -n 's/^moto\[server\]==\([0-9][0-9.]*\).*/\1/p' "$requirements")"
name=emulator
pinned="moto $moto_version"
min_python=3.10
# shellcheck source=scripts/venv.sh
. "$root/scripts/venv.sh"

# True when .venv already has the pinned moto and the server extras it needs: keeps `run` quick.
installed() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$moto_version" 2>/dev/null <<'PY'
import sys
import flask, flask_cors, moto, werkzeug  # noqa: F401
sys.exit(moto.__version__ != sys.argv[1])
PY
}

case "${1:-}" in
  install)
    venv_install
    echo "emulator: $venv has moto $moto_version" >&2
    ;;
  run)
    shift
    venv_install
    # exec: the emulator takes this script's place, so its parent is our caller, whose death ends it.
    # The caller's pid goes along in case it dies before the emulator is up to look.
    EMULATOR_PARENT_PID=$PPID exec "$venv/bin/python" "$root/scripts/emulator.py" "$@"
    ;;
  *)
    echo "usage: $0 install | run [--scenario reference|scale] [--accounts N] [--failed K] [args...]" >&2
    exit 2
    ;;
esac
