#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (CTest), then the
# S3 backend's tests against a throwaway Ceph, then the suite again built with ASan
# and UBSan (scripts/test-sanitize.sh), then a short libFuzzer run of every fuzz
# target (scripts/fuzz.sh). Exits non-zero when any of them fails.
#
#   scripts/test.sh                      # everything (about 45 minutes from a clean clone on 2 cores)
#   EVIDENCE_QUICK=1 scripts/test.sh     # only the CTest suite (about 5 minutes)
#   EVIDENCE_SKIP_CEPH=1, EVIDENCE_SKIP_SANITIZE=1, EVIDENCE_SKIP_FUZZ=1 leave out one step
#   FUZZ_SECONDS=N                       # per fuzz target (default here 15)
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
quick=${EVIDENCE_QUICK:-0}
if [[ "$quick" != 1 && "${EVIDENCE_SKIP_CEPH:-0}" != 1 ]]; then
  "$root/scripts/ceph/run-s3-tests.sh" "$build"
fi
# Issue 8: the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (its own
# build folder, build-asan), and every libFuzzer target from its seed corpus.
if [[ "$quick" != 1 && "${EVIDENCE_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== sanitizers: the test suite built with ASan + UBSan"
  "$root/scripts/test-sanitize.sh"
fi
if [[ "$quick" != 1 && "${EVIDENCE_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== fuzzing: every target for ${FUZZ_SECONDS:-15} s"
  FUZZ_SECONDS=${FUZZ_SECONDS:-15} "$root/scripts/fuzz.sh"
fi
