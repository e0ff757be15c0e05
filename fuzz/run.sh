#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a given time, one after another.
#
#   fuzz/run.sh SECONDS [TARGET...]      every target (or those named) for SECONDS each
#
# Works on stable Rust with plain cargo and no sanitizer: the build passes the stable flags that
# `cargo fuzz build --sanitizer none` passes (-Cpasses=sancov-module, -Cllvm-args=-sanitizer-
# coverage-*, --cfg fuzzing, debug assertions, overflow checks) through RUSTFLAGS, for the host
# target only (so build scripts and proc macros are not instrumented); nothing to install. The
# address sanitizer would need nightly. Rust's own checks and the targets' properties are the
# oracle.
#
# Corpus: fuzz/corpus/TARGET (kept between runs, not committed), started from the committed
# fuzz/seeds/TARGET and fuzz/regressions/TARGET. A crash is written to fuzz/artifacts/TARGET/;
# the script goes on with the next target and exits 1 at the end if any target failed.
# Environment: FUZZ_TARGET_DIR (cargo target dir, default fuzz/target), FUZZ_NICE (nice
# level, default 0), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")"

ALL=(detect archive_zip archive_tar archive_gzip archive_bzip2 archive_xz archive_zstd
     archive_nested config rules report git_pack remediate)
seconds="${1:?usage: fuzz/run.sh SECONDS [TARGET...]}"
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")

host="$(rustc -vV | sed -n 's/^host: //p')"
target_dir="${FUZZ_TARGET_DIR:-$PWD/target}"
nice="${FUZZ_NICE:-0}"
echo "== building fuzz targets ($host)"
sancov="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
sancov+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
sancov+=" -Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth"
# 16 codegen units: a much faster build for a slightly slower fuzzer.
RUSTFLAGS="$sancov --cfg fuzzing -Cdebug-assertions -Coverflow-checks ${RUSTFLAGS:-}" \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  nice -n "$nice" cargo build --release --bins --target "$host" --target-dir "$target_dir"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t" "regressions/$t"
  echo "== fuzzing $t for ${seconds}s"
  # -timeout: one input taking longer is a hang (reported as a crash); the default RSS limit
  # (2 GiB) also fails any single allocation past it.
  # shellcheck disable=SC2086
  if ! nice -n "$nice" "$target_dir/$host/release/$t" "corpus/$t" "seeds/$t" "regressions/$t" \
      -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
      -artifact_prefix="artifacts/$t/" ${FUZZ_ARGS:-} 2>"artifacts/$t.log"; then
    tail -40 "artifacts/$t.log"
    failed+=("$t")
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "artifacts/$t.log" || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each, no failure"
