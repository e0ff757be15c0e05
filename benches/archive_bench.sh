#!/usr/bin/env bash
# Archive benchmark: figures, not a test (targets are printed, never asserted).
#
#   1. A generated set of gzip'd logs (SIZE_MB of log text, default 1024, in 64 files of
#      realistic lines with a few planted keys): `keysweep scan` against
#      `zcat ... | rg -c 'AKIA|ASIA'`, with hyperfine. Target: keysweep <= 1.3x.
#   2. Plain (uncompressed) logs: keysweep's own no-candidate throughput, with and without
#      archive/decoding work (for regressions of the decoders' prefilters).
#   3. Zip bombs: a few KB expanding to 16 GiB (ratio limit) and a 1.5 MiB single-member
#      deflate bomb (byte limit): refused with a warning; peak RSS from /usr/bin/time -v.
#      Target: < 200 MB.
#
# Usage: benches/archive_bench.sh [WORKDIR]   (env: SIZE_MB, FILES, RUNS)
# Needs python3, gzip, and (installed here when missing, as root) ripgrep, hyperfine, time.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${1:-${TMPDIR:-/tmp}/keysweep-archive-bench}
SIZE_MB=${SIZE_MB:-1024}
FILES=${FILES:-64}
RUNS=${RUNS:-3}

need=()
command -v rg >/dev/null || need+=(ripgrep)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} (apt-get install -y ${need[*]})" >&2
    exit 2
  fi
fi

echo "== building (release)"
cargo build --release -q
KS=$PWD/target/release/keysweep

mkdir -p "$WORK"
LOGS=$WORK/gz-$SIZE_MB
PLAIN=$WORK/plain-$SIZE_MB
if [ ! -f "$LOGS/.done" ]; then
  echo "== generating $SIZE_MB MB of logs in $FILES gzip files under $LOGS"
  rm -rf "$LOGS" "$PLAIN"
  mkdir -p "$LOGS" "$PLAIN"
  python3 - "$LOGS" "$PLAIN" "$SIZE_MB" "$FILES" <<'EOF'
import gzip, random, sys
logs, plain, size_mb, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
r = random.Random(42)
agents = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "aws-sdk-go/1.44", "Go-http-client/1.1"]
words = "GET POST PUT DELETE ok error timeout retry upstream cache hit miss user order item".split()
def line(i):
    k = r.random()
    if k < 0.35:
        return (f'10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)} - - '
                f'[27/Nov/2026:10:{i % 60:02d}:{i % 59:02d} +0000] "GET /search?q=blue%20shoes&page={i % 9} '
                f'HTTP/1.1" {r.choice((200, 200, 200, 304, 404, 500))} {r.randrange(99999)} "-" "{r.choice(agents)}"\n')
    if k < 0.65:
        return ('{"ts":"2026-11-27T10:%02d:00Z","level":"%s","msg":"request done","trace":"%032x",'
                '"dur_ms":%d,"path":"/api/v1/items/%d"}\n'
                % (i % 60, r.choice(("info", "info", "warn", "debug")), r.getrandbits(128), r.randrange(999), i))
    if k < 0.72:
        return "deploy %040x by ci sha256=%064x\n" % (r.getrandbits(160), r.getrandbits(256))
    return " ".join(r.choice(words) for _ in range(r.randrange(5, 15))) + f" id={i}\n"
pool = "".join(line(i) for i in range(100000)).encode()
per_file = size_mb * 1024 * 1024 // files
keys = [("AKIAUJZDEGXDNCF32EPF", "2HPcHyGcFRl1SPnXNYvMIHa/2o76umfXfKm/r5kJ"),
        ("AKIAH2KVJ72CEUVW75EF", "i8IHn5kxsC7tVO/HbkQfyy/KV5zjR3j1twdTKWTd")]
