#!/usr/bin/env bash
# Screenshots of every sample's HTML report, for review (docs/report-html.md#screenshots):
#   scripts/screenshots.sh DIR    writes DIR/<sample>.html, DIR/<sample>-phone.png (390 px wide) and
#                                 DIR/<sample>-desktop.png (1280 px wide)
# PHONE_HEIGHT and DESKTOP_HEIGHT (pixels) set how much of each page is captured (default 6000 and 3600).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:?usage: scripts/screenshots.sh DIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
bash "$root/scripts/browser.sh" install
chromium="$(command -v chromium || command -v chromium-browser)"

cargo build --quiet --manifest-path "$root/Cargo.toml" --bin stackset-doctor
bin="$root/target/debug/stackset-doctor"

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# The flags a closed network needs, as the browser test uses them.
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
  --no-first-run --disable-sync --disable-quic --disable-dev-shm-usage --hide-scrollbars
  "--user-data-dir=$profile")

for dir in "$root"/samples/*/; do
  name="$(basename "$dir")"
  case "$name" in invalid | encodings | events) continue ;; esac
  "$bin" diagnose "$dir" --format html --exit-zero >"$out/$name.html"
  for shot in "phone 390 ${PHONE_HEIGHT:-6000}" "desktop 1280 ${DESKTOP_HEIGHT:-3600}"; do
    read -r kind width height <<<"$shot"
    timeout 60 "$chromium" "${flags[@]}" "--window-size=$width,$height" \
      "--screenshot=$out/$name-$kind.png" "file://$out/$name.html" >/dev/null 2>&1
    echo "$out/$name-$kind.png"
  done
done
