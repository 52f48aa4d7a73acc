#!/usr/bin/env bash
# cfn-lint for the CloudFormation templates under deploy/ (tests/eventbridge.rs runs it).
#   scripts/cfn-lint.sh install        make .venv-lint hold the cfn-lint of scripts/cfn-lint-requirements.txt
#                                      (idempotent; quick when it is there)
#   scripts/cfn-lint.sh run FILE...    install if needed, then lint; exit 0 clean, else cfn-lint's own code
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-lint"
requirements="$root/scripts/cfn-lint-requirements.txt"
version="$(sed -n 's/^cfn-lint==\([0-9][0-9.]*\).*/\1/p' "$requirements")"

installed() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$version" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(version("cfn-lint") != sys.argv[1])
PY
}

install() {
  installed && return 0
  # Tests may lint from several threads at once: one installs, the others wait for it.
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
    echo "cfn-lint: python3 is required and was not found on PATH" >&2
    exit 1
  fi
  if [ ! -x "$venv/bin/python" ]; then
    # --system-site-packages: on a machine that already has the pinned cfn-lint, pip installs nothing.
    python3 -m venv --system-site-packages "$venv" || {
      echo "cfn-lint: 'python3 -m venv' failed (on Debian and Ubuntu: install the python3-venv package)" >&2
      exit 1
    }
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 || {
    echo "cfn-lint: pip install failed (see above); to start over: rm -rf $venv" >&2
    exit 1
  }
  installed || {
    echo "cfn-lint: cfn-lint $version is still not importable from $venv after pip install" >&2
    exit 1
  }
}

case "${1:-}" in
  install)
    install
    echo "cfn-lint: $venv has cfn-lint $version" >&2
    ;;
  run)
    shift
    install
    # cfnlint has no __main__: call its console script's entry point.
    exec "$venv/bin/python" -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())' "$@"
    ;;
  *)
    echo "usage: $0 install | run FILE..." >&2
    exit 2
    ;;
esac
