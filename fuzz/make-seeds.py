#!/usr/bin/env python3
"""Writes the starting corpus of every fuzz target into fuzz/seeds/TARGET/ (committed, so a
fresh machine needs none of the tools used here; re-run after changing a format).

Keys are the made-up ones of tests/common/mod.rs. zstd frames come from the zstd CLI when it
is installed (the zstd seeds are kept otherwise)."""
import base64, bz2, gzip, io, json, lzma, os, shutil, struct, subprocess, tarfile, zipfile, hashlib

HERE = os.path.dirname(os.path.abspath(__file__))
KEY, SECRET = "AKIAR7VZ3MOXQ4JTLW2N", "Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy"
SKEY = "ASIAT4PZQ6HNB2LKW7XM"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6Wn3q4Zk8sR2vLm0pXc7yTg5hJd9fBe1oKa6uNiMwQIgS3rV8lYq2Zp4mWx7cTf1bHn6gKd0jRe9sUa5oLi3kqKgQIIhAAGgwxMjM0NTY3ODkwMTIiDGx1c2Vyc2Vzc2lvbg"
ENV = f"aws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n".encode()


def put(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(b):
    return gzip.compress(b, mtime=0)


def zst(b):
    if not shutil.which("zstd"):
        return None
    return subprocess.run(["zstd", "-q", "-c", "--no-check"], input=b, capture_output=True, check=True).stdout


def tar(members):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zipped(members, method=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, compress_type=method)
    return out.getvalue()


# detect: plain, pairs, encodings.
detect = {
    "env": ENV,
    "session": f"AWS_ACCESS_KEY_ID={SKEY}\nAWS_SECRET_ACCESS_KEY={SECRET}\nAWS_SESSION_TOKEN={TOKEN}\n".encode(),
    "csv": f"User name,Access key ID,Secret access key\ndeploy-bot,{KEY},{SECRET}\n".encode(),
    "json": json.dumps({"AccessKeyId": KEY, "SecretAccessKey": SECRET}).encode(),
    "json-escaped": json.dumps({"cfg": json.dumps({"AccessKeyId": KEY, "SecretAccessKey": SECRET})}).encode(),
    "base64": b"blob: " + base64.b64encode(ENV) + b"\n",
    "url": b"u=" + ENV.replace(b" ", b"%20").replace(b"\n", b"%0A").replace(b"/", b"%2F") + b"\n",
    "utf16le": b"\xff\xfe" + ENV.decode().encode("utf-16-le"),
    "utf16be": ENV.decode().encode("utf-16-be"),
    "allow": f"key = {KEY} # keysweep:allow\n".encode(),
}
for n, d in detect.items():
    put("detect", n, d)

# archives, each reader with a member holding the key pair.
put("archive_zip", "deflate.zip", zipped([("config/prod.env", ENV), ("readme", b"hello\n")]))
put("archive_zip", "stored.zip", zipped([("prod.env", ENV)], zipfile.ZIP_STORED))
put("archive_zip", "bzip2.zip", zipped([("prod.env", ENV)], zipfile.ZIP_BZIP2))
put("archive_zip", "lzma.zip", zipped([("prod.env", ENV)], zipfile.ZIP_LZMA))
put("archive_zip", "nested.zip", zipped([("inner.zip", zipped([("x.env", ENV)]))]))
put("archive_zip", "empty.zip", zipped([]))
put("archive_tar", "plain.tar", tar([("app/prod.env", ENV), ("app/other", b"x" * 100)]))
put("archive_tar", "nested.tar", tar([("inner.tar.gz", gz(tar([("x.env", ENV)])))]))
put("archive_gzip", "env.gz", gz(ENV))
put("archive_gzip", "tar.gz", gz(tar([("x.env", ENV)])))
put("archive_gzip", "multi.gz", gz(b"part one\n") + gz(ENV))
put("archive_bzip2", "env.bz2", bz2.compress(ENV))
put("archive_bzip2", "multi.bz2", bz2.compress(b"part one\n") + bz2.compress(ENV))
put("archive_xz", "env.xz", lzma.compress(ENV))
put("archive_xz", "tar.xz", lzma.compress(tar([("x.env", ENV)])))
put("archive_xz", "small-dict.xz", lzma.compress(ENV, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 4096}]))
for name, payload in [("env.zst", ENV), ("tar.zst", tar([("x.env", ENV)]))]:
    frame = zst(payload)
    if frame is not None:
        put("archive_zstd", name, frame)
nested = {
    "env": ENV,
    "tar.gz": gz(tar([("x.env", ENV)])),
    "zip-in-tar.xz": lzma.compress(tar([("a.zip", zipped([("b.env", ENV)]))])),
    "gz-in-zip": zipped([("c.env.gz", gz(ENV))]),
    "bz2-in-tar": tar([("d.bz2", bz2.compress(ENV))]),
    "utf16": b"\xff\xfe" + ENV.decode().encode("utf-16-le"),
}
frame = zst(gz(ENV))
if frame is not None:
    nested["gz.zst"] = frame