for n in range(files):
    out = bytearray()
    while len(out) < per_file:
        start = r.randrange(len(pool) // 2)
        out += pool[start:start + min(per_file - len(out), len(pool) // 2)]
    if n in (3, files - 2):
        key, secret = keys[0 if n == 3 else 1]
        mid = out.find(b"\n", len(out) // 2) + 1
        out[mid:mid] = f"DEBUG env AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret}\n".encode()
    with open(f"{plain}/app-{n:03d}.log", "wb") as f:
        f.write(out)
    with open(f"{logs}/app-{n:03d}.log.gz", "wb") as f:
        f.write(gzip.compress(bytes(out), 6))
EOF
  touch "$LOGS/.done"
fi
gz_bytes=$(du -sb "$LOGS" | cut -f1)
plain_bytes=$(du -sb "$PLAIN" | cut -f1)
echo "   $(( plain_bytes / 1048576 )) MiB of log text, $(( gz_bytes / 1048576 )) MiB gzip'd, $FILES files"

echo "== 1. gzip'd logs: keysweep scan vs zcat | rg -c"
echo "   keysweep finds: $("$KS" scan "$LOGS" --format jsonl -q --no-progress | wc -l) findings (2 planted)"
echo "   zcat | rg counts: $(zcat "$LOGS"/*.gz | rg -c 'AKIA|ASIA' || true) lines"
hyperfine -N -i --warmup 1 --runs "$RUNS" --export-json "$WORK/gz.json" \
  -n keysweep "$KS scan $LOGS --format json -o /dev/null -q --no-progress" \
  -n 'zcat|rg' "sh -c \"zcat $LOGS/*.gz | rg -c 'AKIA|ASIA'\""
python3 - "$WORK/gz.json" "$plain_bytes" <<'EOF'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
ks, ref = r["keysweep"], r["zcat|rg"]
mb = int(sys.argv[2]) / 1e6
print(f"   keysweep {ks:.2f} s ({mb / ks:.0f} MB/s of log text), zcat|rg {ref:.2f} s: "
      f"ratio {ks / ref:.2f}x (target <= 1.3x)")
EOF

echo "== 2. plain logs: no-candidate throughput (archive and decoding code in the path)"
hyperfine -N -i --warmup 1 --runs "$RUNS" --export-json "$WORK/plain.json" \
  -n 'keysweep -j1' "$KS scan $PLAIN -j1 --format json -o /dev/null -q --no-progress" \
  -n 'keysweep' "$KS scan $PLAIN --format json -o /dev/null -q --no-progress" \
  -n 'rg -c' "rg -c 'AKIA|ASIA' $PLAIN"
python3 - "$WORK/plain.json" "$plain_bytes" <<'EOF'
import json, sys
mb = int(sys.argv[2]) / 1e6
for x in json.load(open(sys.argv[1]))["results"]:
    print(f"   {x['command']:<14} {x['mean']:.2f} s  {mb / x['mean']:.0f} MB/s")
EOF

echo "== 3. zip bombs: refused, peak RSS"
BOMBS=$WORK/bombs
mkdir -p "$BOMBS"
python3 - "$BOMBS" <<'EOF'
import gzip, sys, zipfile, zlib
d = sys.argv[1]
# 16 GiB of zeros: a multi-member gzip of 1 MiB zero blocks, deflated again inside a zip.
member = gzip.compress(bytes(1 << 20), 9)
with zipfile.ZipFile(f"{d}/nested-bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("zeros.gz", member * 16384)
# 1.5 GiB of zeros in one deflated member (deflate caps the ratio near 1000:1).
with zipfile.ZipFile(f"{d}/flat-bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("zeros.bin", "w", force_zip64=True) as f:
        block = bytes(1 << 24)
        for _ in range(96):
            f.write(block)
EOF
for bomb in "$BOMBS"/nested-bomb.zip "$BOMBS"/flat-bomb.zip; do
  size=$(stat -c %s "$bomb")
  /usr/bin/time -v "$KS" scan "$bomb" --no-progress >/dev/null 2>"$WORK/time.txt" || true
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
  warn=$(grep -m1 'keysweep: warning' "$WORK/time.txt" || echo "NO WARNING")
  echo "   $(basename "$bomb") ($size bytes): peak RSS $(( rss / 1024 )) MB, $wall (target < 200 MB)"
  echo "     $warn"
done
