#!/usr/bin/env bash
# Reliability benchmark: peak memory on hostile inputs, and no crash when a file shrinks
# under the scan. Figures, not a test: every number is printed, none is asserted.
#
#   1. xz whose header asks for a 1 GiB dictionary (about 1.2 MB of file)
#   2. .tar.zst holding three nested `zstd --long=27` streams (128 MiB windows)
#   3. zip of 300,000 empty members
#   4. 1 GB and 10 GB of log lines piped on stdin (memory must not grow with the size)
#   5. a 2 GB file truncated by another process while it is scanned: keysweep must not die
#      (it used to map big files: SIGBUS, exit 135, findings of other files lost)
#   6. `-j 5000` on one file (capped, with a warning)
#
# For each: peak RSS from /usr/bin/time -v, wall time, exit code and keysweep's summary.
# Targets (issue 10): every case < 200 MB peak RSS; stdin < 150 MB and flat in the size.
#
# Usage: benches/reliability.sh [WORKDIR]     (env: KEYSWEEP=path/to/binary, STDIN_GB=10)
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${1:-${TMPDIR:-/tmp}/keysweep-reliability-bench}
STDIN_GB=${STDIN_GB:-10}
if [ -z "${KEYSWEEP:-}" ]; then
  cargo build --release -q
  KEYSWEEP=${CARGO_TARGET_DIR:-$PWD/target}/release/keysweep
fi
for tool in python3 zstd /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
mkdir -p "$WORK"
cd "$WORK"

# Made-up key pair (never a real credential).
KEY=AKIAR7VZ3MOXQ4JTLW2N
SECRET=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

# measure NAME CMD...: runs CMD under /usr/bin/time -v, prints peak RSS, time, exit code and
# keysweep's summary line.
measure() {
  local name=$1; shift
  set +e
  /usr/bin/time -v -o time.txt "$@" >/dev/null 2>stderr.txt
  local code=$?
  set -e
  local rss wall
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f", $2/1024}' time.txt)
  wall=$(awk -F': ' '/Elapsed \(wall/ {print $2}' time.txt)
  printf '%-34s peak RSS %7s MB  wall %8s  exit %s\n' "$name" "$rss" "$wall" "$code"
  grep -E "^keysweep: (scanned|not scanned|error|warning)" stderr.txt | head -4 | sed 's/^/    /'
}

echo "== generating inputs under $WORK"
python3 - "$KEY" "$SECRET" <<'PY'
import io, lzma, os, random, sys, tarfile, zipfile, zlib
key, secret = sys.argv[1], sys.argv[2]
creds = f"aws_access_key_id = {key}\naws_secret_access_key = {secret}\n".encode()
r = random.Random(7)

# 1. xz, ~1.2 MB of incompressible data, header patched to ask for a 1 GiB dictionary.
data = bytes(r.getrandbits(8) for _ in range(1_200_000)) + creds
xz = bytearray(lzma.compress(data, preset=1))
size = (xz[12] + 1) * 4
props = next(i for i in range(12, 12 + size - 4) if xz[i] == 0x21 and xz[i + 1] == 1) + 2
xz[props] = 36  # 1 GiB
xz[12 + size - 4:12 + size] = zlib.crc32(bytes(xz[12:12 + size - 4])).to_bytes(4, "little")
open("big-dict.xz", "wb").write(xz)

# 3. 300,000 empty members.
with zipfile.ZipFile("many.zip", "w", zipfile.ZIP_STORED) as z:
    for i in range(300_000):
        z.writestr(f"d/{i:06d}", b"")
PY

# 2. three nested --long=27 zstd streams: each level is a tar of 64 MiB of log lines plus
#    the next level, compressed with a 128 MiB window.
if [ ! -f nested.tar.zst ]; then
  python3 - <<'PY'
import random
r = random.Random(3)
words = "GET POST ok error retry upstream cache hit miss user order item".split()
with open("log.txt", "w") as f:
    n = 0
    while n < 64 << 20:
        line = f"{r.randrange(10**6)} {' '.join(r.choice(words) for _ in range(8))}\n"
        f.write(line); n += len(line)
PY
  printf 'aws_access_key_id = %s\naws_secret_access_key = %s\n' "$KEY" "$SECRET" > prod.env
  tar cf l3.tar log.txt prod.env && zstd -q -f --long=27 -T1 l3.tar -o l3.tar.zst
  tar cf l2.tar log.txt l3.tar.zst && zstd -q -f --long=27 -T1 l2.tar -o l2.tar.zst
  tar cf l1.tar log.txt l2.tar.zst && zstd -q -f --long=27 -T1 l1.tar -o nested.tar.zst
  rm -f l1.tar l2.tar l3.tar l2.tar.zst l3.tar.zst
fi

# 5. 2 GB file for the truncation case, and a small file with a key.
mkdir -p shrink
printf 'aws_access_key_id = %s\naws_secret_access_key = %s\n' "$KEY" "$SECRET" > shrink/a.env

echo "== keysweep $("$KEYSWEEP" --version) on $(nproc) cores, $(date -u +%F) (machine shared with other jobs)"
measure "1. xz asking for a 1 GiB dict" "$KEYSWEEP" scan --no-progress big-dict.xz
measure "2. nested --long=27 .tar.zst" "$KEYSWEEP" scan --no-progress nested.tar.zst
ls -l nested.tar.zst | awk '{printf "    (%s bytes on disk)\n", $5}'
measure "3. zip of 300,000 empty members" "$KEYSWEEP" scan --no-progress many.zip
for gb in 1 "$STDIN_GB"; do
  measure "4. $gb GB of log lines on stdin" bash -c \
    "yes 'GET /index.html 200 1234 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" upstream=10.0.0.1' \
     | head -c ${gb}G | '$KEYSWEEP' scan --no-progress -"
done

echo "== 5. a 2 GB file truncated while it is scanned"
head -c 2G /dev/zero | tr '\0' 'x' > shrink/big.txt
set +e
"$KEYSWEEP" scan --no-progress --format json -j 2 shrink >out.json 2>stderr.txt &
pid=$!
sleep 0.3
truncate -s 0 shrink/big.txt
wait $pid
code=$?
set -e
echo "    exit $code (135 would be SIGBUS), findings in the report: $(grep -o '"key_id"' out.json | wc -l)"
grep -E "^keysweep: (error|scanned)" stderr.txt | sed 's/^/    /'

measure "6. -j 5000 on one file" "$KEYSWEEP" scan --no-progress -j 5000 shrink/a.env
grep -E "capped" stderr.txt | sed 's/^/    /'
rm -rf shrink
