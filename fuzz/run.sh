#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a given time, one after another.
#
#   fuzz/run.sh SECONDS [TARGET...]      every target (or those named) for SECONDS each
#
# Works on stable Rust with cargo-fuzz (installed here when missing) and no sanitizer:
# `cargo fuzz build --sanitizer none` passes only stable flags (-Cpasses=sancov-module and
# -Cllvm-args=-sanitizer-coverage-*); the address sanitizer would need nightly. Rust's own
# checks (bounds, overflow, debug assertions) and the targets' properties are the oracle.
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
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
echo "== building fuzz targets ($host)"
# 16 codegen units: a much faster build for a slightly slower fuzzer.
nice -n "$nice" cargo fuzz build --sanitizer none --codegen-units 16 --target "$host" \
  --target-dir "$target_dir"

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