for n, d in nested.items():
    put("archive_nested", n, d)

# config and rules (TOML).
put("config", "full.toml", b"""[scan]
exclude = ["vendor/**", "*.min.js", "!keep/**"]
rules_dir = "rules"
max_archive_bytes = "64M"
max_ratio = 100
archive_depth = 2
my_accounts = ["123456789012"]

[[allow]]
key_id = "AKIAR7VZ3MOXQ4JTLW2N"
reason = "test fixture"

[[allow]]
fingerprint = "0123456789abcdef"
path = "tests/**/*.env"
reason = "documented"
""")
put("config", "empty.toml", b"")
with open(os.path.join(HERE, "..", "rules", "aws.toml"), "rb") as f:
    put("rules", "builtin.toml", f.read())
put("rules", "small.toml", b"""[[rule]]
id = "custom-token"
name = "Custom token"
description = "x"
keywords = ["tok_"]
window = [0, 40]
pattern = '(?P<secret>tok_[A-Za-z0-9]{32})'
examples = ["tok_abcdefghijklmnopqrstuvwxyz012345"]
counter_examples = ["tok_short"]
""")

# reports (JSON array and JSON Lines), for report and remediate.
def finding(key, **extra):
    f = {"rule": "aws-access-key-pair", "kind": "access_key_pair", "severity": "critical",
         "location": {"path": "app/.env", "line": 1, "column": 21},
         "fingerprint": hashlib.sha256((key or "").encode()).hexdigest()[:16],
         "verification": {"status": "not_checked"}, "remediation": []}
    if key:
        f["key_id"] = key
    f.update(extra)
    return f

findings = [
    finding(KEY, key_type="long_term", secret="Zq8v…(40 chars)", account_id="123456789012", account_id_source="decoded"),
    finding(SKEY, session_token="IQoJ…(300 chars)", verification={"status": "live", "arn": "arn:aws:sts::123456789012:assumed-role/ci-role/s"}),
    finding(KEY, user_name="deploy-bot", verification={"status": "live", "arn": "arn:aws:iam::123456789012:user/deploy-bot"}),
    finding(KEY, verification={"status": "owned", "arn": "arn:aws:iam::123456789012:root"}),
    finding(None, secret="Zq8v…(40 chars)", kind="secret_access_key"),
    finding(KEY, canary=True, account_id="534261010715"),
    finding(KEY, verification={"status": "foreign", "arn": "arn:aws:iam::210987654321:user/x"}),
    finding(KEY, location={"path": "repo", "commit": "0123456789abcdef0123456789abcdef01234567",
                            "date": "2024-05-01T12:00:00+02:00", "archive_member": "a.zip!b.env",
                            "decoded_from": "base64", "present_at_head": False, "line": 3, "column": 1}),
]
for target in ("report", "remediate"):
    put(target, "array.json", json.dumps(findings, indent=2, ensure_ascii=False).encode())
    put(target, "lines.jsonl", "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in findings).encode())
    put(target, "one.jsonl", (json.dumps(findings[0]) + "\n").encode())

# git pack: u16 LE index length, index (v2), pack. Two objects: a blob and an OFS_DELTA on it.
def idx_v2(entries):
    entries = sorted(entries)
    fan = [0] * 256
    for oid, _ in entries:
        for b in range(oid[0], 256):
            fan[b] += 1
    out = b"\xfftOc" + struct.pack(">I", 2) + b"".join(struct.pack(">I", n) for n in fan)
    out += b"".join(o for o, _ in entries)
    out += b"\0\0\0\0" * len(entries)  # crc32
    out += b"".join(struct.pack(">I", off) for _, off in entries)
    return out + b"\0" * 40

def idx_v1(entries):
    entries = sorted(entries)
    fan = [0] * 256
    for oid, _ in entries:
        for b in range(oid[0], 256):
            fan[b] += 1
    out = b"".join(struct.pack(">I", n) for n in fan)
    return out + b"".join(struct.pack(">I", off) + oid for oid, off in entries)

blob = bytes([0x30 | 5]) + b"\x78\x9c"  # type 3 (blob), size 5, zlib follows
pack = b"PACK" + struct.pack(">II", 2, 2)
blob_at = len(pack)
pack += blob + b"\0" * 12
delta_at = len(pack)
pack += bytes([0x60 | 4]) + bytes([delta_at - blob_at]) + b"\0" * 8
oids = [hashlib.sha1(b"a").digest(), hashlib.sha1(b"b").digest()]
for name, idx in [("v2", idx_v2([(oids[0], blob_at), (oids[1], delta_at)])),
                  ("v1", idx_v1([(oids[0], blob_at), (oids[1], delta_at)]))]:
    put("git_pack", name, struct.pack("<H", len(idx)) + idx + pack)
put("git_pack", "large-offset", struct.pack("<H", 0) + pack)
