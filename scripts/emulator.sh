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

# True when .venv already has the pinned moto and the server extras it needs: keeps `run` quick.
installed() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$moto_version" 2>/dev/null <<'PY'
import sys
import flask, flask_cors, moto, werkzeug  # noqa: F401
sys.exit(moto.__version__ != sys.argv[1])
PY
}

install() {
  installed && return 0
  # Tests may start several emulators at once on a machine that has none installed yet: one installs,
  # the others wait for it, then find it done. (fd 9 is closed before `run` execs the emulator.)
  if command -v flock >/dev/null 2>&1; then
    exec 9<"$requirements"
    flock 9
    installed || install_now
    exec 9<&-
  else
    install_now
  fi
}

install_now() {
  if ! command -v python3 >/dev/null 2>&1; then
    echo "emulator: python3 (3.10 or newer) is required and was not found on PATH" >&2
    exit 1
  fi
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "emulator: moto $moto_version needs Python 3.10 or newer; python3 is $(python3 -V 2>&1)" >&2
    exit 1
  fi
  if [ ! -x "$venv/bin/python" ]; then
    # --system-site-packages: on a machine that already has the pinned packages, pip installs nothing.
    python3 -m venv --system-site-packages "$venv" || {
      echo "emulator: 'python3 -m venv' failed (on Debian and Ubuntu: install the python3-venv package)" >&2
      exit 1
    }
  fi
  # pip talks on stdout; `run` keeps stdout for the READY line alone.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 || {
    echo "emulator: pip install failed (see above); to start over: rm -rf $venv" >&2
    exit 1
  }
  installed || {
    echo "emulator: moto $moto_version is still not importable from $venv after pip install" >&2
    exit 1
  }
}

case "${1:-}" in
  install)
    install
    echo "emulator: $venv has moto $moto_version" >&2
    ;;
  run)
    shift
    install
    # exec: the emulator takes this script's place, so its parent is our caller, whose death ends it.
    # The caller's pid goes along in case it dies before the emulator is up to look.
    EMULATOR_PARENT_PID=$PPID exec "$venv/bin/python" "$root/scripts/emulator.py" "$@"
    ;;
  *)
    echo "usage: $0 install | run [--scenario reference|scale] [--accounts N] [--failed K] [args...]" >&2
    exit 2
    ;;
esac
