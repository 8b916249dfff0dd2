#!/usr/bin/env bash
# report_browser.sh PAGE.html OUT.png SOURCE_DIR: headless Chromium renders the page to a 1280x3000 screenshot,
# which must show a page (check_screenshot.py), with no console message and no failed load in Chromium's log.
# Exits 77 (CTest: skipped) where Chromium is not installed.
set -euo pipefail
page=$(realpath "$1") out=$(realpath -m "$2") src=$3
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "skipped: no chromium (Debian: apt-get install chromium; scripts/install-deps.sh installs it)"
  exit 77
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --user-data-dir="$profile" --enable-logging=stderr --v=0 --window-size=1280,3000 \
  --screenshot="$out" "file://$page" 2>"$profile/log" >/dev/null || { cat "$profile/log"; exit 1; }
if grep -E 'CONSOLE|net::ERR_|Uncaught' "$profile/log"; then
  echo "chromium logged the lines above while rendering $page"
  exit 1
fi
python3 "$src/tests/cli/check_screenshot.py" "$out" 1280 3000
