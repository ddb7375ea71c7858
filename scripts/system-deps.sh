#!/usr/bin/env bash
# Install the Debian packages the tests and the stack need, if any is missing.
# Runs apt-get only when something is absent, so repeated `make test` stays fast.
# `system-deps.sh node` installs only Node.js and npm (what `make plotly` builds the bundle with).
set -euo pipefail
need=()
command -v node >/dev/null || need+=(nodejs)  # Debian 12: Node 18.20; esbuild and Lighthouse 12 need >= 18
command -v npm >/dev/null || need+=(npm)
if [ "${1:-}" != "node" ]; then
  command -v redis-server >/dev/null || need+=(redis-server)
  command -v varnishd >/dev/null || [ -x /usr/sbin/varnishd ] || need+=(varnish)
  ls /usr/lib/*/varnish/vmods/libvmod_xkey.so >/dev/null 2>&1 || need+=(varnish-modules)
  command -v chromium >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
  command -v wrk >/dev/null || need+=(wrk)  # make bench: the HTTP load generator
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The tests start their own instances on free ports; stop the ones the packages started.
for service in redis-server varnish varnishncsa; do
  $SUDO systemctl disable --now "$service" >/dev/null 2>&1 || $SUDO service "$service" stop >/dev/null 2>&1 || true
done
