#!/usr/bin/env bash
# Upload throughput into S3 (Ceph RGW): our S3 blob backend against a plain S3 client
# (the AWS SDK for JavaScript, multipart, 16 MiB parts, 4 in flight) putting the same
# file, in the same run. Prints both and the ratio ours/SDK in seconds (lower is
# better; 1.0 = as fast as the SDK).
#
#   bench/s3_upload.sh BUILD_DIR
#
# Environment:
#   SIZE=1G            file size (head -c syntax: 1G, 256M, ...)
#   RUNS=1             rounds; each round runs both, the medians are compared
#   BENCH_VIA=backend  backend: the test program's hidden "s3 bench" case streams the
#                      file through S3BlobStore (spool + hash, then multipart upload
#                      with Object Lock), which is what the daemon does after receiving;
#                      daemon: `evidenced serve --blobs s3://BUCKET --s3-endpoint URL`
#                      and a one-shot POST /api/v1/evidence with curl (needs the daemon
#                      wired to the S3 backend)
#   TEST_BIN           the test program (default BUILD_DIR/tests/test_ingest)
#   EVIDENCE_S3_ENDPOINT + AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: use that endpoint;
#                      otherwise a throwaway Ceph is started (bluestore OSD) and stopped
set -euo pipefail

BUILD_DIR=${1:?usage: bench/s3_upload.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-1}
BENCH_VIA=${BENCH_VIA:-backend}
TEST_BIN=${TEST_BIN:-$BUILD_DIR/tests/test_ingest}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/evidence-s3bench-XXXXXX")
DAEMON_PID=
cleanup() {
  if [ -n "$DAEMON_PID" ]; then kill -TERM "$DAEMON_PID" 2>/dev/null || true; wait "$DAEMON_PID" 2>/dev/null || true; fi
  if [ -n "${STARTED_CEPH:-}" ]; then "$ROOT/scripts/ceph/stop-ceph.sh" >/dev/null; fi
  rm -rf -- "$WORK"
}
trap cleanup EXIT

if [ -z "${EVIDENCE_S3_ENDPOINT:-}" ]; then
  export CEPH_DIR
  CEPH_DIR=$(mktemp -u -d "${TMPDIR:-/tmp}/evidence-ceph-XXXXXX")
  export OSD_BACKEND=${OSD_BACKEND:-bluestore}   # memstore would hold about twice the data in RAM
  port=17480; while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  export RGW_PORT=$port
  port=13300; while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  export MON_PORT=$port
  STARTED_CEPH=1
  "$ROOT/scripts/ceph/start-ceph.sh" >/dev/null
  set -a; . "$CEPH_DIR/s3.env"; set +a
  export EVIDENCE_S3_ENDPOINT=$S3_ENDPOINT
fi
export S3_ENDPOINT=$EVIDENCE_S3_ENDPOINT

if [ ! -d "$HERE/s3-node/node_modules/@aws-sdk/client-s3" ]; then
  (cd "$HERE/s3-node" && npm install --no-audit --no-fund --silent)
fi

FILE=$WORK/input.bin
head -c "$SIZE" /dev/urandom >"$FILE"
BYTES=$(stat -c %s "$FILE")
cat "$FILE" >/dev/null   # both sides read from the page cache

ours_backend() {
  local out
  out=$(EVIDENCE_S3_BENCH_FILE=$FILE "$TEST_BIN" "s3 bench: upload one file through the S3 backend" 2>&1) \
    || { echo "$out" >&2; return 1; }
  # "TOTAL UPLOAD": receive-and-spool plus commit, and the commit (upload) alone
  echo "$out" | sed -n 's/^s3bench: .* upload \([0-9.]*\) s total \([0-9.]*\) s$/\2 \1/p'
}

ours_daemon() {
  local bucket=$1 data=$WORK/data-$1 url token t0
  "$BUILD_DIR/tools/evidenced" init --data "$data" >/dev/null
  token=$(cat "$data/admin.token")
  "$BUILD_DIR/tools/evidenced" serve --data "$data" --listen 127.0.0.1:0 --blobs "s3://$bucket" \
    --s3-endpoint "$EVIDENCE_S3_ENDPOINT" >"$WORK/serve.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$WORK/serve.log" && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$WORK/serve.log" | head -1)
  [ -n "$url" ] || { cat "$WORK/serve.log" >&2; return 1; }
  local t0
  t0=$(date +%s%N)
  curl -sSf -o /dev/null -X POST -H "Authorization: Bearer $token" --data-binary "@$FILE" \
    "$url/api/v1/evidence?case=BENCH-1&officer=bench&device=bench&recorded_at=2026-01-01T00:00:00Z&filename=input.bin"
  echo "$(echo "scale=3; ($(date +%s%N) - $t0) / 1000000000" | bc) -"
  kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
}

sdk() {
  (cd "$HERE/s3-node" && node put.mjs "$FILE" "$1") | sed -n 's/^sdkbench: .* in \([0-9.]*\) s$/\1/p'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

ours_times=() commit_times=() sdk_times=()
for run in $(seq "$RUNS"); do
  stamp=$(date +%s%N | tail -c 9)
  if [ "$BENCH_VIA" = daemon ]; then r=$(ours_daemon "bench-ours-$stamp"); else r=$(EVIDENCE_S3_BUCKET="bench-ours-$stamp" ours_backend); fi
  o=${r% *} c=${r#* }
  s=$(sdk "bench-sdk-$stamp")
  [ -n "$o" ] && [ -n "$s" ] || { echo "s3_upload: a run failed (ours='$r' sdk='$s')" >&2; exit 1; }
  printf 'run %d: ours %s s (commit alone %s s), sdk %s s\n' "$run" "$o" "$c" "$s"
  ours_times+=("$o"); commit_times+=("$c"); sdk_times+=("$s")
done
O=$(printf '%s\n' "${ours_times[@]}" | median)
S=$(printf '%s\n' "${sdk_times[@]}" | median)
mib=$(echo "scale=1; $BYTES / 1048576" | bc)
printf 'size %s MiB (%s bytes), via %s, %d run(s), medians:\n' "$mib" "$BYTES" "$BENCH_VIA" "$RUNS"
printf '  ours (S3 backend, Object Lock, SHA-256 + MD5 + signed payloads): %s s = %s MiB/s\n' "$O" "$(echo "scale=1; $mib / $O" | bc)"
printf '  AWS SDK for JavaScript (plain multipart PUT):                    %s s = %s MiB/s\n' "$S" "$(echo "scale=1; $mib / $S" | bc)"
printf '  ratio ours/sdk (time): %s\n' "$(echo "scale=2; $O / $S" | bc)"
if [ "$BENCH_VIA" = backend ]; then
  # The daemon spools while the client's bytes arrive, so on a real upload the commit
  # (HEAD, multipart upload, HEAD) is what follows the last byte.
  C=$(printf '%s\n' "${commit_times[@]}" | median)
  printf '  ours, commit alone (after the bytes were received): %s s; ratio commit/sdk: %s\n' "$C" "$(echo "scale=2; $C / $S" | bc)"
fi
