#!/usr/bin/env bash
# Runs the S3 backend's tests against a throwaway Ceph: installs the Ceph packages if
# missing, starts one monitor, one OSD and radosgw on 127.0.0.1 (free ports), runs
# `ctest -R "s3|S3"` in the given build folder with the endpoint and keys in the
# environment, and stops exactly the cluster it started, whatever happens.
#
#   scripts/ceph/run-s3-tests.sh BUILD_DIR [extra ctest arguments]
#
# Prints how long each step took (docs/s3.md records a measured run).
set -euo pipefail

BUILD_DIR=${1:?usage: run-s3-tests.sh BUILD_DIR [ctest args]}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$BUILD_DIR/CTestTestfile.cmake" ] || { echo "run-s3-tests: $BUILD_DIR is not a build folder" >&2; exit 2; }

T0=$(date +%s%N)
elapsed() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

if ! command -v radosgw >/dev/null || ! command -v ceph-osd >/dev/null || ! command -v ceph-mon >/dev/null ||
   ! command -v ceph >/dev/null; then
  echo "run-s3-tests: installing Ceph packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl uuid-runtime >/dev/null
fi
T_INSTALL=$(elapsed "$T0")

# A free TCP port on 127.0.0.1 at or above $1 (none of $2...$n).
free_port() {
  local p=$1; shift
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || [[ " $* " == *" $p "* ]]; do p=$((p + 1)); done
  echo "$p"
}
export RGW_PORT=${RGW_PORT:-$(free_port 17480)}
export MON_PORT=${MON_PORT:-$(free_port 13300 "$RGW_PORT")}
export CEPH_DIR
CEPH_DIR=$(mktemp -u -d "${TMPDIR:-/tmp}/evidence-ceph-XXXXXX")
trap '"$HERE/stop-ceph.sh"' EXIT

T1=$(date +%s%N)
"$HERE/start-ceph.sh"
T_START=$(elapsed "$T1")

set -a
# shellcheck disable=SC1091
. "$CEPH_DIR/s3.env"
set +a
export EVIDENCE_S3_ENDPOINT=$S3_ENDPOINT EVIDENCE_S3_REGION=$S3_REGION

T2=$(date +%s%N)
status=0
ctest --test-dir "$BUILD_DIR" -R "s3|S3" --output-on-failure "$@" || status=$?
T_TESTS=$(elapsed "$T2")

T3=$(date +%s%N)
trap - EXIT
"$HERE/stop-ceph.sh"
T_STOP=$(elapsed "$T3")
printf 'run-s3-tests: install %d ms, cluster start %d ms, tests %d ms, stop %d ms, total %d ms\n' \
  "$T_INSTALL" "$T_START" "$T_TESTS" "$T_STOP" "$(elapsed "$T0")"
exit "$status"
