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
name=cfn-lint
pinned="cfn-lint $version"
# shellcheck source=scripts/venv.sh
. "$root/scripts/venv.sh"

installed() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$version" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(version("cfn-lint") != sys.argv[1])
PY
}

case "${1:-}" in
  install)
    venv_install
    echo "cfn-lint: $venv has cfn-lint $version" >&2
    ;;
  run)
    shift
    venv_install
    # cfnlint has no __main__: call its console script's entry point.
    exec "$venv/bin/python" -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())' "$@"
    ;;
  *)
    echo "usage: $0 install | run FILE..." >&2
    exit 2
    ;;
esac
