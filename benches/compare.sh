#!/usr/bin/env bash
# keysweep against its floor (ripgrep, zcat) on generated data: each row of issue 13 measured
# in one hyperfine command with its floor, printed as ratios, with peak RSS.
#
#   benches/compare.sh                      # ~400 MB tree, 1 GB single file and its .gz
#   BIG_MB=4096 benches/compare.sh          # the 4 GB single file of the issue's target
#   TREE_MB=128 BIG_MB=256 RUNS=3 benches/compare.sh   # a quick, smaller run
#   BEFORE=/path/to/old/keysweep benches/compare.sh    # adds the old binary to each command
#   DATA=/tmp/ksdata benches/compare.sh     # keeps the data there; a second run reuses it
#   ONLY="tree file" benches/compare.sh     # only those rows
#
# Rows (THREADS, default 2, is given to both tools where they take it):
#   tree        keysweep scan TREE              vs rg -uuu -c -j N 'AKIA|ASIA' TREE
#   file        keysweep scan FILE              vs rg -c -j N 'AKIA|ASIA' FILE
#   cat pipe    cat FILE | keysweep scan -      vs cat FILE | rg -c 'AKIA|ASIA'
#   zcat pipe   zcat FILE.gz | keysweep scan -  vs zcat FILE.gz | rg -c 'AKIA|ASIA'
#   .gz         keysweep scan FILE.gz           vs zcat FILE.gz | rg -c 'AKIA|ASIA'
# Every command's output goes through a pipe (hyperfine --output=pipe), so no tool can take a
# shortcut for discarded output. The .gz row raises --max-archive-bytes (the default 1 GiB
# budget would stop a 1 GB dump early). Peak RSS of each keysweep row comes from
# /usr/bin/time -v. Generated data is deleted at the end (KEEP=1 keeps it).
#
# The machine may be shared: hyperfine warms up and repeats; compare the ratios (measured in
# the same hyperfine command) rather than the absolute times, and look at the load average
# printed with them.
set -euo pipefail
cd "$(dirname "$0")/.."

TREE_MB=${TREE_MB:-400}
BIG_MB=${BIG_MB:-1024}
THREADS=${THREADS:-2}
RUNS=${RUNS:-5}
KEEP=${KEEP:-0}
BEFORE=${BEFORE:-}

for tool in hyperfine rg python3 gzip zcat; do
  command -v "$tool" >/dev/null 2>&1 || { echo "compare.sh needs $tool" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "compare.sh needs /usr/bin/time (GNU time)" >&2; exit 2; }

if [ -z "${KEYSWEEP:-}" ]; then
  echo "== cargo build --release"
  cargo build --release --quiet
  KEYSWEEP=${CARGO_TARGET_DIR:-$PWD/target}/release/keysweep
fi

# DATA=DIR reuses (or keeps) the generated data in DIR, e.g. to compare two builds on it.
if [ -n "${DATA:-}" ]; then
  WORK=$DATA
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d /tmp/keysweep-bench.XXXXXX)
  if [ "$KEEP" = 1 ]; then
    trap 'echo "kept generated data in $WORK"' EXIT
  else
    trap 'rm -rf "$WORK"' EXIT
  fi
fi
TREE=$WORK/tree
BIG=$WORK/big.txt
GZ=$WORK/big.txt.gz

# --- data ---------------------------------------------------------------------------------
if [ -f "$GZ" ]; then
  echo "== reusing the data in $WORK"
else
echo "== generating a ${TREE_MB} MB tree and a ${BIG_MB} MB single file under $WORK"
python3 - "$WORK" "$TREE_MB" "$BIG_MB" <<'PY'
import os, random, sys

work, tree_mb, big_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20261202)
MB = 1 << 20

WORDS = ("value config handler request response buffer index count result error client "
         "server parse render update item total offset length options context state stream "
         "cache router schema widget metrics logger payload retry timeout queue worker").split()

def w():
    return rnd.choice(WORDS)

def line():
    ind = "    " * rnd.randrange(4)
    k = rnd.randrange(8)
    if k == 0:
        return f"{ind}let {w()}_{rnd.randrange(100)} = {w()}(&{w()}, {rnd.randrange(10000)});\n"
    if k == 1:
        return f"{ind}// Returns the {w()} of the {w()} after {rnd.randrange(50)} updates.\n"
    if k == 2:
        return f"{ind}if {w()}.{w()}() > {rnd.randrange(1000)} {{ return Err(Error::{w().title()}); }}\n"
    if k == 3:
        return f"{ind}def {w()}_{w()}(self, {w()}, {w()}={rnd.randrange(9)}):\n"
    if k == 4:
        return f'{ind}const {w()} = await {w()}.{w()}({{ {w()}: "{w()}-{rnd.randrange(1 << 20)}" }});\n'
    if k == 5:
        return f'{ind}"{w()}_{w()}": {rnd.randrange(100000)},\n'
    if k == 6:
        return f"{ind}{w()}.{w()}({w()}, {hex(rnd.getrandbits(64))});\n"
    return f"{ind}}}\n"

