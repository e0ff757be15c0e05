//! Archives, compressed files and encodings, end to end: files built at test time with the
//! compression crates, scanned by the real binary.

use crate::common;

use std::collections::BTreeSet;
use std::io::{Cursor, Write};
use std::path::Path;

use base64::Engine;
use serde_json::Value;
use tempfile::TempDir;

use common::{json_scan, keysweep, write, Run, KEY, SECRET};

// More made-up keys (random base32 / base64).
const PLANTED: [(&str, &str); 6] = [
    (
        "AKIAUJZDEGXDNCF32EPF",
        "2HPcHyGcFRl1SPnXNYvMIHa/2o76umfXfKm/r5kJ",
    ),
    (
        "AKIAH2KVJ72CEUVW75EF",
        "i8IHn5kxsC7tVO/HbkQfyy/KV5zjR3j1twdTKWTd",
    ),
    (
        "AKIAOA7LQSAJ2XUID5ZZ",
        "zyN9zHYIa4UOrGNATMuDJawTgsu8PO+799nKSNrh",
    ),
    (
        "AKIA6KBNXJBTFQXKWOVO",
        "YezdZ/tDDj8hYs5suKcNd8Zra9A9sKPxZ9W3qLy7",
    ),
    (
        "AKIAZFKKIBJ5J6WJIBAG",
        "R3YbDgbleph1QHt61QTC4XATWS8PHp9NHfYjFM5D",
    ),
    (
        "AKIAE4UMR46PQM4I2HZ4",
        "oJe2JbmPTuSgR7cMy+UcU3zr1ZtoLuCr64CxqlIO",
    ),
];

