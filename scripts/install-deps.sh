#!/usr/bin/env bash
# Installs whatever Debian packages from scripts/packages.txt (and any extra lists
# given as arguments) are missing. Does nothing, and needs no network, when all are
# present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
for list in "$here/packages.txt" "$@"; do
  while read -r pkg; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < "$list"
done
# Node.js and npm may come from outside Debian (this machine's Node 20 does); only when
# the commands are absent do we ask apt for Debian's.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
