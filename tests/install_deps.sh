#!/usr/bin/env bash
# What the tests need beyond Python packages: redis-server (the tests start their own on a
# free port) and a Chromium for Playwright. Installed with apt when missing and permitted.
set -u
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if ! command -v chromium >/dev/null 2>&1 && ! ls -d "${HOME}"/.cache/ms-playwright/chromium-* >/dev/null 2>&1; then
  need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "Installing for the tests: ${need[*]}"
if [ "$(id -u)" = 0 ]; then
  apt="apt-get"
elif sudo -n true 2>/dev/null; then
  apt="sudo apt-get"
else
  echo "The tests need ${need[*]}. Install with: sudo apt-get install ${need[*]}" >&2
  echo "(or, for the browser only: .venv/bin/playwright install chromium)" >&2
  exit 1
fi
DEBIAN_FRONTEND=noninteractive $apt install -y -q "${need[@]}" >/dev/null \
  || { $apt update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $apt install -y -q "${need[@]}" >/dev/null; } \
  || { echo "Could not install ${need[*]}: install them with apt-get install ${need[*]}" >&2; exit 1; }