# A 32 MB pool of source-like text; files are slices of it at random offsets.
pool = "".join(line() for _ in range(640_000)).encode()
while len(pool) < 32 * MB:
    pool += pool[: 32 * MB - len(pool)]

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

def plain(s):
    """No runs of 4+ equal or ascending characters (keys with such runs look like placeholders)."""
    return all(not (s[i] == s[i + 1] == s[i + 2] == s[i + 3]) and
               not (ord(s[i]) + 3 == ord(s[i + 1]) + 2 == ord(s[i + 2]) + 1 == ord(s[i + 3]))
               for i in range(len(s) - 3))

def key_id(prefix="AKIA"):
    while True:
        body = "".join(rnd.choice(B32) for _ in range(16))
        if plain(body) and not any(x in body for x in ("EXAMPLE", "TEST", "FAKE", "YOUR")):
            return prefix + body

def secret():
    while True:
        s = "".join(rnd.choice(B64) for _ in range(40))
        if (plain(s) and s.count("/") < 4 and any(c.isupper() for c in s)
                and any(c.islower() for c in s) and any(c.isdigit() for c in s)):
            return s

def leak(i):
    kid, sec = key_id(), secret()
    forms = [
        f"[default]\naws_access_key_id = {kid}\naws_secret_access_key = {sec}\n",
        f'    client = boto3.client("s3", aws_access_key_id="{kid}", aws_secret_access_key="{sec}")\n',
        f"export AWS_ACCESS_KEY_ID={kid}\nexport AWS_SECRET_ACCESS_KEY={sec}\n",
        f'    creds := credentials.NewStaticCredentials("{kid}", "{sec}", "")\n',
    ]
    return forms[i % len(forms)].encode()

