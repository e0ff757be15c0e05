//! `keysweep remediate`: playbooks from real reports. The sh playbook is run with bash and the
//! real aws CLI against a real moto_server on 127.0.0.1; the md playbook is checked offline.

use crate::common;
use crate::common::moto;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;

use common::{
    ACCOUNT_KEY as KEY, ACCOUNT_SECRET as SECRET, CANARY_KEY as KEY2, CANARY_SECRET as SECRET2,
    KEY as KEY3, SECRET as SECRET3,
};
use moto::{isolate, plant, Moto};

fn keysweep() -> Command {
    Command::cargo_bin("keysweep").expect("keysweep binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// `keysweep scan PATH --format jsonl ARGS` with `setup`; returns the report text.
fn scan_jsonl(path: &Path, args: &[&str], setup: impl FnOnce(&mut Command)) -> String {
    scan_report(path, "jsonl", args, setup)
}

fn scan_report(
    path: &Path,
    format: &str,
    args: &[&str],
    setup: impl FnOnce(&mut Command),
) -> String {
    let mut cmd = keysweep();
    cmd.arg("scan")
        .arg(path)
        .args(["--format", format])
        .args(args);
    setup(&mut cmd);
    let out = cmd.output().expect("run keysweep scan");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn remediate(report: &Path, args: &[&str]) -> Output {
    keysweep()
        .arg("remediate")
        .arg(report)
        .args(args)
        .output()
        .expect("run keysweep remediate")
}

/// Runs the playbook with bash against moto (operator credentials, one CloudTrail region).
fn run_playbook(moto: &Moto, script: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("bash");
    moto.env(&mut cmd)
        .env("REGIONS", "us-east-1")
        .arg(script)
        .args(args)
        .stdin(Stdio::null());
    cmd.output().expect("run bash")
}

#[test]
fn sh_playbook_dry_run_then_execute_against_moto() {
    let moto = Moto::start();
    // alice: verified live, so the report knows her name from the ARN.
    let (alice_key, alice_secret) = moto.user_with_key("alice");
    // bob: not verified: the playbook must find the user name itself.
    let (bob_key, bob_secret) = moto.user_with_key("bob");
    // A temporary session of role ci-deploy.
    moto.aws(&[
        "iam",
        "create-role",
        "--role-name",
        "ci-deploy",
        "--assume-role-policy-document",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#,
    ]);
    let session = moto.aws(&[
        "sts",
        "assume-role",
        "--role-arn",
        "arn:aws:iam::123456789012:role/ci-deploy",
        "--role-session-name",
        "build-42",
    ]);
    let c = &session["Credentials"];
    let field = |k: &str| c[k].as_str().expect("credential field").to_string();

    let work = tempfile::tempdir().expect("tempdir");
    let (a, b, s) = (
        work.path().join("a"),
        work.path().join("b"),
        work.path().join("s"),
    );
    for d in [&a, &b, &s] {
        std::fs::create_dir(d).expect("mkdir");
    }
    plant(&a, "credentials", &alice_key, &alice_secret);
    plant(&b, "app.ini", &bob_key, &bob_secret);
    std::fs::write(
        s.join("ci.env"),
        format!(
            "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\nAWS_SESSION_TOKEN={}\n",
            field("AccessKeyId"),
            field("SecretAccessKey"),
            field("SessionToken")
        ),
    )
    .expect("write session");

    let mut report = scan_jsonl(&a, &["--verify", "live"], |cmd| {
        moto.env(cmd);
    });
    report += &scan_jsonl(&b, &[], |cmd| {
        isolate(cmd, work.path());
    });
    report += &scan_jsonl(&s, &["--verify", "live"], |cmd| {
        moto.env(cmd);
    });
    let report_path = work.path().join("report.jsonl");
    std::fs::write(&report_path, report).expect("write report");

    let script = work.path().join("playbook.sh");
    let out = remediate(
        &report_path,
        &[
            "--format",
            "sh",
            "--output",
            script.to_str().expect("utf-8 path"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("3 key(s) from 3 finding(s)"));

    // Dry run: lookups run, nothing changes.
    let dry = run_playbook(&moto, &script, &[]);
    let (stdout, stderr) = (text(&dry.stdout), text(&dry.stderr));
    assert_eq!(dry.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("dry run: not run"), "{stdout}");
    assert!(
        stdout.contains("user: bob"),
        "bob's name was not looked up: {stdout}"
    );
    assert!(stdout.contains(&format!("{alice_key}\tActive")), "{stdout}");
    assert_eq!(
        moto.access_keys("alice"),
        vec![(alice_key.clone(), "Active".to_string())]
    );
    assert_eq!(
        moto.access_keys("bob"),
        vec![(bob_key.clone(), "Active".to_string())]
    );
    let policies = moto.aws(&["iam", "list-role-policies", "--role-name", "ci-deploy"]);
    assert_eq!(policies["PolicyNames"], serde_json::json!([]));

    // --execute: each key is deactivated (seen Inactive), investigated (moto has no
    // CloudTrail lookup-events: reported, and the script goes on), rotated and deleted.
    let run = run_playbook(&moto, &script, &["--execute"]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{stderr}");
    for key in [&alice_key, &bob_key] {
        assert!(
            stdout.contains(&format!("{key}\tInactive")),
            "{key} not seen Inactive: {stdout}"
        );
        assert!(
            stderr.contains(&format!("[investigate] {key}: exit")),
            "investigation failure of {key} not reported: {stderr}"
        );
    }
    assert!(
        stderr.contains("3 lookup or investigation step(s) failed"),
        "{stderr}"
    );
    assert!(stdout.contains("keysweep playbook: done."));
    for (user, old) in [("alice", &alice_key), ("bob", &bob_key)] {
        let keys = moto.access_keys(user);
        assert_eq!(keys.len(), 1, "{user}: {keys:?}");
        assert_ne!(&keys[0].0, old, "{user}'s leaked key is still there");
        assert_eq!(keys[0].1, "Active", "{user}'s replacement key");
    }
    let policy = moto.aws(&[
        "iam",
        "get-role-policy",
        "--role-name",
        "ci-deploy",
        "--policy-name",
        "AWSRevokeOlderSessions",
    ]);
    let doc = policy["PolicyDocument"].to_string();
    assert!(doc.contains("aws:TokenIssueTime"), "{doc}");
    // The issue time is the moment the command ran, filled in by the shell.
    assert!(
        !doc.contains("$(") && doc.contains("T") && doc.contains("Z"),
        "{doc}"
    );

    // Again: the keys are gone, so the first containment step fails and stops the script.
    let again = run_playbook(&moto, &script, &["--execute"]);
    let (stdout, stderr) = (text(&again.stdout), text(&again.stderr));
    assert_eq!(again.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("[deactivate]"), "{stderr}");
    assert!(
        !stdout.contains("--- [Rotate]"),
        "went on after a failed containment: {stdout}"
    );
}

#[test]
fn markdown_checklist_groups_per_key_in_english_and_korean() {
    let dir = tempfile::tempdir().expect("tempdir");
    plant(dir.path(), "one.ini", KEY, SECRET);
    plant(dir.path(), "two.ini", KEY, SECRET);
    plant(dir.path(), "three.ini", KEY3, SECRET3);
    let report = scan_jsonl(dir.path(), &[], |cmd| {
        isolate(cmd, dir.path());
    });
    let report_path = dir.path().join("report.jsonl");
    std::fs::write(&report_path, &report).expect("write report");

    let en = remediate(&report_path, &["--format", "md"]);
    assert!(en.status.success(), "{}", text(&en.stderr));
    let en = text(&en.stdout);
    assert!(en.starts_with("# Leaked AWS key response playbook"), "{en}");
    assert_eq!(en.matches("\n## ").count(), 2, "{en}");
    let section = en
        .split("\n## ")
        .find(|s| s.starts_with(KEY))
        .expect("a section for KEY");
    assert!(
        section.contains("one.ini:") && section.contains("two.ini:"),
        "{section}"
    );
    assert!(
        section.contains("account 210987654321 (decoded)"),
        "{section}"
    );
    for step in [
        "Identify",
        "Deactivate",
        "Investigate",
        "Rotate",
        "Delete",
        "Harden",
    ] {
        assert!(
            section.contains(&format!("- [ ] **{step}**")),
            "{step}: {section}"
        );
    }
    assert!(section.contains(&format!(
        "aws iam update-access-key --user-name \"$USER_NAME\" --access-key-id {KEY} --status Inactive"
    )));

    let ko = remediate(&report_path, &["--format", "md", "--lang", "ko"]);
    assert!(ko.status.success());
    let ko = text(&ko.stdout);
    assert!(ko.starts_with("# AWS 키 유출 대응 플레이북"), "{ko}");
    assert!(
        ko.contains("**비활성화**") && ko.contains("발견 위치:"),
        "{ko}"
    );
    // Commands are the same in both languages.
    let commands = |md: &str| -> Vec<String> {
        md.lines()
            .filter(|l| l.starts_with("  aws ") || l.starts_with("  USER_NAME="))
            .map(|l| l.to_string())
            .collect()
    };
    assert!(!commands(&en).is_empty());
    assert_eq!(commands(&en), commands(&ko));
}

#[test]
fn reads_stdin_and_writes_valid_bash_in_both_languages() {
    let dir = tempfile::tempdir().expect("tempdir");
    plant(dir.path(), "creds", KEY2, SECRET2);
    let report = scan_report(dir.path(), "json", &[], |cmd| {
        isolate(cmd, dir.path());
    });
    for lang in ["en", "ko"] {
        let mut child = keysweep()
            .args(["remediate", "-", "--format", "sh", "--lang", lang])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn keysweep remediate");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(report.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let script = dir.path().join(format!("p-{lang}.sh"));
        std::fs::write(&script, &out.stdout).expect("write script");
        let check = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .output()
            .expect("bash -n");
        assert!(check.status.success(), "{lang}: {}", text(&check.stderr));
        let body = text(&out.stdout);
        // KEY2 is in a canary account: the playbook says so and changes nothing.
        assert!(body.contains("canary"), "{body}");
        assert!(!body.contains("update-access-key"), "{body}");
        if lang == "ko" {
            assert!(body.contains("카나리"), "{body}");
        }
    }
}

#[test]
fn unreadable_reports_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"rule\": \"x\"}\nnot json\n").expect("write");
    let out = remediate(&bad, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bad.json") && err.contains("line 1"), "{err}");
    let out = remediate(&dir.path().join("missing.json"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.json"));
}
