#!/usr/bin/env bash
# Builds the whole tree with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DEVIDENCE_SANITIZE=ON) into build-asan and runs the test suite under them. Tests
# that start the daemon or the command-line tools run the sanitized programs from the
# same build, so a leak, overflow or UB in evidenced fails the test that drove it
# (the daemon exits non-zero at shutdown when LeakSanitizer finds a leak).
#
#   scripts/test-sanitize.sh                 # everything but the exclusions below
#   scripts/test-sanitize.sh -R 'ingest: '   # extra arguments go to ctest
#   SANITIZE_BUILD=/work/build-asan scripts/test-sanitize.sh
#
# Every CTest test runs, the browser-driven web console test included (its daemon is
# the sanitized one). Benchmarks are not tests and are not built.
# SANITIZE_EXCLUDE=REGEX leaves tests out (ctest -E).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZE_BUILD:-$root/build-asan}
"$root/scripts/install-deps.sh"
# -O1 keeps ASan builds and runs quick while keeping stack traces readable.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEVIDENCE_SANITIZE=ON -DEVIDENCE_BENCH=OFF \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O1 -g1 -DNDEBUG" >/dev/null
ninja -C "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/scripts/lsan.supp:print_suppressions=0}
exclude=()
[[ -n "${SANITIZE_EXCLUDE:-}" ]] && exclude=(-E "$SANITIZE_EXCLUDE")
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 900 "${exclude[@]}" "$@"
