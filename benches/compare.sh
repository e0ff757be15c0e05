#!/usr/bin/env bash
# keysweep against ripgrep on generated data: wall time and peak RSS, printed as ratios.
#
#   benches/compare.sh                 # ~1 GB tree + 2 GB single file, 2 threads
#   SIZE_MB=256 BIG_MB=512 benches/compare.sh   # a quicker, smaller run
#
# What it does:
# 1. builds keysweep (release) unless KEYSWEEP points at a binary;
# 2. generates under /tmp a tree of SIZE_MB (default 1024) MB of source-like files (a few
#    thousand files from 1 KB to 1 MB plus some of tens of MB, in four parts of equal size),
#    with made-up AWS keys planted in a few of them, and a single BIG_MB (default 2048) MB file
#    with a key pair in the middle and one at the end;
# 3. warm cache: measures with hyperfine (output through a pipe rather than /dev/null, so no
#    tool can take a shortcut for discarded output) `keysweep scan -q --threads N` against
#    `rg -uuu -c -j N 'AKIA|ASIA'` (same files, same thread count) and prints the ratio;
# 4. peak RSS (/usr/bin/time -v) of both on the tree, of keysweep on 1/4, 1/2 and all of the
#    tree (it should stay flat), and of keysweep on the single big file (target <= 150 MB);
# 5. deletes the generated data (KEEP=1 keeps it and prints where).
#
# Targets (issue 2): the tree in <= 1.5x ripgrep's time; peak RSS <= 150 MB on a 2 GB file
# and flat as the tree grows.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-1024}
BIG_MB=${BIG_MB:-2048}
THREADS=${THREADS:-2}
RUNS=${RUNS:-5}
KEEP=${KEEP:-0}

# --- tools --------------------------------------------------------------------------------
missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -z "${KEYSWEEP:-}" ]; then
  echo "== cargo build --release"
  cargo build --release --quiet
  KEYSWEEP=$PWD/target/release/keysweep
fi

WORK=$(mktemp -d /tmp/keysweep-bench.XXXXXX)
if [ "$KEEP" = 1 ]; then
  trap 'echo "kept generated data in $WORK"' EXIT
else
  trap 'rm -rf "$WORK"' EXIT
fi
TREE=$WORK/tree
BIG=$WORK/big.txt

# --- data ---------------------------------------------------------------------------------
echo "== generating ${SIZE_MB} MB tree and ${BIG_MB} MB single file under $WORK"
python3 - "$WORK" "$SIZE_MB" "$BIG_MB" <<'PY'
import os, random, sys

work, size_mb, big_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20261127)
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

# The tree: big files first (some tens of MB), then files from 1 KB to 1 MB (log-uniform),
# dealt round-robin into part1..part4 so each part holds about a quarter of the bytes.
target = size_mb * MB
sizes = []
n_big = max(1, size_mb // 100)
for _ in range(n_big):
    sizes.append(rnd.randint(10 * MB, 30 * MB))
while sum(sizes) < target:
    sizes.append(int(2 ** rnd.uniform(10, 20)))
exts = ["rs", "py", "js", "go", "java", "ts", "c", "md", "json", "yaml"]
leaky = set(rnd.sample(range(len(sizes)), 12))
planted = 0
for i, size in enumerate(sizes):
    part = f"part{i % 4 + 1}"
    d = os.path.join(work, "tree", part, f"pkg{(i // 4) // 40:03d}")
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
print(f"   {len(sizes)} files, {sum(sizes) / MB:.0f} MB, {n_big} of 10-30 MB, "
      f"{planted} with a planted key pair")

# The single big file: the pool over and over, a pair in the middle and one at the end.
with open(os.path.join(work, "big.txt"), "wb") as f:
    n = big_mb * MB // len(pool)
    for k in range(n):
        f.write(pool)
        if k == n // 2:
            f.write(leak(0))
    f.write(leak(1))
print(f"   big.txt: {os.path.getsize(os.path.join(work, 'big.txt')) / MB:.0f} MB, 2 planted pairs")
PY

# --- measurements -------------------------------------------------------------------------
KS_CMD="$KEYSWEEP scan -q --threads $THREADS"
KS=("$KEYSWEEP" scan -q --threads "$THREADS")
RG=(rg -uuu -c -j "$THREADS" 'AKIA|ASIA')

# Peak RSS in MB of a command. Its output goes through a pipe, not to /dev/null (as above).
rss_mb() {
  { /usr/bin/time -v -o "$WORK/time.txt" "$@" 2>/dev/null || true; } | cat >/dev/null
  awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/time.txt"
}

# Mean wall time in seconds from a hyperfine JSON export, for command number $2.
mean_s() {
  python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"
}

ratio() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }

