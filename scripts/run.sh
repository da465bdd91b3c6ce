#!/usr/bin/env bash
# Installs what is missing, builds, and starts the daemon on a data directory
# (default: ./evidence-data, created with `evidenced init` on first run; the admin
# token is printed then and kept in evidence-data/admin.token, mode 0600).
#   LISTEN=127.0.0.1:8080 DATA=./evidence-data scripts/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
data=${DATA:-$root/evidence-data}
listen=${LISTEN:-127.0.0.1:8080}
bin=${EVIDENCE_BUILD_DIR:-$root/build}/tools/evidenced
if [[ ! -f "$data/admin.token" ]]; then
  "$bin" init --data "$data"
fi
echo "admin token: $data/admin.token"
exec "$bin" serve --data "$data" --listen "$listen"
