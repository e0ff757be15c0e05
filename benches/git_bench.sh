#!/usr/bin/env bash
# Benchmark of `keysweep git` (figures, not a test). Generates repositories with
# `git fast-import` at run time, then prints wall time (hyperfine when installed, else
# /usr/bin/time) and peak RSS (/usr/bin/time -v) of:
#   1. `keysweep git` (full history) vs `git cat-file --batch-all-objects --batch --unordered`
#      and `git log -p --all` on a generated repository of >= 3,000 commits / 30,000 blobs,
#      repacked with deltas as `git gc` would;
#   2. the same on a real repository when one is given (REAL_REPO=/path/to/repo.git);
#   3. peak RSS on a large history (LARGE_MB of blob data, default 1024: a 1 GB history);
#   4. `keysweep git --staged` on a 10,000-file repository with one staged file.
#
# Usage: benches/git_bench.sh            (builds the release binary first)
# Environment: COMMITS (3000), FILES (2000), CHANGES (10 files per commit), LARGE_MB (1024,
# 0 skips), REAL_REPO, RUNS (5), KEEP=1 keeps the work directory, WORK (mktemp -d).
set -euo pipefail
cd "$(dirname "$0")/.."

COMMITS=${COMMITS:-3000}
FILES=${FILES:-2000}
CHANGES=${CHANGES:-10}
LARGE_MB=${LARGE_MB:-1024}
RUNS=${RUNS:-5}
WORK=${WORK:-$(mktemp -d)}

cargo build --release --quiet
KS="$PWD/target/release/keysweep"
# git and keysweep see no user or system configuration (after the build: cargo needs HOME).
export GIT_CONFIG_NOSYSTEM=1 HOME="$WORK"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
HAVE_HYPERFINE=0
command -v hyperfine >/dev/null && HAVE_HYPERFINE=1

cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

