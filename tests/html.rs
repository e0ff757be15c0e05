//! The HTML incident report, opened in real headless Chromium (Debian's `chromium`) through
//! tests/browser/report.mjs: no console errors, no network, the counts of the JSON report of
//! the same scan, hostile names rendered as text, working filters, and a screenshot for a
//! person to look at. Keys come from moto's IAM on 127.0.0.1 (made with the real aws CLI), so
//! the page shows blast radius and risk too.

use crate::common;
use crate::common::moto;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

use common::{write, Run, LONE_KEY, SECRET};
use moto::Moto;

const ADMIN_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const READ_ONLY_POLICY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const HOSTILE_FILE: &str = "<img src=x onerror=alert(1)>.env";
const HOSTILE_ID_FILE: &str = "\"><b id=pwn>bold.txt";
const HOSTILE_AUTHOR: &str = "Mallory \"&amp;\" O'Neil";

fn git(repo: &Path, args: &[&str], date: &str, author: &str) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_NAME", author)
        .env("GIT_AUTHOR_EMAIL", "m@example.com")
        .env("GIT_COMMITTER_NAME", author)
        .env("GIT_COMMITTER_EMAIL", "m@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn creds(key: &str, secret: &str) -> String {
    format!("aws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
}

/// A repository whose history holds an administrator's key (twice, once under a hostile file
/// name), a read-only user's key, a lone key ID under another hostile name and a secret
/// without its key ID.
fn repo_with_leaks(moto: &Moto) -> (tempfile::TempDir, String, String) {
    let (admin, admin_secret) = moto.user_with_key("boss");
    moto.aws(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        "boss",
        "--policy-arn",
        ADMIN_POLICY,
    ]);
    let (reader, reader_secret) = moto.user_with_key("reader");
    moto.aws(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        "reader",
        "--policy-arn",
        READ_ONLY_POLICY,
    ]);
    let repo = tempfile::tempdir().expect("tempdir");
    let r = repo.path();
    git(
        r,
        &["init", "-q", "-b", "main"],
        "2024-01-01T00:00:00Z",
        "x",
    );
    write(
        r,
        &format!("config/{HOSTILE_FILE}"),
        creds(&admin, &admin_secret),
    );
    git(r, &["add", "-A"], "2024-01-02T10:00:00Z", HOSTILE_AUTHOR);
    git(
        r,
        &["commit", "-q", "-m", "config"],
        "2024-01-02T10:00:00Z",
        HOSTILE_AUTHOR,
    );
    write(r, "deploy/prod.env", creds(&admin, &admin_secret));
    write(r, "notes/reader.ini", creds(&reader, &reader_secret));
    write(
        r,
        &format!("notes/{HOSTILE_ID_FILE}"),
        format!("id: {LONE_KEY}\n"),
    );
    write(
        r,
        "ci/secret.env",
        format!("aws_secret_access_key = {SECRET}\n"),
    );
    git(r, &["add", "-A"], "2024-03-04T05:06:07Z", "Dev One");
    git(
        r,
        &["commit", "-q", "-m", "deploy"],
        "2024-03-04T05:06:07Z",
        "Dev One",
    );
    (repo, admin, admin_secret)
}

fn keysweep(args: &[&str], moto: &Moto) -> std::process::Output {
    let mut cmd = Command::cargo_bin("keysweep").expect("keysweep binary");
    cmd.args(args);
    moto.env(&mut cmd);
    cmd.output().expect("run keysweep")
}

