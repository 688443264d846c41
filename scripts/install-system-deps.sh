#!/usr/bin/env bash
# Install the Debian packages the test servers need. Idempotent: on a machine that already has them
# this only runs dpkg-query and exits, without apt-get update.
set -euo pipefail

# Add more Debian packages here (e.g. chromium for the e2e tier).
PACKAGES=(
  postgresql       # initdb/postgres for tests/servers/postgres.py
  rabbitmq-server  # broker for tests/servers/rabbitmq.py
  docker-compose   # `docker-compose config -q` validates docker-compose.yml without an engine (tests/unit/test_compose.py)
  nginx            # the gateway in front of the services' own processes (tests/servers/nginx.py, tests/topology)
  chromium         # headless browser for the e2e tier (tests/e2e, Playwright with executablePath /usr/bin/chromium)
)

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system packages present: ${PACKAGES[*]}"
  exit 0
fi

echo "installing: ${missing[*]}"
$SUDO apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

# The packages start system-wide services (Debian's main PostgreSQL cluster, rabbitmq and epmd,
# nginx on port 80). The tests run their own throwaway servers, so stop these to free ports and
# memory, and keep them from coming back at boot. Each step may fail harmlessly (no systemd, ...).
for service in rabbitmq-server postgresql nginx; do
  $SUDO service "$service" stop >/dev/null 2>&1 || true
  if [[ -d /run/systemd/system ]]; then
    $SUDO systemctl disable --quiet "$service" >/dev/null 2>&1 || true
  else
    $SUDO update-rc.d "$service" disable >/dev/null 2>&1 || true
  fi
done
if [[ -d /run/systemd/system ]]; then
  $SUDO systemctl disable --now --quiet epmd.socket epmd.service >/dev/null 2>&1 || true
fi
# epmd outlives the rabbitmq-server it was started by; -kill stops it only if no node is registered.
if command -v epmd >/dev/null; then $SUDO epmd -kill >/dev/null 2>&1 || true; fi
echo "installed: ${missing[*]} (system services stopped)"
