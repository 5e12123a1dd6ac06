#!/usr/bin/env bash
# The report test opens the page in a real headless Chromium (Debian's package).
# Installed here when missing and when we can (root + apt); otherwise that one test skips.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the report's browser test (apt-get)..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 \
    || echo "warning: chromium could not be installed; the browser test will skip" >&2
else
  echo "note: chromium not found and not root; the report's browser test will skip" >&2
fi
exit 0