fn env_file(key: &str, secret: &str) -> Vec<u8> {
    format!("# deploy settings\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
        .into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

fn zip(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(method)
        .large_file(true);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Write the name bytes as they are (`../x`, `/x`): set_path refuses those.
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// `keysweep scan --format json --show-secrets ARGS` run in `dir`.
fn scan(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = json_scan();
    cmd.current_dir(dir).arg("--show-secrets").args(args);
    Run::report(cmd.output().unwrap())
}

fn field<'a>(f: &'a Value, name: &str) -> Option<&'a str> {
    f.get(name)
        .or_else(|| f["location"].get(name))
        .and_then(Value::as_str)
}

/// (path, archive_member, kind, key_id) of every finding.
fn summary(run: &Run) -> Vec<(String, String, String, String)> {
    run.findings
        .iter()
        .map(|f| {
            (
                field(f, "path").unwrap_or("").to_string(),
                field(f, "archive_member").unwrap_or("").to_string(),
                field(f, "kind").unwrap_or("").to_string(),
                field(f, "key_id").unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn pair(path: &str, member: &str) -> (String, String, String, String) {
    (
        path.to_string(),
        member.to_string(),
        "access_key_pair".to_string(),
        KEY.to_string(),
    )
}

#[test]
fn compressed_files_are_opened() {
    let dir = TempDir::new().unwrap();
    let env = env_file(KEY, SECRET);
    write(dir.path(), "logs/prod.env.gz", gzip(&env));
    write(dir.path(), "logs/prod.env.bz2", bzip2(&env));
    write(dir.path(), "logs/prod.env.xz", xz(&env));
    write(dir.path(), "logs/prod.env.zst", zstd(&env));
    let run = scan(dir.path(), &["logs"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        summary(&run),
        vec![
            pair("logs/prod.env.bz2", ""),
            pair("logs/prod.env.gz", ""),
            pair("logs/prod.env.xz", ""),
            pair("logs/prod.env.zst", ""),
        ]
    );
    for f in &run.findings {
        assert_eq!(f["location"]["line"], 2);
        assert_eq!(f["secret"], SECRET);
    }
    assert!(
        run.stderr.contains("4 archives opened"),
        "summary: {}",
        run.stderr
    );
}

#[test]
fn zip_and_tar_members_are_named() {
    let dir = TempDir::new().unwrap();
    let env = env_file(KEY, SECRET);
    let readme: &[u8] = b"nothing here\n";
    write(
        dir.path(),
        "dump/app.zip",
        zip(
            &[("README", readme), ("config/prod.env", &env)],
            zip::CompressionMethod::Deflated,
        ),
    );
    write(
        dir.path(),
        "dump/site.tar.gz",
        gzip(&tar(&[("x/readme", readme), ("x/y.env", &env)])),
    );
    write(
        dir.path(),
        "dump/site.tgz",
        gzip(&tar(&[("etc/app.env", &env)])),
    );
    let run = scan(dir.path(), &["dump"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        summary(&run),
        vec![
            pair("dump/app.zip", "config/prod.env"),
            pair("dump/site.tar.gz", "x/y.env"),
            pair("dump/site.tgz", "etc/app.env"),
        ]
    );
    // The text report names the member with `!`.
    let out = keysweep()
        .current_dir(dir.path())
        .args(["scan", "dump/app.zip", "--color", "never"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("dump/app.zip!config/prod.env"), "{text}");
}

#[test]
fn nested_zip_in_tar_gz_in_zip() {
    let dir = TempDir::new().unwrap();
    let env = env_file(KEY, SECRET);
    let deep = zip(&[("creds/app.env", &env)], zip::CompressionMethod::Deflated);
    let middle = gzip(&tar(&[("deploy/deep.zip", &deep)]));
    let outer = zip(&[("inner.tar.gz", &middle)], zip::CompressionMethod::Stored);
    write(dir.path(), "outer.zip", &outer);

    let run = scan(dir.path(), &["outer.zip"]);
    assert_eq!(
        summary(&run),
        vec![pair(
            "outer.zip",
            "inner.tar.gz!deploy/deep.zip!creds/app.env"
        )]
    );

    // One level: the tar.gz is not opened, and a warning says so: its contents were not
    // scanned, so the run is not clean (exit 2) unless --allow-incomplete.
    let run = scan(dir.path(), &["outer.zip", "--archive-depth", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.findings.is_empty());
    assert!(
        run.stderr
            .contains("outer.zip!inner.tar.gz: gzip archive nested deeper than --archive-depth 1"),
        "{}",
        run.stderr
    );
    let run = scan(
        dir.path(),
        &["outer.zip", "--archive-depth", "1", "--allow-incomplete"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Depth 0: archives are raw bytes, as asked.
    let run = scan(dir.path(), &["outer.zip", "--archive-depth", "0"]);
    assert!(run.findings.is_empty());
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn formats_are_recognised_by_content_not_name() {
    let dir = TempDir::new().unwrap();
    let env = env_file(KEY, SECRET);
    write(dir.path(), "notes.txt", gzip(&env));
    write(dir.path(), "plain.gz", &env);
    let run = scan(dir.path(), &["."]);
    assert_eq!(
        summary(&run),
        vec![pair("./notes.txt", ""), pair("./plain.gz", "")]
    );
}

#[test]
fn stdin_archive() {
    let env = env_file(KEY, SECRET);
    let out = keysweep()
        .args(["scan", "-", "--format", "jsonl"])
        .write_stdin(zstd(&env))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(KEY), "{text}");
}

fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
    let mut units: Vec<u16> = Vec::new();
    if bom {
        units.push(0xfeff);
    }
    units.extend(text.encode_utf16());
    units
        .iter()
        .flat_map(|u| {
            if little_endian {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            }
        })
        .collect()
}

#[test]
fn utf16_files() {
    let dir = TempDir::new().unwrap();
    let text = format!(
        "[default]\r\nregion = eu-west-1 — café\r\naws_access_key_id = {KEY}\r\naws_secret_access_key = {SECRET}\r\n"
    );
    write(dir.path(), "le-bom.ini", utf16(&text, true, true));
    write(dir.path(), "le.ini", utf16(&text, true, false));
    write(dir.path(), "be.ini", utf16(&text, false, false));
    // UTF-16 inside an archive too.
    write(
        dir.path(),
        "export.zip",
        zip(
            &[("win/creds.ini", &utf16(&text, true, true))],
            zip::CompressionMethod::Deflated,
        ),
    );
    let run = scan(dir.path(), &["."]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let got: Vec<(String, String, u64, u64)> = run
        .findings
        .iter()
        .map(|f| {
            (
                field(f, "path").unwrap().to_string(),
                field(f, "decoded_from").unwrap_or("").to_string(),
                f["location"]["line"].as_u64().unwrap(),
                f["location"]["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let at = |p: &str, d: &str| (p.to_string(), d.to_string(), 3, 21);
    assert_eq!(
        got,
        vec![
            at("./be.ini", "utf-16be"),
            at("./export.zip", "utf-16le"),
            at("./le-bom.ini", "utf-16le"),
            at("./le.ini", "utf-16le"),
        ]
    );
    assert!(run.findings.iter().all(|f| f["kind"] == "access_key_pair"));
}

#[test]
fn base64_kubernetes_secret() {
    let dir = TempDir::new().unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: aws-creds\ntype: Opaque\ndata:\n  \
         AWS_ACCESS_KEY_ID: {}\n  AWS_SECRET_ACCESS_KEY: {}\n  region: {}\n",
        b64(KEY),
        b64(SECRET),
        b64("eu-west-1"),
    );
    write(dir.path(), "k8s/secret.yaml", manifest.as_bytes());
    let run = scan(dir.path(), &["k8s"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings.len(), 1, "{:#?}", run.findings);
    let f = &run.findings[0];
    assert_eq!(f["kind"], "access_key_pair");
    assert_eq!(f["key_id"], KEY);
    assert_eq!(f["secret"], SECRET);
    assert_eq!(f["location"]["decoded_from"], "base64");
    // Where the encoded key ID sits: line 7, after "  AWS_ACCESS_KEY_ID: ".
    assert_eq!(f["location"]["line"], 7);
    assert_eq!(f["location"]["column"], 22);
}

#[test]
fn url_encoded_secret_in_query_string() {
    let dir = TempDir::new().unwrap();
    let encoded = SECRET.replace('/', "%2F").replace('+', "%2B");
    let log = format!(
        "10.0.0.1 - - [27/Nov/2026] \"GET /health HTTP/1.1\" 200 2\n\
         10.0.0.2 - - [27/Nov/2026] \"GET /callback?aws_access_key_id={KEY}&aws_secret_access_key={encoded}&x=1 HTTP/1.1\" 302 0\n"
    );
    write(dir.path(), "access.log", log.as_bytes());
    let run = scan(dir.path(), &["access.log"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // One pair: the plain key ID alone is not reported besides it.
    assert_eq!(run.findings.len(), 1, "{:#?}", run.findings);
    let f = &run.findings[0];
    assert_eq!(f["kind"], "access_key_pair");
    assert_eq!(f["secret"], SECRET);
    assert_eq!(f["location"]["decoded_from"], "url");
    assert_eq!(f["location"]["line"], 2);
}

#[test]
fn json_unicode_escapes() {
    let dir = TempDir::new().unwrap();
    let escaped = SECRET.replace('/', "\\u002F").replace('+', "\\u002B");
    let key = KEY.replacen('A', "\\u0041", 1);
    let json = format!(
        "{{\n  \"aws_access_key_id\": \"{key}\",\n  \"aws_secret_access_key\": \"{escaped}\"\n}}\n"
    );
    write(dir.path(), "creds.json", json.as_bytes());
    let run = scan(dir.path(), &["creds.json"]);
    assert_eq!(run.findings.len(), 1, "{:#?}", run.findings);
    let f = &run.findings[0];
    assert_eq!(f["key_id"], KEY);
    assert_eq!(f["secret"], SECRET);
    assert_eq!(f["location"]["decoded_from"], "json-escape");
    assert_eq!(f["location"]["line"], 2);
}

#[test]
fn encoded_copy_of_a_plain_key_is_not_reported_twice() {
    let dir = TempDir::new().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(env_file(KEY, SECRET));
    let mut text = env_file(KEY, SECRET);
    text.extend_from_slice(format!("backup: {b64}\n").as_bytes());
    write(dir.path(), "both.txt", &text);
    let run = scan(dir.path(), &["both.txt"]);
    assert_eq!(run.findings.len(), 1, "{:#?}", run.findings);
    assert!(run.findings[0]["location"].get("decoded_from").is_none());
}

/// An `aws s3 sync` dump: 10,000 small objects, gzip'd logs and JSON, keys in a few.
#[test]
fn s3_sync_dump() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("bucket");
    let mut planted: BTreeSet<(String, String)> = BTreeSet::new();
    for i in 0..10_000usize {
        let day = i % 28 + 1;
        if i % 2 == 0 {
            let mut log = String::new();
            for j in 0..8 {
                log.push_str(&format!(
                    "2026-11-{day:02}T10:{j:02}:00Z INFO req={i}-{j} GET /api/items/{j} 200 {}ms\n",
                    (i * 7 + j) % 500
                ));
            }
            let name = format!("logs/2026/11/{day:02}/app-{i:05}.log.gz");
            if i == 1234 || i == 8888 {
                let (key, secret) = PLANTED[if i == 1234 { 0 } else { 1 }];
                log.push_str(&format!(
                    "2026-11-{day:02}T10:59:00Z DEBUG env AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret}\n"
                ));
                planted.insert((format!("bucket/{name}"), key.to_string()));
            }
            write(&root, &name, gzip(log.as_bytes()));
        } else {
            let mut json = format!(
                "{{\"id\": {i}, \"kind\": \"order\", \"items\": [{}], \"note\": \"ok\"",
                i % 13
            );
            let name = format!("data/{:03}/obj-{i:05}.json", i % 100);
            if i == 4321 {
                let (key, secret) = PLANTED[2];
                json.push_str(&format!(
                    ", \"aws\": {{\"AccessKeyId\": \"{key}\", \"SecretAccessKey\": \"{secret}\"}}"
                ));
                planted.insert((format!("bucket/{name}"), key.to_string()));
            }
            if i == 7777 {
                let (key, secret) = PLANTED[3];
                let b64 = base64::engine::general_purpose::STANDARD.encode(format!(
                    "aws_access_key_id={key}\naws_secret_access_key={secret}\n"
                ));
                json.push_str(&format!(", \"userData\": \"{b64}\""));
                planted.insert((format!("bucket/{name}"), key.to_string()));
            }
            json.push_str("}\n");
            write(&root, &name, json.as_bytes());
        }
    }
    // And one archive of configs among them.
    let (key, secret) = PLANTED[4];
    write(
        &root,
        "backups/configs.tar.gz",
        gzip(&tar(&[
            ("etc/app/app.conf", b"port = 8080\n"),
            ("etc/app/aws.env", &env_file(key, secret)),
        ])),
    );
    planted.insert(("bucket/backups/configs.tar.gz".to_string(), key.to_string()));

    let run = scan(dir.path(), &["bucket"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found: BTreeSet<(String, String)> = run
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f["kind"], "access_key_pair", "{f:#}");
            (
                field(f, "path").unwrap().to_string(),
                field(f, "key_id").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(run.findings.len(), planted.len(), "{:#?}", run.findings);
    assert_eq!(found, planted);
    assert!(
        run.stderr.contains("scanned 10001 files"),
        "summary: {}",
        run.stderr
    );
}

/// Sets the "encrypted" flag of every member of a stored zip (local and central headers).
fn mark_encrypted(mut zip: Vec<u8>) -> Vec<u8> {
    for (sig, flag_at) in [(b"PK\x03\x04", 6), (b"PK\x01\x02", 8)] {
        let mut at = 0;
        while let Some(p) = zip[at..].windows(4).position(|w| w == sig) {
            zip[at + p + flag_at] |= 1;
            at += p + 4;
        }
    }
    zip
}

#[test]
fn bad_inputs_are_named_and_the_scan_goes_on() {
    let dir = TempDir::new().unwrap();
    let env = env_file(KEY, SECRET);
    let (key2, secret2) = PLANTED[5];

    // Truncated gzip: the key comes before the cut and is still reported.
    let mut log = env.clone();
    for i in 0..50_000 {
        log.extend_from_slice(format!("line {i}: request served in {}ms\n", i % 97).as_bytes());
    }
    let gz = gzip(&log);
    write(dir.path(), "in/truncated.log.gz", &gz[..gz.len() / 2]);

    // Zip whose central directory is smashed: its members are read from the local headers.
    let mut broken = zip(
        &[("config/prod.env", &env_file(key2, secret2))],
        zip::CompressionMethod::Deflated,
    );
    let cd = broken.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    broken[cd..cd + 4].copy_from_slice(b"JUNK");
    let eocd = broken.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    broken.truncate(eocd + 6);
    write(dir.path(), "in/broken.zip", &broken);

    // Tar members named `../` and absolute: names only, reported verbatim, nothing written.
    write(
        dir.path(),
        "in/escape.tar",
        tar(&[("../../outside.env", &env), ("/etc/keysweep.env", &env)]),
    );

    // Zip bomb: a few KB that expands to 4 GiB of zeros (a multi-member gzip of zeros,
    // deflated again).
    let member = gzip(&vec![0u8; 1 << 20]);
    let zeros = member.repeat(4096);
    let bomb = zip(
        &[("zeros.gz", &zeros), ("after.env", &env)],
        zip::CompressionMethod::Deflated,
    );
    assert!(bomb.len() < 64 * 1024, "bomb is {} bytes", bomb.len());
    write(dir.path(), "in/bomb.zip", &bomb);

    // Encrypted member: a warning naming it.
    write(
        dir.path(),
        "in/locked.zip",
        mark_encrypted(zip(&[("secret.env", &env)], zip::CompressionMethod::Stored)),
    );

    // And a plain file with a key: the scan reports it.
    write(dir.path(), "in/ok.env", &env);

    let run = scan(dir.path(), &["in"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let got = summary(&run);
    let k2 = |p: &str, m: &str| {
        (
            p.to_string(),
            m.to_string(),
            "access_key_pair".to_string(),
            key2.to_string(),
        )
    };
    // The bomb member is skipped alone: the member after it is read.
    assert_eq!(
        got,
        vec![
            pair("in/bomb.zip", "after.env"),
            k2("in/broken.zip", "config/prod.env"),
            pair("in/escape.tar", "../../outside.env"),
            pair("in/escape.tar", "/etc/keysweep.env"),
            pair("in/ok.env", ""),
            pair("in/truncated.log.gz", ""),
        ]
    );
    let err = &run.stderr;
    assert!(
        err.contains("keysweep: error: in/truncated.log.gz: corrupt or truncated gzip data"),
        "{err}"
    );
    assert!(
        err.contains("keysweep: error: in/broken.zip: corrupt zip (central directory"),
        "{err}"
    );
    assert!(
        err.contains("keysweep: not scanned: in/bomb.zip!zeros.gz: expands more than 1000x"),
        "{err}"
    );
    assert!(
        err.contains("keysweep: not scanned: in/locked.zip!secret.env: encrypted zip member"),
        "{err}"
    );
    // Nothing was written outside (or inside) the scanned tree.
    assert!(!dir.path().join("outside.env").exists());
    assert!(!dir.path().parent().unwrap().join("outside.env").exists());
}

#[test]
fn limits_can_be_raised() {
    let dir = TempDir::new().unwrap();
    // 20 MiB of log lines, the key at the end.
    let mut log = Vec::new();
    let mut i = 0;
    while log.len() < 20 << 20 {
        log.extend_from_slice(format!("line {i}: GET /index.html 200\n").as_bytes());
        i += 1;
    }
    let lines = i;
    log.extend_from_slice(&env_file(KEY, SECRET));
    write(dir.path(), "big.log.gz", gzip(&log));

    // The key lies past the limit: not found, and the run is not clean.
    let run = scan(dir.path(), &["big.log.gz", "--max-archive-bytes", "4M"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("big.log.gz: archive decompresses past 4.0 MiB (--max-archive-bytes"),
        "{}",
        run.stderr
    );
    let run = scan(
        dir.path(),
        &[
            "big.log.gz",
            "--max-archive-bytes",
            "64M",
            "--max-ratio",
            "5",
        ],
    );
    assert!(
        run.stderr.contains("expands more than 5x"),
        "{}",
        run.stderr
    );
    assert!(run.findings.is_empty());
    assert_eq!(run.code, 2, "{}", run.stderr);

    // Past the 16 MiB segment size the line numbers are still those of the whole stream.
    let run = scan(dir.path(), &["big.log.gz"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings.len(), 1);
    assert_eq!(run.findings[0]["location"]["line"], lines + 2);
}

#[test]
fn progress_stays_off_stdout() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "a.gz", gzip(&env_file(KEY, SECRET)));
    let out = keysweep()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "jsonl", "--no-progress"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(serde_json::from_str::<Value>(stdout.trim()).is_ok());
    let stderr = String::from_utf8(out.stderr).unwrap();
    // Not a terminal: no progress line, only the summary.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("1 archive opened"), "{stderr}");
}