/// Runs tests/browser/report.mjs on `html`; returns what the page did.
fn open_in_chromium(html: &Path, shot: &Path) -> Value {
    let chromium = crate::common::pytools::chromium();
    let profile = tempfile::tempdir().expect("profile dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/report.mjs");
    let out = Command::new("node")
        .arg("--experimental-websocket")
        .arg("--no-warnings")
        .arg(script)
        .arg(chromium)
        .arg(html)
        .arg(shot)
        .arg(profile.path())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .output()
        .expect("run node (Node.js 20 or later)");
    assert!(
        out.status.success(),
        "browser driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("driver output is JSON")
}

/// The key a finding is grouped under in the page (key ID, else its fingerprint).
fn group_key(f: &Value) -> String {
    f["key_id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("~{}", f["fingerprint"].as_str().unwrap_or("")))
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 3,
        "high" => 2,
        "medium" => 1,
        _ => 0,
    }
}

fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

#[test]
fn html_report_in_headless_chromium() {
    let moto = Moto::start_with_managed_policies(None);
    let (repo, admin, admin_secret) = repo_with_leaks(&moto);
    let repo_arg = repo.path().to_str().expect("utf-8 path");

    let json = Run::report(keysweep(
        &["git", repo_arg, "--format", "json", "--blast-radius"],
        &moto,
    ));
    assert_eq!(json.code, 1, "{}", json.stderr);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let html_path = out_dir.path().join("report.html");
    let out = keysweep(
        &[
            "git",
            repo_arg,
            "--format",
            "html",
            "--blast-radius",
            "--output",
            html_path.to_str().expect("path"),
        ],
        &moto,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&html_path).expect("read the report");
    assert!(!html.contains(&admin_secret), "secret not redacted");
    assert!(!html.contains(SECRET), "secret not redacted");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<img"));

    // What the JSON report of the same scan says the page must show.
    let mut key_severity: BTreeMap<String, u8> = BTreeMap::new();
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    for f in &json.findings {
        let sev = severity_rank(f["severity"].as_str().unwrap_or(""));
        let e = key_severity.entry(group_key(f)).or_insert(sev);
        *e = (*e).max(sev);
        accounts.insert(
            f["account_id"]
                .as_str()
                .unwrap_or("unknown account")
                .to_string(),
        );
    }
    assert_eq!(key_severity.len(), 4, "{:#?}", json.findings);
    let per_severity = |rank: u8| key_severity.values().filter(|&&s| s == rank).count();
    let total_steps: usize = {
        // One playbook per key: as many copy buttons as steps of the merged key.
        let out = Command::cargo_bin("keysweep")
            .expect("keysweep")
            .args(["remediate", "-", "--format", "md"])
            .write_stdin_json(&json.findings);
        out.matches("\n- [ ] **").count()
    };

    let shot = screenshot_path("keysweep-html-report.png");
    let page = open_in_chromium(&html_path, &shot);
    eprintln!("screenshot for a person to look at: {}", shot.display());

    let events = &page["events"];
    assert_eq!(events["console"], serde_json::json!([]), "{events:#}");
    assert_eq!(events["exceptions"], serde_json::json!([]), "{events:#}");
    let errors: Vec<&Value> = events["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter(|e| e["level"] == "error" || e["level"] == "warning")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(events["requests"], serde_json::json!([]), "network used");
    assert_eq!(page["scriptRan"], true, "the inline script was blocked");

    assert_eq!(page["title"], "keysweep incident report");
    assert_eq!(page["totalFindings"], json.findings.len().to_string());
    assert_eq!(page["keys"], key_severity.len());
    assert_eq!(page["visible"], key_severity.len());
    assert_eq!(page["totalKeys"], key_severity.len().to_string());
    assert_eq!(
        page["shown"],
        format!("{0} of {0} keys shown", key_severity.len())
    );
    assert_eq!(page["places"], json.findings.len());
    // Every finding of a git scan has a commit date.
    assert_eq!(page["timeline"], json.findings.len());
    let shown_accounts: BTreeSet<String> = page["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    assert_eq!(shown_accounts, accounts);
    for (rank, name) in [(3, "critical"), (2, "high"), (1, "medium"), (0, "low")] {
        assert_eq!(
            page["counts"][name],
            format!("{name}: {}", per_severity(rank)),
            "{page:#}"
        );
        assert_eq!(
            page["filters"][name]["visible"],
            per_severity(rank),
            "{name}"
        );
    }
    for account in &accounts {
        let expected = json
            .findings
            .iter()
            .filter(|f| f["account_id"].as_str().unwrap_or("unknown account") == account)
            .map(group_key)
            .collect::<BTreeSet<_>>()
            .len();
        assert_eq!(page["filters"]["accounts"][account]["visible"], expected);
        assert_eq!(page["filters"]["accounts"][account]["sections"], 1);
    }
    assert_eq!(page["copyButtons"], total_steps);
    assert_ne!(page["copyLabel"], "Copy", "the copy button did nothing");

    // Hostile names render as text; nothing was injected.
    let text = page["text"].as_str().expect("text");
    assert!(text.contains(HOSTILE_FILE), "{text}");
    assert!(text.contains("\"><b id=pwn>bold.txt"), "{text}");
    assert!(text.contains(HOSTILE_AUTHOR), "{text}");
    assert_eq!(page["images"], 0);
    assert_eq!(page["handlers"], 0);
    assert_eq!(page["injectedIds"], 0);
    assert_eq!(page["scripts"], 1);

    // Blast radius and risk of the administrator's key are on the page.
    assert!(text.contains(&admin));
    assert!(text.contains("administrator, no MFA, never used"), "{text}");
    assert!(text.contains("AttributeValue=iam.amazonaws.com"), "{text}");
    assert!(text.contains("2024-01-02T10:00:00Z"), "{text}");

    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(png.len() > 20_000, "screenshot is {} bytes", png.len());
}

#[test]
fn remediate_html_redacts_unless_asked_and_shows_archive_members() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A zip with a key pair inside, written by Python's zipfile module.
    let zip = dir.path().join("bundle.zip");
    let made = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    z.writestr('conf/<script>prod.env', sys.argv[2])\n",
        ])
        .arg(&zip)
        .arg(creds(common::KEY, SECRET))
        .status()
        .expect("python3");
    assert!(made.success());
    let report = Command::cargo_bin("keysweep")
        .expect("keysweep")
        .args(["scan", "--format", "json", "--show-secrets"])
        .arg(dir.path())
        .output()
        .expect("scan");
    assert_eq!(report.status.code(), Some(1));
    let report_path = dir.path().join("report.json.out");
    std::fs::write(&report_path, &report.stdout).expect("write report");

    let html = |extra: &[&str]| {
        let out = Command::cargo_bin("keysweep")
            .expect("keysweep")
            .args(["remediate", "--format", "html"])
            .arg(&report_path)
            .args(extra)
            .output()
            .expect("remediate");
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let redacted = html(&[]);
    assert!(!redacted.contains(SECRET));
    assert!(redacted.contains(&keysweep::finding::redact(SECRET)));
    assert!(redacted.contains("conf/&lt;script&gt;prod.env"));
    assert!(!redacted.contains("<script>prod"));
    assert!(redacted.contains("bundle.zip"));
    let shown = html(&["--show-secrets"]);
    assert!(shown.contains(SECRET));
}

/// Runs a command with a JSON value on stdin; returns stdout.
trait WriteStdinJson {
    fn write_stdin_json(&mut self, value: &[Value]) -> String;
}

impl WriteStdinJson for Command {
    fn write_stdin_json(&mut self, value: &[Value]) -> String {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = self
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(serde_json::to_string(value).expect("json").as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