# A fast-import stream: FILES text files of ~4 KB, then COMMITS commits each editing
# CHANGES of them (a few lines each, so packs are delta-heavy like real source trees).
# A handful of made-up keys are planted and later removed.
gen_history() {
  python3 - "$COMMITS" "$FILES" "$CHANGES" <<'PY'
import random, sys
commits, files, changes = map(int, sys.argv[1:])
rnd = random.Random(42)
words = [''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz_') for _ in range(rnd.randint(2, 10)))
         for _ in range(5000)]
def line():
    return ' '.join(rnd.choice(words) for _ in range(rnd.randint(3, 12))) + '\n'
contents = {f'src/m{i // 100}/f{i}.rs': [line() for _ in range(rnd.randint(40, 90))]
            for i in range(files)}
names = sorted(contents)
out = sys.stdout.buffer
def data(text):
    b = text.encode()
    out.write(b'data %d\n' % len(b) + b + b'\n')
KEYS = [('AKIAUJZDEGXDNCF32EPF', '2hpChYgCfrL1spNxnyVmihA/2O76UMFxFkM/R5Kj'),
        ('AKIAH2KVJ72CEUVW75EF', 'I8ihN5KXSc7Tvo/hBKqFYY/kv5ZJr3J1TWDtkwtD'),
        ('AKIAOA7LQSAJ2XUID5ZZ', 'ZYn9ZhyiA4uoRgnatmUdjAWtGSU8po+799NksnRH')]
plant = {commits // 4: 0, commits // 2: 1, 3 * commits // 4: 2}
t = 1_600_000_000
for c in range(commits + 1):
    out.write(b'commit refs/heads/main\n')
    out.write(b'committer Bench <bench@example.com> %d +0000\n' % (t + c * 60))
    data(f'commit {c}\n')
    if c == 0:
        touched = names
    else:
        touched = rnd.sample(names, changes)
        for n in touched:
            lines = contents[n]
            for _ in range(rnd.randint(1, 4)):
                i = rnd.randrange(len(lines))
                if rnd.random() < 0.5:
                    lines[i] = line()
                else:
                    lines.insert(i, line())
    if c in plant:
        k, s = KEYS[plant[c]]
        lines = contents[touched[0]]
        lines.insert(len(lines) // 2, f'// aws_access_key_id = {k}\n// aws_secret_access_key = {s}\n')
    for n in touched:
        out.write(f'M 100644 inline {n}\n'.encode())
        data(''.join(contents[n]))
out.write(b'done\n')
PY
}

# One commit of 10,000 small files.
gen_wide() {
  python3 - <<'PY'
import sys
out = sys.stdout.buffer
out.write(b'commit refs/heads/main\ncommitter Bench <bench@example.com> 1600000000 +0000\n')
out.write(b'data 5\nwide\n\n')
for i in range(10000):
    b = (f'// file {i}\n' + f'fn f{i}() -> u32 {{ {i} }}\n' * 20).encode()
    out.write(f'M 100644 inline d{i // 500}/s{i // 50}/f{i}.rs\n'.encode())
    out.write(b'data %d\n' % len(b) + b + b'\n')
out.write(b'done\n')
PY
}

# LARGE_MB of history: 4 MB blobs of incompressible bytes, one per commit.
gen_large() {
  python3 - "$LARGE_MB" <<'PY'
import os, sys
mb = int(sys.argv[1])
out = sys.stdout.buffer
for c in range(max(1, mb // 4)):
    out.write(b'commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\n' % (1600000000 + c))
    out.write(b'data 6\nlarge\n\n')
    b = os.urandom(4 * 1024 * 1024)
    out.write(f'M 100644 inline blobs/b{c % 50}.bin\n'.encode())
    out.write(b'data %d\n' % len(b) + b + b'\n')
out.write(b'done\n')
PY
}

new_repo() {
  rm -rf "$1" && git init -q --bare "$1"
}

rss_mb() { # command... -> peak RSS in MB
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ {printf "%.1f", $6 / 1024}'
}

wall() { # label command-string...
  if [ "$HAVE_HYPERFINE" = 1 ]; then
    hyperfine --warmup 1 --runs "$RUNS" --style basic "$@" 2>&1 | grep -v '^ *$'
  else
    for cmd in "$@"; do
      s=$(date +%s%N); bash -c "$cmd" >/dev/null 2>&1 || true; e=$(date +%s%N)
      printf '  %-70s %d ms\n' "$cmd" $(( (e - s) / 1000000 ))
    done
  fi
}

compare_history() { # repo label
  local repo=$1 label=$2
  echo
  echo "== $label: $(git -C "$repo" rev-list --all | wc -l) commits, $(git -C "$repo" count-objects -v | awk '/in-pack/ {print $2}') packed objects, pack $(du -sh "$repo/objects/pack" | cut -f1)"
  echo "   blobs: $(git -C "$repo" cat-file --batch-all-objects --batch-check='%(objecttype)' | grep -c blob)"
  wall \
    "git -C $repo cat-file --batch-all-objects --batch --unordered > /dev/null" \
    "$KS git $repo --quiet --format json --output /dev/null --exit-code 0" \
    "git -C $repo log -p --all > /dev/null"
  echo "   peak RSS: keysweep git $(rss_mb "$KS" git "$repo" --quiet --format json --output /dev/null --exit-code 0) MB;" \
       "cat-file $(rss_mb git -C "$repo" cat-file --batch-all-objects --batch --unordered) MB"
  echo "   findings: $("$KS" git "$repo" --quiet --format jsonl --exit-code 0 | grep -c key_id || true)"
}

echo "work directory: $WORK ($(nproc) cores)"

H="$WORK/history.git"
new_repo "$H"
echo "generating $COMMITS commits over $FILES files ..."
gen_history | git -C "$H" fast-import --quiet
echo "repacking with deltas (as git gc would) ..."
git -C "$H" repack -a -d -f -q --depth=50 --window=50
compare_history "$H" "generated history"

if [ -n "${REAL_REPO:-}" ]; then
  compare_history "$REAL_REPO" "real repository $(basename "$REAL_REPO")"
fi

if [ "$LARGE_MB" -gt 0 ]; then
  L="$WORK/large.git"
  new_repo "$L"
  echo
  echo "generating a ${LARGE_MB} MB history (4 MB incompressible blobs) ..."
  gen_large | git -C "$L" fast-import --quiet
  echo "== large history: pack $(du -sh "$L/objects/pack" | cut -f1)"
  echo "   peak RSS: keysweep git $(rss_mb "$KS" git "$L" --quiet --format json --output /dev/null --exit-code 0) MB" \
       "(1 thread: $(rss_mb "$KS" git "$L" --threads 1 --quiet --format json --output /dev/null --exit-code 0) MB);" \
       "cat-file $(rss_mb git -C "$L" cat-file --batch-all-objects --batch --unordered) MB"
  wall \
    "git -C $L cat-file --batch-all-objects --batch --unordered > /dev/null" \
    "$KS git $L --quiet --format json --output /dev/null --exit-code 0"
fi

W="$WORK/wide"
rm -rf "$W" && git init -q -b main "$W"
gen_wide | git -C "$W" fast-import --quiet
git -C "$W" reset -q --hard main
printf 'aws_access_key_id = AKIAUJZDEGXDNCF32EPF\n' >> "$W/d7/s70/f3500.rs"
git -C "$W" add d7/s70/f3500.rs
echo
echo "== --staged: $(git -C "$W" ls-files | wc -l) files, 1 staged"
wall "cd $W && $KS git --staged --quiet --exit-code 0 > /dev/null"
echo "   peak RSS: $(cd "$W" && rss_mb "$KS" git --staged --quiet --exit-code 0) MB"
