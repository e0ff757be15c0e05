//! `keysweep scan s3://BUCKET[/PREFIX]` end to end against a real moto_server on 127.0.0.1,
//! with buckets filled at test time through the real `aws` CLI: thousands of objects with
//! compressed, archived and encoded members, versions behind delete markers, Glacier objects,
//! objects a bucket policy denies, buckets that do not exist or live in another region.

use crate::common;
use crate::common::moto;

use std::collections::BTreeSet;
use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use base64::Engine;
use serde_json::Value;
use tempfile::TempDir;

use common::{
    write, Run, ACCOUNT_KEY, ACCOUNT_SECRET, KEY, LONE_KEY, OTHER_KEY, SECRET, SESSION_KEY, TOKEN,
};
use moto::Moto;

fn env_file(key: &str, secret: &str) -> String {
    format!("# deploy\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
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
        h.set_path(name).unwrap();
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// Bytes that do not compress (a xorshift stream), so a zip holding them stays large.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `keysweep ARGS` as moto's operator (loopback only), with `cwd` as working directory.
fn keysweep(moto: &Moto, cwd: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("keysweep").expect("keysweep binary");
    moto.env(&mut cmd);
    cmd.current_dir(cwd).args(args);
    cmd.output().expect("run keysweep")
}

/// `keysweep scan --format json --no-progress ARGS`.
fn scan(moto: &Moto, cwd: &Path, args: &[&str]) -> Run {
    let mut all = vec!["scan", "--format", "json", "--no-progress"];
    all.extend(args);
    Run::report(keysweep(moto, cwd, &all))
}

fn loc<'a>(f: &'a Value, name: &str) -> &'a str {
    f["location"][name].as_str().unwrap_or("")
}

/// What identifies a finding, its path with `prefix` taken off.
fn identity(f: &Value, prefix: &str) -> String {
    let path = loc(f, "path");
    let path = path.strip_prefix(prefix).unwrap_or(path);
    format!(
        "{path} | {} | {} | {}:{} | {} | {}",
        loc(f, "archive_member"),
        loc(f, "decoded_from"),
        f["location"]["line"],
        f["location"]["column"],
        f["kind"].as_str().unwrap_or(""),
        f["key_id"].as_str().unwrap_or(""),
    )
}

/// The number after `label` in the summary line (`3 LIST`).
fn count_before(stderr: &str, label: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains("keysweep: scanned"))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    let at = line
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {line}"));
    line[..at]
        .split_whitespace()
        .last()
        .and_then(|w| w.trim_start_matches('(').parse().ok())
        .unwrap_or_else(|| panic!("no count before {label:?} in {line}"))
}

