#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_*.cpp) with clang-14, ASan and UBSan, and
# runs each for FUZZ_SECONDS (default 30) from its seed corpus fuzz/corpus/<name>/.
# Exits non-zero when any target finds a crash; the input that crashed is kept as
# $FUZZ_OUT/<target>-crash-* (see docs/reliability.md to reproduce and pin it).
#
#   FUZZ_SECONDS=600 scripts/fuzz.sh                 # longer
#   FUZZ_TARGETS="fuzz_http_headers fuzz_media" scripts/fuzz.sh
#   FUZZ_BUILD=/work/build-fuzz FUZZ_OUT=/tmp/fuzz scripts/fuzz.sh
#
# Library code is compiled with -fsanitize=fuzzer-no-link so that libFuzzer sees
# coverage inside store/, verify/ and ingest/, not only in the target files. ASan and
# UBSan instrument the target files (fuzz/CMakeLists.txt) but not the libraries by
# default: clang-14 fails on ingest/'s coroutines with -fsanitize=address
# ("Cannot represent a difference across sections"). FUZZ_LIB_FLAGS overrides.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
out=${FUZZ_OUT:-$build/fuzz-out}
seconds=${FUZZ_SECONDS:-30}
if ! command -v clang++-14 >/dev/null || ! compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  "$root/scripts/install-deps.sh" "$root/scripts/packages-fuzz.txt"
fi

flags=${FUZZ_LIB_FLAGS:-"-fsanitize=fuzzer-no-link -fno-omit-frame-pointer"}
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DEVIDENCE_FUZZ=ON -DEVIDENCE_TESTS=OFF -DEVIDENCE_BENCH=OFF \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
ninja -C "$build" -j"$(nproc)" fuzz_targets

targets=${FUZZ_TARGETS:-$(cd "$root/fuzz" && ls fuzz_*.cpp | sed 's/\.cpp$//')}
mkdir -p "$out"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in $targets; do
  seeds="$root/fuzz/corpus/${t#fuzz_}"
  work="$out/corpus-$t"  # new inputs go here, not into the repository
  mkdir -p "$work"
  # fuzz_media probes in process, thousands of inputs in one process; the daemon gives
  # each file a fresh worker with RLIMIT_AS 1 GiB. Some 200-byte files make libav
  # allocate a few hundred MiB for a moment (about 600 MiB RSS under ASan), and ASan's
  # quarantine piles that up across runs, so this target gets more room overall and a
  # per-allocation cap at the worker's limit instead.
  rss=2048
  [[ $t == fuzz_media ]] && rss=4096
  args=("-max_total_time=$seconds" "-timeout=25" "-rss_limit_mb=$rss" "-malloc_limit_mb=1024" "-print_final_stats=1"
        "-artifact_prefix=$out/$t-")
  [[ -f "$root/fuzz/$t.dict" ]] && args+=("-dict=$root/fuzz/$t.dict")
  echo "== $t (${seconds}s)"
  dirs=("$work")
  [[ -d "$seeds" ]] && dirs+=("$seeds")
  if ! "$build/fuzz/$t" "${args[@]}" "${dirs[@]}" > "$out/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 60 "$out/$t.log"
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$out/$t.log" | tr '\n' ' '; echo
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: crashes in: ${failed[*]} (inputs: $out/<target>-crash-*)" >&2
  exit 1
fi
echo "fuzz: no crashes"
