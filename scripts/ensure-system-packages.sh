#!/usr/bin/env bash
# Make sure the Debian packages the app and its tests need are installed.
#   (no argument)  everything `make test` needs: the runtime packages below, PostgreSQL,
#                  Redis, Chromium, nginx, time zone data and poppler-utils (pdftotext).
#   --runtime      only what the app itself needs to run (`make run`, a production host):
#                  WeasyPrint's Pango, HarfBuzz and fontconfig (documents as PDF) and the
#                  DejaVu fonts the PDFs use (they have the Turkish letters).
# As root, missing packages are installed; otherwise we stop and say what to install.
set -euo pipefail

runtime_only=false
[ "${1:-}" = "--runtime" ] && runtime_only=true

missing=()
has_package() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

# WeasyPrint (requirements.txt) loads these with cffi: Pango >= 1.44 (Debian 11+).
for package in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig \
               fonts-dejavu-core; do
  has_package "$package" || missing+=("$package")
done

if [ "$runtime_only" = false ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # nginx: tests/test_deploy.py and tests/test_hosts.py run deploy/nginx.conf in front of gunicorn
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  [ -f /usr/share/zoneinfo/Europe/Istanbul ] || missing+=(tzdata)  # company time zones
  command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)  # PDF tests read text
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "These Debian packages are needed: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
