#!/usr/bin/env bash
# The browser the HTML report is tested in: Debian's headless Chromium and its WebDriver (docs/report-html.md).
#   scripts/browser.sh install   install the packages chromium and chromium-driver with apt-get when either is
#                                missing (quiet and quick when both are there)
#   scripts/browser.sh check     print the paths and versions; exit 1 naming what is missing
set -euo pipefail

chromium_bin() { command -v chromium || command -v chromium-browser || true; }
driver_bin() { command -v chromedriver || true; }

present() { [ -n "$(chromium_bin)" ] && [ -n "$(driver_bin)" ]; }

install() {
  present && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser: apt-get not found; install Chromium and chromedriver with this system's package manager" >&2
    exit 1
  fi
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      echo "browser: installing chromium and chromium-driver needs root (no sudo found)" >&2
      exit 1
    fi
  fi
  echo "browser: installing chromium and chromium-driver (apt-get)" >&2
  # The package lists may be stale on a fresh machine: refresh them once, then install without extras.
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver >/dev/null
  present || {
    echo "browser: chromium or chromedriver is still not on PATH after apt-get install" >&2
    exit 1
  }
}

check() {
  local missing=0
  if [ -n "$(chromium_bin)" ]; then echo "chromium: $(chromium_bin) ($("$(chromium_bin)" --version 2>/dev/null || echo '?'))"; else echo "chromium: missing" >&2; missing=1; fi
  if [ -n "$(driver_bin)" ]; then echo "chromedriver: $(driver_bin) ($("$(driver_bin)" --version 2>/dev/null || echo '?'))"; else echo "chromedriver: missing" >&2; missing=1; fi
  [ "$missing" -eq 0 ] || { echo "run: bash scripts/browser.sh install" >&2; exit 1; }
}

case "${1:-}" in
  install) install ;;
  check) check ;;
  *) echo "usage: scripts/browser.sh install|check" >&2; exit 2 ;;
esac
