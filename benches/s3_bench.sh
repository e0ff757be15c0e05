#!/usr/bin/env bash
# S3 benchmark: figures, not a test (the target is printed, never asserted).
#
# On one bucket of a local moto_server (127.0.0.1, nothing else is contacted):
#   A. keysweep scan s3://BUCKET
#   B. aws s3 sync s3://BUCKET TMPDIR && keysweep scan TMPDIR   (what users do today)
# Target: A not slower than B. Also prints A's requests, bytes and peak RSS.
#
# The bucket: OBJECTS small JSON/log objects (default 3000), GZ gzip'd logs of ~1 MiB text
# each (default 16), and one zip of ZIP_MB MiB (default 24), keys planted in a few.
#
# Usage: benches/s3_bench.sh [WORKDIR]   (env: OBJECTS, GZ, ZIP_MB, RUNS; KEYSWEEP=path of a
# built binary skips the build)
# Needs moto_server and the aws CLI (pip install 'moto[server]' awscli), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${1:-${TMPDIR:-/tmp}/keysweep-s3-bench}
OBJECTS=${OBJECTS:-3000}
GZ=${GZ:-16}
ZIP_MB=${ZIP_MB:-24}
RUNS=${RUNS:-3}

for tool in moto_server aws python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

if [ -n "${KEYSWEEP:-}" ]; then
  KS=$KEYSWEEP
else
  echo "== building (release)"
  cargo build --release -q
  KS=${CARGO_TARGET_DIR:-$PWD/target}/release/keysweep
fi

rm -rf "$WORK"
mkdir -p "$WORK/src" "$WORK/home"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true' EXIT

# Loopback only: moto's endpoint, test credentials, no profile or metadata lookups.
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=$WORK/home/config \
  AWS_SHARED_CREDENTIALS_FILE=$WORK/home/credentials NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
unset AWS_PROFILE AWS_ENDPOINT_URL_S3 || true
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
  sleep 0.1
done

echo "== generating $OBJECTS objects, $GZ gzip'd logs and a $ZIP_MB MiB zip"
python3 - "$WORK/src" "$OBJECTS" "$GZ" "$ZIP_MB" <<'EOF'
import gzip, os, random, sys, zipfile
root, objects, gz, zip_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(7)
keys = [("AKIAUJZDEGXDNCF32EPF", "2HPcHyGcFRl1SPnXNYvMIHa/2o76umfXfKm/r5kJ"),
        ("AKIAH2KVJ72CEUVW75EF", "i8IHn5kxsC7tVO/HbkQfyy/KV5zjR3j1twdTKWTd")]
def put(rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
for i in range(objects):
    body = '{"id": %d, "trace": "%032x", "items": [%s]}\n' % (
        i, r.getrandbits(128), ", ".join(str(r.randrange(999)) for _ in range(20)))
    if i == objects // 2:
        body += 'AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n' % keys[0]
    put(f"data/{i % 50:02d}/obj-{i:05d}.json", body.encode())
for n in range(gz):
    lines = [f"2026-11-27T10:{i % 60:02d}:00Z INFO req={n}-{i} GET /api/items/{i % 97} 200 {r.randrange(999)}ms trace={r.getrandbits(96):024x}\n"
             for i in range(12000)]
    if n == gz - 1:
        lines.insert(6000, "DEBUG env AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n" % keys[1])
    put(f"logs/app-{n:03d}.log.gz", gzip.compress("".join(lines).encode(), 6))
os.makedirs(os.path.join(root, "dumps"), exist_ok=True)
with zipfile.ZipFile(os.path.join(root, "dumps/site.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("blob.bin", os.urandom(zip_mb << 20))
    z.writestr("conf/app.env", "aws_access_key_id = %s\naws_secret_access_key = %s\n" % keys[0])
EOF
aws s3api create-bucket --bucket bench >/dev/null
aws s3 sync --only-show-errors "$WORK/src" s3://bench/
bytes=$(du -sb "$WORK/src" | cut -f1)
echo "   $(find "$WORK/src" -type f | wc -l) objects, $(( bytes / 1048576 )) MiB in s3://bench"

now() { python3 -c 'import time; print(time.monotonic())'; }
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.2f}")' "$@"; }

a_times=() b_times=()
for run in $(seq "$RUNS"); do
  t0=$(now)
  "$KS" scan s3://bench --format json -o "$WORK/a.json" --no-progress 2>"$WORK/a.err" || true
  t1=$(now)
  rm -rf "$WORK/copy"
  aws s3 sync --only-show-errors s3://bench "$WORK/copy"
  "$KS" scan "$WORK/copy" --format json -o "$WORK/b.json" --no-progress 2>"$WORK/b.err" || true
  t2=$(now)
  a_times+=("$(python3 -c "print($t1 - $t0)")")
  b_times+=("$(python3 -c "print($t2 - $t1)")")
  echo "   run $run: A $(median "${a_times[-1]}") s, B $(median "${b_times[-1]}") s"
done
a=$(median "${a_times[@]}")
b=$(median "${b_times[@]}")
findings() { python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$1"; }
echo "== results (median of $RUNS; machine shared with other jobs, so times are noisy)"
echo "   A keysweep scan s3://bench:             $a s, $(findings "$WORK/a.json") findings"
echo "   B aws s3 sync + keysweep scan DIR:      $b s, $(findings "$WORK/b.json") findings"
python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'   ratio A/B {a / b:.2f} (target <= 1.00)')" "$a" "$b"
echo "   A summary: $(grep 'keysweep: scanned' "$WORK/a.err")"

/usr/bin/time -v "$KS" scan s3://bench --format json -o /dev/null --no-progress 2>"$WORK/time.txt" || true
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt" 2>/dev/null || echo 0)
echo "   A peak RSS: $(( ${rss:-0} / 1024 )) MB"
