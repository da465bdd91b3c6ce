#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (CTest). Exits
# non-zero when any test fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
extra=()
[[ -f "$root/tests/web/packages.txt" ]] && extra+=("$root/tests/web/packages.txt")
"$root/scripts/install-deps.sh" "${extra[@]}"
# JavaScript peers used by tests (tus-js-client, playwright-core), from package-lock.json.
for dir in tests/js tests/web; do
  if [[ -f "$root/$dir/package-lock.json" && ! -d "$root/$dir/node_modules" ]]; then
    (cd "$root/$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
"$root/scripts/build.sh"
build=${EVIDENCE_BUILD_DIR:-$root/build}
(cd "$build" && ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@")
# The S3 Object Lock backend against a real object store: a throwaway single-node Ceph
# on 127.0.0.1 (installed if missing, stopped whatever happens; about 10 s once
# installed). Above, those tests skip with a warning; here they run for real.
# EVIDENCE_SKIP_CEPH=1 leaves this out of a quick local run.
if [[ "${EVIDENCE_SKIP_CEPH:-0}" != 1 ]]; then
  "$root/scripts/ceph/run-s3-tests.sh" "$build"
fi