echo "== sanity: what each finds in the tree"
echo "   keysweep findings: $($KEYSWEEP scan --format jsonl --threads "$THREADS" "$TREE" 2>/dev/null | wc -l)"
echo "   rg files with AKIA|ASIA: $(rg -uuu -l -j "$THREADS" 'AKIA|ASIA' "$TREE" | wc -l)"

echo "== wall time, ${SIZE_MB} MB tree, $THREADS threads, warm cache ($RUNS runs each)"
hyperfine -N -i --output=pipe --warmup 2 --runs "$RUNS" --style basic \
  --export-json "$WORK/tree.json" \
  -n keysweep "$KS_CMD $TREE" \
  -n keysweep-no-ignore "$KS_CMD --no-ignore $TREE" \
  -n rg "rg -uuu -c -j $THREADS AKIA|ASIA $TREE"
ks=$(mean_s "$WORK/tree.json" 0)
ksni=$(mean_s "$WORK/tree.json" 1)
rg_t=$(mean_s "$WORK/tree.json" 2)

echo "== wall time, ${BIG_MB} MB single file"
hyperfine -N -i --output=pipe --warmup 1 --runs 3 --style basic \
  --export-json "$WORK/big.json" \
  -n keysweep "$KS_CMD $BIG" \
  -n rg "rg -uuu -c -j $THREADS AKIA|ASIA $BIG"
ks_big=$(mean_s "$WORK/big.json" 0)
rg_big=$(mean_s "$WORK/big.json" 1)

echo "== peak RSS"
rss_ks=$(rss_mb "${KS[@]}" "$TREE")
rss_rg=$(rss_mb "${RG[@]}" "$TREE")
rss_q=$(rss_mb "${KS[@]}" "$TREE/part1")
rss_h=$(rss_mb "${KS[@]}" "$TREE/part1" "$TREE/part2")
rss_big=$(rss_mb "${KS[@]}" "$BIG")
rss_rg_big=$(rss_mb "${RG[@]}" "$BIG")

cat <<EOF

== summary (keysweep $($KEYSWEEP --version | awk '{print $2}'), $(rg --version | sed -n 1p), $THREADS threads, $(nproc) cores)
load average at the end: $(cut -d" " -f1-3 /proc/loadavg)
tree ${SIZE_MB} MB   keysweep ${ks} s   rg ${rg_t} s   ratio keysweep/rg $(ratio "$ks" "$rg_t")   (target <= 1.5)
                 keysweep --no-ignore ${ksni} s   ratio $(ratio "$ksni" "$rg_t")
                 keysweep $(python3 -c "print('%.2f' % ($SIZE_MB / 1024 / $ks))") GB/s   rg $(python3 -c "print('%.2f' % ($SIZE_MB / 1024 / $rg_t))") GB/s
file ${BIG_MB} MB   keysweep ${ks_big} s   rg ${rg_big} s   ratio $(ratio "$ks_big" "$rg_big")
peak RSS tree    keysweep ${rss_ks} MB   rg ${rss_rg} MB   ratio $(ratio "$rss_ks" "$rss_rg")
RSS vs tree size keysweep 1/4: ${rss_q} MB   1/2: ${rss_h} MB   all: ${rss_ks} MB
peak RSS file    keysweep ${rss_big} MB (target <= 150)   rg ${rss_rg_big} MB (rg maps the file)
EOF
