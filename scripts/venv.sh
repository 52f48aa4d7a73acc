# shellcheck shell=bash
# One pinned Python environment for a project script, sourced by scripts/emulator.sh (moto) and scripts/cfn-lint.sh.
# The sourcing script sets `name` (its messages' prefix), `venv`, `requirements`, `pinned` (what the messages call
# the pinned package, e.g. "moto 5.2.1"), optionally `min_python` (e.g. 3.10), and defines `installed`, true when
# $venv already holds what $requirements pins (so `run` stays quick).

# Install once: tests may start several emulators or linters at once on a machine that has none installed yet; one
# installs, the others wait for it, then find it done. (fd 9 is closed again before the caller execs.)
venv_install() {
  installed && return 0
  if command -v flock >/dev/null 2>&1; then
    exec 9<"$requirements"
    flock 9
    installed || venv_install_now
    exec 9<&-
  else
    venv_install_now
  fi
}

venv_install_now() {
  if ! command -v python3 >/dev/null 2>&1; then
    echo "$name: python3${min_python:+ ($min_python or newer)} is required and was not found on PATH" >&2
    exit 1
  fi
  if [ -n "${min_python:-}" ] && ! python3 - "$min_python" <<'PY'
import sys
sys.exit(sys.version_info < tuple(int(p) for p in sys.argv[1].split(".")))
PY
  then
    echo "$name: $pinned needs Python $min_python or newer; python3 is $(python3 -V 2>&1)" >&2
    exit 1
  fi
  if [ ! -x "$venv/bin/python" ]; then
    # --system-site-packages: on a machine that already has the pinned packages, pip installs nothing.
    python3 -m venv --system-site-packages "$venv" || {
      echo "$name: 'python3 -m venv' failed (on Debian and Ubuntu: install the python3-venv package)" >&2
      exit 1
    }
  fi
  # pip talks on stdout; callers keep stdout for their own output (the emulator's READY line).
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 || {
    echo "$name: pip install failed (see above); to start over: rm -rf $venv" >&2
    exit 1
  }
  installed || {
    echo "$name: $pinned is still not importable from $venv after pip install" >&2
    exit 1
  }
}