def with_leak(data, text):
    at = data.find(b"\n", len(data) // 2) + 1
    return data[:at] + text + data[at:]

# The tree: two files of 10-30 MB, then many from 512 B to 512 KB (log-uniform), in
# directories of 40 files.
target = tree_mb * MB
sizes = [rnd.randint(10 * MB, 30 * MB) for _ in range(2 if tree_mb >= 200 else 0)]
while sum(sizes) < target:
    sizes.append(int(2 ** rnd.uniform(9, 19)))
exts = ["rs", "py", "js", "go", "java", "ts", "c", "md", "json", "yaml"]
leaky = set(rnd.sample(range(len(sizes)), 12))
planted = 0
for i, size in enumerate(sizes):
    d = os.path.join(work, "tree", f"part{i % 4 + 1}", f"pkg{(i // 4) // 40:03d}")
    os.makedirs(d, exist_ok=True)
    start = rnd.randrange(len(pool) - size) if size < len(pool) else 0
    data = pool[start:start + size]
    while len(data) < size:
        data += pool[: size - len(data)]
    if i in leaky:
        data = with_leak(data, leak(planted))
        planted += 1
    with open(os.path.join(d, f"file{i:05d}.{exts[i % len(exts)]}"), "wb") as f:
        f.write(data)
print(f"   tree: {len(sizes)} files, {sum(sizes) / MB:.0f} MB, {planted} with a planted key pair")

# The single big file: the pool over and over, a pair in the middle and one at the end.
with open(os.path.join(work, "big.txt"), "wb") as f:
    n = max(1, big_mb * MB // len(pool))
    for k in range(n):
        f.write(pool)
        if k == n // 2:
            f.write(leak(0))
    f.write(leak(1))
print(f"   big.txt: {os.path.getsize(os.path.join(work, 'big.txt')) / MB:.0f} MB, 2 planted pairs")
PY
echo "== gzip -1 big.txt"
gzip -1 -k "$BIG"
fi
[ "${GEN_ONLY:-0}" = 1 ] && exit 0
echo "   big.txt.gz: $(( $(stat -c %s "$GZ") >> 20 )) MB"

# --- measurements -------------------------------------------------------------------------
KS="$KEYSWEEP scan -q --no-progress --threads $THREADS"
OLD=""
[ -n "$BEFORE" ] && OLD="$BEFORE scan -q --no-progress --threads $THREADS"
PAT="'AKIA|ASIA'"
GZ_OPTS="--max-archive-bytes 1T"

# name, command pairs for one hyperfine run: "after" (and "before") then the floor.
bench() { # bench NAME FLOOR_CMD KS_CMD_WITH_@KS@
  local name=$1 floor=$2 cmd=$3 runs=$4
  local args=(-n "keysweep" "${cmd//@KS@/$KS}")
  [ -n "$OLD" ] && args+=(-n "before" "${cmd//@KS@/$OLD}")
  args+=(-n "floor" "$floor")
  hyperfine -i --output=pipe --warmup 1 --runs "$runs" --style basic \
    --export-json "$WORK/$name.json" "${args[@]}"
}

# Mean wall time of the command named $2 in a hyperfine JSON export.
mean_s() {
  python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    if r["command"] == sys.argv[2]: print("%.3f" % r["mean"])' "$1" "$2"
}
ratio() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }

# Peak RSS in MB of a shell command (its output through a pipe).
rss_mb() {
  /usr/bin/time -v -o "$WORK/time.txt" bash -c "$1" 2>/dev/null | cat >/dev/null || true
  awk -F: '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$WORK/time.txt"
}

echo "== sanity: findings"
echo "   tree: keysweep $($KEYSWEEP scan --format jsonl --threads "$THREADS" "$TREE" 2>/dev/null | wc -l), rg files $(rg -uuu -l 'AKIA|ASIA' "$TREE" | wc -l)"
echo "   file: keysweep $($KEYSWEEP scan --format jsonl --threads "$THREADS" "$BIG" 2>/dev/null | wc -l)"
echo "   .gz:  keysweep $($KEYSWEEP scan --format jsonl --threads "$THREADS" $GZ_OPTS "$GZ" 2>/dev/null | wc -l)"

declare -A FLOOR CMD
# ONLY="tree file" measures only those rows.
read -r -a ROWS <<< "${ONLY:-tree file cat zcat gz}"
CMD[tree]="@KS@ $TREE";                 FLOOR[tree]="rg -uuu -c -j $THREADS $PAT $TREE"
CMD[file]="@KS@ $BIG";                  FLOOR[file]="rg -c -j $THREADS $PAT $BIG"
CMD[cat]="cat $BIG | @KS@ -";           FLOOR[cat]="cat $BIG | rg -c $PAT"
CMD[zcat]="zcat $GZ | @KS@ -";          FLOOR[zcat]="zcat $GZ | rg -c $PAT"
CMD[gz]="@KS@ $GZ_OPTS $GZ";            FLOOR[gz]="zcat $GZ | rg -c $PAT"
declare -A RUNS_OF=([tree]=$RUNS [file]=$RUNS [cat]=$RUNS [zcat]=3 [gz]=3)

for row in "${ROWS[@]}"; do
  echo "== $row"
  bench "$row" "${FLOOR[$row]}" "${CMD[$row]}" "${RUNS_OF[$row]}"
done

declare -A RSS
for row in "${ROWS[@]}"; do
  RSS[$row]=$(rss_mb "${CMD[$row]//@KS@/$KS}")
done

echo
echo "== summary: keysweep $($KEYSWEEP --version | awk '{print $2}') ($(git rev-parse --short HEAD 2>/dev/null || echo '?')), $(rg --version | sed -n 1p), $THREADS threads, $(nproc) cores, $(date -u +%F)"
echo "load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"
printf '| %-9s | %-9s | %-9s | %-7s |' row "floor s" "keysweep" ratio
[ -n "$OLD" ] && printf ' %-9s | %-7s |' "before s" "ratio"
printf ' %-12s |\n' "peak RSS MB"
for row in "${ROWS[@]}"; do
  f=$(mean_s "$WORK/$row.json" floor)
  k=$(mean_s "$WORK/$row.json" keysweep)
  printf '| %-9s | %-9s | %-9s | %-7s |' "$row" "$f" "$k" "$(ratio "$k" "$f")x"
  if [ -n "$OLD" ]; then
    b=$(mean_s "$WORK/$row.json" before)
    printf ' %-9s | %-7s |' "$b" "$(ratio "$b" "$f")x"
  fi
  printf ' %-12s |\n' "${RSS[$row]}"
done
echo "(tree ${TREE_MB} MB, file ${BIG_MB} MB, .gz $(( $(stat -c %s "$GZ") >> 20 )) MB)"
