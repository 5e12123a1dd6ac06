#!/usr/bin/env bash
# The report test opens the page in a real headless Chromium (Debian's package).
# Installed here when missing and when we can (root + apt), quietly: one line says so and
# apt's output goes to a log file; otherwise that one test skips.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  log="$(mktemp -t chromium-install.XXXXXX.log)"
  echo "installing chromium for the browser test (apt; log in $log)" >&2
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
      >"$log" 2>&1; then
    rm -f "$log"
  else
    echo "warning: chromium could not be installed (see $log); the browser test will skip" >&2
  fi
else
  echo "note: chromium not found and not root; the report's browser test will skip" >&2
fi
exit 0
