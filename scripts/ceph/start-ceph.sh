#!/usr/bin/env bash
# Starts a throwaway single-node Ceph with an S3 endpoint (RADOS Gateway), for the
# S3 blob backend's integration tests. Debian 12 packages (Ceph 16.2 "Pacific"):
#   apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common
#
# What runs, all bound to 127.0.0.1 and all under $CEPH_DIR:
#   mon.a         one monitor, no cephx (auth none), no manager (S3 does not need one)
#   osd.0         one OSD; memstore (RAM) by default, OSD_BACKEND=bluestore for a sparse file
#   client.rgw.a  radosgw, beast front end on $RGW_PORT
# Every daemon writes a pid file under $CEPH_DIR/run; stop-ceph.sh stops exactly those.
# At the end an S3 user with fixed test keys exists and $CEPH_DIR/s3.env holds
# S3_ENDPOINT, S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
#
# Settings that matter (measured, see docs/s3.md):
#   ms mon client mode = crc   radosgw otherwise wants a secure mon session (cephx) and hangs
#   paxos propose interval     0.05 s instead of 1 s: start-up 3 s instead of 13 s
#   osd fast shutdown = false  a memstore OSD writes its objects out only on a clean stop
set -euo pipefail

CEPH_DIR=${CEPH_DIR:-${TMPDIR:-/tmp}/evidence-ceph}
RGW_PORT=${RGW_PORT:-17480}
MON_PORT=${MON_PORT:-13300}        # msgr2; msgr1 is not used
OSD_PORT_MIN=${OSD_PORT_MIN:-16800}
OSD_PORT_MAX=${OSD_PORT_MAX:-16899}
OSD_BACKEND=${OSD_BACKEND:-memstore}
MEMSTORE_BYTES=${MEMSTORE_BYTES:-$((4 << 30))}
BLUESTORE_BYTES=${BLUESTORE_BYTES:-$((20 << 30))}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-EVIDENCETESTKEY00001}
S3_SECRET_KEY=${S3_SECRET_KEY:-evidencetestsecret000000000000000000001}

CONF=$CEPH_DIR/ceph.conf
START=$(date +%s%N)
say() { local ms=$(( ($(date +%s%N) - START) / 1000000 )); printf 'start-ceph [%d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"; }
die() { echo "start-ceph: $*" >&2; exit 1; }
# retry CMD... every 0.2 s for up to $1 seconds
retry() {
  local until=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$until" ] || return 1
    sleep 0.2
  done
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen curl timeout; do
  command -v "$tool" >/dev/null || die "$tool not found; apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl uuid-runtime"
done
[ -e "$CEPH_DIR" ] && die "$CEPH_DIR already exists (stop-ceph.sh removes it)"
for p in "$RGW_PORT" "$MON_PORT"; do port_busy "$p" && die "port $p on 127.0.0.1 is taken; choose RGW_PORT/MON_PORT"; done

mkdir -p "$CEPH_DIR"/{run,log,crash,mon.a,osd.0,rgw.a}
FSID=$(uuidgen)
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
ms bind port min = $OSD_PORT_MIN
ms bind port max = $OSD_PORT_MAX
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
run dir = $CEPH_DIR/run
crash dir = $CEPH_DIR/crash
log file = $CEPH_DIR/log/\$name.log
log to stderr = false
err to stderr = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $CEPH_DIR/mon.\$id
pid file = $CEPH_DIR/run/\$name.pid

[osd]
osd data = $CEPH_DIR/osd.\$id
pid file = $CEPH_DIR/run/\$name.pid
osd objectstore = $OSD_BACKEND
memstore device bytes = $MEMSTORE_BYTES
bluestore block path = $CEPH_DIR/osd.\$id.block
bluestore block size = $BLUESTORE_BYTES
bluestore block create = true
bluestore cache autotune = false
bluestore cache size = 134217728
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2
osd fast shutdown = false

[client.rgw.a]
pid file = $CEPH_DIR/run/\$name.pid
rgw data = $CEPH_DIR/rgw.a
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw thread pool size = 64
EOF

say "monitor"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$CEPH_DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap"
ceph-mon -c "$CONF" -i a
retry 60 timeout 10 ceph -c "$CONF" --connect-timeout 5 mon stat || die "monitor did not answer (log: $CEPH_DIR/log/mon.a.log)"

say "osd.0 ($OSD_BACKEND)"
OSD_UUID=$(uuidgen)
id=$(timeout 30 ceph -c "$CONF" --connect-timeout 5 osd new "$OSD_UUID")
[ "$id" = 0 ] || die "expected osd id 0, got '$id'"
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" 2>"$CEPH_DIR/log/osd.0.mkfs.log" \
  || die "osd mkfs failed: $(tail -3 "$CEPH_DIR/log/osd.0.mkfs.log")"
ceph-osd -c "$CONF" -i 0
osd_up() { timeout 10 ceph -c "$CONF" --connect-timeout 5 osd dump 2>/dev/null | grep -q '^osd\.0 up'; }
retry 60 osd_up || die "osd.0 did not come up (log: $CEPH_DIR/log/osd.0.log)"

say "radosgw on 127.0.0.1:$RGW_PORT"
# radosgw goes to the background only once it has reached the monitor.
timeout 60 radosgw -c "$CONF" -n client.rgw.a || die "radosgw did not start (log: $CEPH_DIR/log/client.rgw.a.log)"
retry 120 curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/" || die "radosgw does not answer (log: $CEPH_DIR/log/client.rgw.a.log)"

radosgw-admin -c "$CONF" user create --uid=evidence-test --display-name="evidence tests" \
  --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >"$CEPH_DIR/user.json"
umask 077
cat >"$CEPH_DIR/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_REGION=us-east-1
AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
EOF
say "ready: S3 at http://127.0.0.1:$RGW_PORT (keys in $CEPH_DIR/s3.env)"
