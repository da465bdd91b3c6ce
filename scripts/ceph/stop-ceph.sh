#!/usr/bin/env bash
# Stops the cluster start-ceph.sh made in $CEPH_DIR: exactly the daemons named by its
# pid files, never anything found by name. A pid is signalled only while
# /proc/PID/cmdline still names this cluster's ceph.conf (a recycled pid is left
# alone). Then removes $CEPH_DIR, unless KEEP_DATA=1.
set -uo pipefail

CEPH_DIR=${CEPH_DIR:-${TMPDIR:-/tmp}/evidence-ceph}
CONF=$CEPH_DIR/ceph.conf

is_ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$CONF"; }

stop_pidfile() {
  local file=$1 pid
  pid=$(cat "$file" 2>/dev/null) || return 0
  if [[ $pid =~ ^[0-9]+$ ]] && is_ours "$pid"; then
    echo "stop-ceph: stopping $(basename "$file" .pid) (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do is_ours "$pid" || break; sleep 0.2; done
    if is_ours "$pid"; then
      echo "stop-ceph: $pid still running after 10 s, SIGKILL"
      kill -KILL "$pid" 2>/dev/null
      sleep 0.2
    fi
  fi
  rm -f "$file"
}

if [ -d "$CEPH_DIR/run" ]; then
  # Gateway first, then the OSD, the monitor last.
  for pattern in 'client.*.pid' 'osd.*.pid' 'mon.*.pid'; do
    for f in "$CEPH_DIR"/run/$pattern; do [ -e "$f" ] && stop_pidfile "$f"; done
  done
fi
if [ "${KEEP_DATA:-0}" != 1 ] && [ -f "$CONF" ]; then
  rm -rf -- "$CEPH_DIR"
  echo "stop-ceph: removed $CEPH_DIR"
fi
exit 0