/// A bucket of 2,000+ objects holding keys in plain text, gzip, zip, a zip inside a tar.gz,
/// base64, UTF-16 and a zip larger than one ranged read, scanned as `s3://` finds exactly
/// what a scan of its `aws s3 sync` copy finds, at the same places.
#[test]
fn bucket_scan_matches_a_scan_of_its_synced_copy() {
    let moto = Moto::start();
    let work = TempDir::new().unwrap();
    let src = work.path().join("src");
    for i in 0..2000usize {
        let body = format!(
            "{{\"id\": {i}, \"kind\": \"order\", \"note\": \"nothing to see in object {i}\"}}\n"
        );
        write(&src, &format!("data/{:02}/obj-{i:04}.json", i % 40), body);
    }
    write(&src, "config/prod.env", env_file(KEY, SECRET));
    let log =
        format!("2026-11-02T10:00:00Z INFO boot\n2026-11-02T10:00:01Z DEBUG key={LONE_KEY}\n");
    write(&src, "logs/app.log.gz", gzip(log.as_bytes()));
    let session = format!(
        "[tmp]\naws_access_key_id = {SESSION_KEY}\naws_secret_access_key = {SECRET}\n\
         aws_session_token = {TOKEN}\n"
    );
    write(
        &src,
        "exports/bundle.zip",
        zip(
            &[
                ("readme.txt", b"nothing here\n"),
                ("creds/session.ini", session.as_bytes()),
            ],
            zip::CompressionMethod::Deflated,
        ),
    );
    let inner = zip(
        &[(
            "deep/app.env",
            env_file(ACCOUNT_KEY, ACCOUNT_SECRET).as_bytes(),
        )],
        zip::CompressionMethod::Deflated,
    );
    write(
        &src,
        "backups/site.tar.gz",
        gzip(&tar(&[
            ("site/index.html", b"<html></html>\n"),
            ("site/old.zip", &inner),
        ])),
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(env_file(OTHER_KEY, SECRET));
    write(
        &src,
        "k8s/secret.yaml",
        format!("data:\n  credentials: {b64}\n"),
    );
    write(
        &src,
        "win/notes.txt",
        utf16le(&format!("key {LONE_KEY}\r\n")),
    );
    // A zip larger than one ranged read (8 MiB), the key in its last member.
    let big = zip(
        &[
            ("blob.bin", &noise(9 << 20, 7)),
            ("tail/creds.env", env_file(KEY, SECRET).as_bytes()),
        ],
        zip::CompressionMethod::Stored,
    );
    write(&src, "dumps/big.zip", big);
    moto.create_bucket("dump-bucket", "us-east-1");
    moto.sync_up(&src, "dump-bucket");

    // The same objects, downloaded as `aws s3 sync` users do.
    let copy = work.path().join("copy");
    moto.aws(&[
        "s3",
        "sync",
        "--only-show-errors",
        "s3://dump-bucket/",
        &copy.to_string_lossy(),
    ]);
    let local = scan(&moto, work.path(), &["copy"]);
    assert_eq!(local.code, 1, "{}", local.stderr);

    let remote = scan(&moto, work.path(), &["s3://dump-bucket"]);
    assert_eq!(remote.code, 1, "{}", remote.stderr);
    let expected: BTreeSet<String> = local
        .findings
        .iter()
        .map(|f| identity(f, "copy/"))
        .collect();
    let found: BTreeSet<String> = remote
        .findings
        .iter()
        .map(|f| identity(f, "s3://dump-bucket/"))
        .collect();
    assert_eq!(found, expected, "{}", remote.stderr);
    assert_eq!(remote.findings.len(), local.findings.len());
    // Every planted place, each at its object (and member).
    let places: BTreeSet<(&str, &str)> = remote
        .findings
        .iter()
        .map(|f| (loc(f, "path"), loc(f, "archive_member")))
        .collect();
    for place in [
        ("s3://dump-bucket/config/prod.env", ""),
        ("s3://dump-bucket/logs/app.log.gz", ""),
        ("s3://dump-bucket/exports/bundle.zip", "creds/session.ini"),
        (
            "s3://dump-bucket/backups/site.tar.gz",
            "site/old.zip!deep/app.env",
        ),
        ("s3://dump-bucket/k8s/secret.yaml", ""),
        ("s3://dump-bucket/win/notes.txt", ""),
        ("s3://dump-bucket/dumps/big.zip", "tail/creds.env"),
    ] {
        assert!(places.contains(&place), "{place:?} missing: {places:#?}");
    }
    // The cost: 2,007 objects take three LIST pages (1,000 keys each) and one GET per object
    // plus the ranged reads of the zips; the whole big zip is downloaded at least once.
    let stderr = &remote.stderr;
    assert!(stderr.contains("scanned 2007 S3 objects"), "{stderr}");
    assert_eq!(count_before(stderr, "LIST"), 3, "{stderr}");
    let gets = count_before(stderr, "GET");
    assert!((2007 + 3..2007 + 10).contains(&gets), "{stderr}");
    assert!(stderr.contains("MiB downloaded"), "{stderr}");
}

/// A key in an object version that was overwritten and then deleted: invisible to a plain
/// scan, found with --all-versions at its version.
#[test]
fn all_versions_finds_keys_behind_delete_markers() {
    let moto = Moto::start();
    let work = TempDir::new().unwrap();
    moto.create_bucket("versioned", "us-east-1");
    moto.aws(&[
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        "versioned",
        "--versioning-configuration",
        "Status=Enabled",
    ]);
    write(work.path(), "leaky.env", env_file(KEY, SECRET));
    write(work.path(), "clean.env", "aws_region = eu-west-1\n");
    let leaky = moto.put("versioned", "app/.env", &work.path().join("leaky.env"), &[]);
    let leaky_version = leaky["VersionId"].as_str().expect("VersionId").to_string();
    moto.put("versioned", "app/.env", &work.path().join("clean.env"), &[]);
    moto.aws(&[
        "s3api",
        "delete-object",
        "--bucket",
        "versioned",
        "--key",
        "app/.env",
    ]);
    moto.put(
        "versioned",
        "app/readme",
        &work.path().join("clean.env"),
        &[],
    );

    let current = scan(&moto, work.path(), &["s3://versioned"]);
    assert_eq!(current.code, 0, "{}", current.stderr);
    assert!(current.findings.is_empty());
    assert!(
        current.stderr.contains("scanned 1 S3 object"),
        "{}",
        current.stderr
    );

    let all = scan(
        &moto,
        work.path(),
        &["s3://versioned/app/", "--all-versions"],
    );
    assert_eq!(all.code, 1, "{}", all.stderr);
    assert_eq!(all.findings.len(), 1, "{:#?}", all.findings);
    let f = &all.findings[0];
    assert_eq!(loc(f, "path"), "s3://versioned/app/.env");
    assert_eq!(loc(f, "version_id"), leaky_version);
    assert_eq!(f["key_id"], KEY);
    // Both versions of app/.env and app/readme; the delete marker has no content.
    assert!(
        all.stderr.contains("scanned 3 S3 objects"),
        "{}",
        all.stderr
    );
    // The object's write time dates the leak (the CloudTrail window starts there).
    assert!(loc(f, "date").starts_with("20"), "{f:#}");
}

/// Every report format names the object, its version and the archive member; SARIF uses the
/// s3:// URI.
#[test]
fn report_formats_name_object_version_and_member() {
    let moto = Moto::start();
    let work = TempDir::new().unwrap();
    moto.create_bucket("formats", "us-east-1");
    moto.aws(&[
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        "formats",
        "--versioning-configuration",
        "Status=Enabled",
    ]);
    let archive = zip(
        &[("conf/prod.env", env_file(KEY, SECRET).as_bytes())],
        zip::CompressionMethod::Deflated,
    );
    write(work.path(), "b.zip", archive);
    let put = moto.put(
        "formats",
        "dir with space/b.zip",
        &work.path().join("b.zip"),
        &[],
    );
    let version = put["VersionId"].as_str().unwrap().to_string();
    let url = "s3://formats/dir with space/b.zip";

    let text = keysweep(
        &moto,
        work.path(),
        &["scan", "--no-progress", "s3://formats"],
    );
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{url}!conf/prod.env @ version {version}")),
        "{stdout}"
    );
    assert!(stdout.contains("object written 20"), "{stdout}");

    let jsonl = keysweep(
        &moto,
        work.path(),
        &["scan", "--format", "jsonl", "s3://formats"],
    );
    let line: Value = serde_json::from_slice(&jsonl.stdout).expect("one JSON line");
    assert_eq!(loc(&line, "path"), url);
    assert_eq!(loc(&line, "archive_member"), "conf/prod.env");
    assert_eq!(loc(&line, "version_id"), version);

    let sarif = keysweep(
        &moto,
        work.path(),
        &["scan", "--format", "sarif", "s3://formats"],
    );
    let log: Value = serde_json::from_slice(&sarif.stdout).expect("SARIF JSON");
    let result = &log["runs"][0]["results"][0];
    let artifact = &result["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(artifact["uri"], "s3://formats/dir%20with%20space/b.zip");
    assert!(artifact.get("uriBaseId").is_none(), "{artifact:#}");
    assert_eq!(result["properties"]["archiveMember"], "conf/prod.env");
    assert_eq!(result["properties"]["versionId"], version.as_str());
}

/// Objects in Glacier / Deep Archive are not downloaded: counted and named, and a run that
/// found nothing else is not clean (exit 2).
#[test]
fn archived_objects_are_skipped_counted_and_not_clean() {
    let moto = Moto::start();
    let work = TempDir::new().unwrap();
    moto.create_bucket("cold", "us-east-1");
    write(work.path(), "leaky.env", env_file(KEY, SECRET));
    write(work.path(), "clean.txt", "hello\n");
    moto.put(
        "cold",
        "frozen/a.env",
        &work.path().join("leaky.env"),
        &["--storage-class", "GLACIER"],
    );
    moto.put(
        "cold",
        "frozen/b.env",
        &work.path().join("leaky.env"),
        &["--storage-class", "DEEP_ARCHIVE"],
    );
    moto.put(
        "cold",
        "instant.env",
        &work.path().join("clean.txt"),
        &["--storage-class", "GLACIER_IR"],
    );
    moto.put("cold", "warm.txt", &work.path().join("clean.txt"), &[]);

    let run = scan(&moto, work.path(), &["s3://cold"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.findings.is_empty());
    assert!(
        run.stderr.contains("scanned 2 S3 objects"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("2 objects not scanned (2 in Glacier/Deep Archive)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("frozen/a.env, frozen/b.env"),
        "{}",
        run.stderr
    );
    // Two GETs: the archived objects were never requested.
    assert_eq!(count_before(&run.stderr, "GET"), 2, "{}", run.stderr);
}

/// Prefixes, --include and --exclude choose the keys; the rest is counted, not downloaded.
#[test]
fn prefix_include_and_exclude_choose_keys() {
    let moto = Moto::start();
    let work = TempDir::new().unwrap();
    let src = work.path().join("src");
    write(&src, "app/prod.env", env_file(KEY, SECRET));
    write(&src, "app/test/fixture.env", env_file(OTHER_KEY, SECRET));
    write(&src, "app/notes.md", format!("id {LONE_KEY}\n"));
    write(
        &src,
        "other/prod.env",
        env_file(ACCOUNT_KEY, ACCOUNT_SECRET),
    );
    moto.create_bucket("picky", "us-east-1");
    moto.sync_up(&src, "picky");

    let run = scan(
        &moto,
        work.path(),
        &[
            "s3://picky/app/",
            "--include",
            "*.env",
            "--exclude",
            "*/test/*",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.key_ids(), vec![KEY], "{:#?}", run.findings);
    assert!(run.stderr.contains("scanned 1 S3 object"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("2 keys left out by --include/--exclude"),
        "{}",
        run.stderr
    );
    assert_eq!(count_before(&run.stderr, "GET"), 1, "{}", run.stderr);

    // Without an s3:// location the S3 options are a mistake, said at once.
    let wrong = Run::lenient(keysweep(
        &moto,
        work.path(),
        &["scan", "src", "--include", "*.env"],
    ));
    assert_eq!(wrong.code, 2);
    assert!(
        wrong.stderr.contains("apply to s3:// locations"),
        "{}",
        wrong.stderr
    );
}

/// An object a bucket policy denies and a bucket that does not exist are named, the rest of
/// the scan goes on (local paths included), and nothing found means exit 2.
#[test]
fn denied_objects_and_missing_buckets_are_named_and_the_scan_goes_on() {
    let moto = Moto::start();
    let work = TempDir::new().unwrap();
    let src = work.path().join("src");
    write(&src, "locked/creds.env", env_file(OTHER_KEY, SECRET));
    write(&src, "open/creds.env", env_file(KEY, SECRET));
    moto.create_bucket("guarded", "us-east-1");
    moto.sync_up(&src, "guarded");
    // moto enforces an explicit Deny in a bucket policy on GetObject (it answers 403).
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",
        "Action":"s3:GetObject","Resource":"arn:aws:s3:::guarded/locked/*"}]}"#;
    moto.aws(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        "guarded",
        "--policy",
        policy,
    ]);
    write(
        work.path(),
        "local/app.env",
        env_file(ACCOUNT_KEY, ACCOUNT_SECRET),
    );

    let run = scan(
        &moto,
        work.path(),
        &["local", "s3://guarded", "s3://no-such-bucket"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mut keys = run.key_ids();
    keys.sort_unstable();
    assert_eq!(keys, vec![KEY, ACCOUNT_KEY], "{}", run.stderr);
    assert!(
        run.stderr
            .contains("keysweep: error: s3://guarded/locked/creds.env: AccessDenied"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("keysweep: error: s3://no-such-bucket/: NoSuchBucket"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 file and 1 S3 object"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(1 unreadable)"), "{}", run.stderr);

    // Nothing found, and a bucket that cannot be listed: not clean.
    let missing = scan(&moto, work.path(), &["s3://no-such-bucket"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    // Nothing found, one object unreadable: not clean either.
    let denied = scan(&moto, work.path(), &["s3://guarded/locked/"]);
    assert_eq!(denied.code, 2, "{}", denied.stderr);
}

/// A bucket in another region than the configured one is found by its own region, in the
/// same command as a bucket of the configured region.
#[test]
fn buckets_in_several_regions_in_one_command() {
    let moto = Moto::start();
    let work = TempDir::new().unwrap();
    let src = work.path().join("src");
    write(&src, "prod.env", env_file(KEY, SECRET));
    moto.create_bucket("far-away", "ap-southeast-2");
    moto.create_bucket("close-by", "us-east-1");
    moto.sync_up(&src, "far-away");
    moto.sync_up(&src, "close-by");

    let run = scan(
        &moto,
        work.path(),
        &["s3://far-away", "s3://close-by", "--request-payer"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let paths: Vec<&str> = run.findings.iter().map(|f| loc(f, "path")).collect();
    assert_eq!(
        paths,
        vec!["s3://close-by/prod.env", "s3://far-away/prod.env"]
    );
    // HeadBucket told each bucket's region: one request per bucket.
    assert!(run.stderr.contains("(2 other)"), "{}", run.stderr);
}

/// Ctrl-C (SIGINT) while a large bucket is being scanned: the report holds what was scanned,
/// the summary says it was interrupted, and the run is not clean.
#[test]
fn interrupt_reports_what_was_scanned() {
    let moto = Moto::start();
    let work = TempDir::new().unwrap();
    let src = work.path().join("src");
    write(&src, "aaa/prod.env", env_file(KEY, SECRET));
    for i in 0..1200usize {
        write(&src, &format!("zzz/{i:05}.txt"), format!("line {i}\n"));
    }
    moto.create_bucket("huge", "us-east-1");
    moto.sync_up(&src, "huge");

    let before = moto.requests().len();
    let mut cmd = Command::cargo_bin("keysweep").expect("keysweep binary");
    moto.env(&mut cmd);
    let child = cmd
        .current_dir(work.path())
        .args(["scan", "--format", "json", "--no-progress", "-j", "1"])
        .args(["--s3-concurrency", "1", "s3://huge"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start keysweep");
    // Once moto has answered a few GETs of this run, keysweep is downloading objects.
    while moto.requests()[before..]
        .iter()
        .filter(|l| l.contains("GET /huge/zzz/"))
        .count()
        < 3
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let run = Run::report(child.wait_with_output().expect("keysweep ends"));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.key_ids(), vec![KEY]);
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
    assert!(run.stderr.contains("INTERRUPTED"), "{}", run.stderr);
    let scanned = count_before(&run.stderr, "S3 object");
    assert!(scanned < 1201, "{}", run.stderr);
}

/// `--shard K/N` splits objects by `bucket/key`: the parts of a bucket (local files in the same
/// run split too) are disjoint and together give the findings of the unsharded run. A key
/// with terminal controls (here a Glacier object, named on stderr) is shown escaped, and the
/// archived object leaves a run that found nothing not clean.
#[test]
fn shards_cover_every_object_once_and_keys_are_escaped() {
    let moto = Moto::start();
    let work = TempDir::new().unwrap();
    let src = work.path().join("src");
    for i in 0..24 {
        write(&src, &format!("d{i}/x{i}.env"), env_file(KEY, SECRET));
    }
    write(work.path(), "local/a.env", env_file(OTHER_KEY, SECRET));
    write(work.path(), "local/b.env", env_file(OTHER_KEY, SECRET));
    moto.create_bucket("parts", "us-east-1");
    moto.sync_up(&src, "parts");

    let places = |run: &Run| -> Vec<String> {
        run.findings
            .iter()
            .map(|f| loc(f, "path").to_string())
            .collect()
    };
    let whole = scan(&moto, work.path(), &["s3://parts", "local"]);
    assert_eq!(whole.code, 1, "{}", whole.stderr);
    let all: BTreeSet<String> = places(&whole).into_iter().collect();
    assert_eq!(all.len(), 26, "{all:#?}");
    let mut seen = BTreeSet::new();
    let mut objects = 0;
    for k in 0..3 {
        let shard = format!("{k}/3");
        let part = Run::lenient(keysweep(
            &moto,
            work.path(),
            &[
                "scan",
                "--format",
                "json",
                "--no-progress",
                "--shard",
                &shard,
                "s3://parts",
                "local",
            ],
        ));
        assert!(part.code == 0 || part.code == 1, "{}", part.stderr);
        for place in places(&part) {
            assert!(seen.insert(place.clone()), "{place} in two parts");
        }
        objects += count_before(&part.stderr, "S3 object");
    }
    assert_eq!(seen, all);
    assert_eq!(objects, 24);

    let cold = work.path().join("cold.env");
    std::fs::write(&cold, env_file(KEY, SECRET)).unwrap();
    moto.create_bucket("hostile", "us-east-1");
    moto.put(
        "hostile",
        "a\x1b]0;owned\x07b.env",
        &cold,
        &["--storage-class", "GLACIER"],
    );
    // moto writes the key's control characters raw into the listing's XML, which the SDK
    // cannot parse (S3 needs `encoding-type=url` for such keys; not used yet): the listing
    // fails. Whatever happens, nothing raw reaches the terminal and the run is not clean.
    let run = scan(&moto, work.path(), &["s3://hostile"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
    assert!(!run.stderr.contains('\x07'), "{:?}", run.stderr);
    assert!(run.stderr.contains("NOT scanned"), "{}", run.stderr);
}
