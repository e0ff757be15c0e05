//! Baselines: accept today's findings, fail only on new ones.

use crate::common;

use std::path::Path;

use serde_json::Value;

use common::{json_scan, keysweep, Run, KEY, OTHER_KEY as NEW_KEY, SECRET};

const NEW_SECRET: &str = "pL3xW9qR2mT7vK4nB8cY1hJ6sD0fG5aZ/uE+oIyQ";
const OTHER_SECRET: &str = "Hn5tR8wK2pX7mQ4zV9cB3jL6yF1sD0gA/eU+oItY";

/// `keysweep scan --format json ARGS DIR`.
fn scan(dir: &Path, args: &[&str]) -> Run {
    Run::lenient(json_scan().args(args).arg(dir).output().unwrap())
}

fn pair(indent: &str, key: &str, secret: &str) -> String {
    format!("{indent}aws_access_key_id = {key}\n{indent}aws_secret_access_key = {secret}\n")
}

#[test]
fn round_trip_accepts_old_findings_and_fails_on_new_ones() {
    let repo = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let baseline = work.path().join("baseline.json");
    let baseline_arg = baseline.to_str().unwrap();
    let config = repo.path().join("config.ini");
    std::fs::write(&config, format!("[default]\n{}", pair("", KEY, SECRET))).unwrap();

    // Write the baseline: the run still reports and fails.
    let first = scan(repo.path(), &["--write-baseline", baseline_arg]);
    assert_eq!(first.code, 1);
    assert_eq!(first.key_ids(), [KEY]);
    let written = std::fs::read_to_string(&baseline).unwrap();
    assert!(written.contains(KEY));
    assert!(!written.contains(SECRET), "baseline must be redacted");
    let entries: Vec<Value> = serde_json::from_str(&written).unwrap();
    assert_eq!(entries[0]["fingerprint"], first.findings[0]["fingerprint"]);

    // With the baseline: nothing new, exit 0, the suppression counted.
    let again = scan(repo.path(), &["--baseline", baseline_arg]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.findings.is_empty());
    assert!(
        again.stderr.contains("1 suppressed (1 by baseline)"),
        "{}",
        again.stderr
    );

    // A new key in another file: only the new one is reported, and it fails.
    std::fs::write(
        repo.path().join("deploy.env"),
        pair("", NEW_KEY, NEW_SECRET),
    )
    .unwrap();
    let with_new = scan(repo.path(), &["--baseline", baseline_arg]);
    assert_eq!(with_new.code, 1);
    assert_eq!(with_new.key_ids(), [NEW_KEY]);
    std::fs::remove_file(repo.path().join("deploy.env")).unwrap();

    // The old key moved down 10 lines and re-indented: still the same finding.
    let moved = format!(
        "[default]\n{}{}",
        "# filler\n".repeat(10),
        pair("    ", KEY, SECRET)
    );
    std::fs::write(&config, moved).unwrap();
    let after_move = scan(repo.path(), &["--baseline", baseline_arg]);
    assert_eq!(after_move.code, 0, "{:?}", after_move.findings);
    // (without the baseline it is there, 10 lines lower)
    let plain = scan(repo.path(), &[]);
    assert_eq!(plain.findings[0]["location"]["line"], 12);

    // The same key ID with another secret is a new finding.
    std::fs::write(
        &config,
        format!("[default]\n{}", pair("", KEY, OTHER_SECRET)),
    )
    .unwrap();
    let changed = scan(repo.path(), &["--baseline", baseline_arg]);
    assert_eq!(changed.code, 1);
    assert_eq!(changed.key_ids(), [KEY]);
}

#[test]
fn any_json_or_jsonl_report_is_a_baseline() {
    let repo = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("a.env"), pair("", KEY, SECRET)).unwrap();
    std::fs::write(repo.path().join("b.txt"), format!("id {NEW_KEY}\n")).unwrap();
    for format in ["json", "jsonl"] {
        let report = work.path().join(format!("report.{format}"));
        let out = keysweep()
            .args(["scan", "--format", format, "--output"])
            .arg(&report)
            .arg(repo.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let run = scan(repo.path(), &["--baseline", report.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        assert!(
            run.stderr.contains("2 suppressed (2 by baseline)"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn baseline_is_redacted_even_with_show_secrets() {
    let repo = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let baseline = work.path().join("b.json");
    std::fs::write(repo.path().join("a.env"), pair("", KEY, SECRET)).unwrap();
    let run = scan(
        repo.path(),
        &[
            "--show-secrets",
            "--write-baseline",
            baseline.to_str().unwrap(),
        ],
    );
    assert_eq!(run.findings[0]["secret"], SECRET, "the report shows it");
    let written = std::fs::read_to_string(&baseline).unwrap();
    assert!(!written.contains(SECRET));
    assert!(written.contains("Zq8v…(40 chars)"));
}

#[test]
fn a_baseline_inside_the_scanned_tree_is_not_a_finding() {
    // Teams commit the baseline next to the code; it names key IDs.
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("a.env"), pair("", KEY, SECRET)).unwrap();
    let baseline = repo.path().join("keysweep-baseline.json");
    let b = baseline.to_str().unwrap();
    assert_eq!(scan(repo.path(), &["--write-baseline", b]).code, 1);
    let run = scan(repo.path(), &["--baseline", b]);
    assert_eq!(run.code, 0, "{:?} {}", run.findings, run.stderr);
    assert!(
        run.stderr
            .contains("1 key ID in keysweep's config or baseline"),
        "{}",
        run.stderr
    );
    // A real secret in that file would still be reported.
    let mut entries: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    entries.push(serde_json::json!({
        "fingerprint": "00000000000000000000000000000000",
        "note": format!("aws_secret_access_key = {NEW_SECRET}"),
    }));
    std::fs::write(&baseline, serde_json::to_string_pretty(&entries).unwrap()).unwrap();
    let run = scan(repo.path(), &["--baseline", b]);
    assert_eq!(run.code, 1);
}

#[test]
fn unreadable_or_malformed_baselines_are_usage_errors() {
    let repo = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("a.env"), pair("", KEY, SECRET)).unwrap();
    let missing = work.path().join("missing.json");
    let run = scan(repo.path(), &["--baseline", missing.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.json"), "{}", run.stderr);

    let bad = work.path().join("bad.json");
    std::fs::write(&bad, "[{\"rule\": \"x\"}]").unwrap();
    let run = scan(repo.path(), &["--baseline", bad.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.json"), "{}", run.stderr);
    assert!(run.stderr.contains("fingerprint"), "{}", run.stderr);
}

#[test]
fn session_credentials_keep_their_fingerprint_when_moved() {
    let repo = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let baseline = work.path().join("b.json");
    let token = "FwoGZXIvYXdzEBYaDHqa0AP1u0ns7QzQ2iLIAYFm6s+Zc9pQ1u3vK8yT4Lb7nG2dX0sRw5eHk1jP9aMq6fNt3oU8iYcV4zB2lE7gW0xA5rS1kJ9pN3mQ8tL2hD6vF4bC0yZ7uX1wK5oI9eG3jR8sA2nT6pM4qV0lH7fB1cY5dU9zE3gK8xJ2rW6o";
    let creds = |indent: &str| {
        format!(
            "{indent}aws_access_key_id = ASIAT4PZQ6HNB2LKW7XM\n{indent}aws_secret_access_key = {SECRET}\n{indent}aws_session_token = {token}\n"
        )
    };
    let file = repo.path().join("credentials");
    std::fs::write(&file, creds("")).unwrap();
    let first = scan(
        repo.path(),
        &["--write-baseline", baseline.to_str().unwrap()],
    );
    assert_eq!(first.findings[0]["kind"], "session_credentials");
    std::fs::write(&file, format!("[x]\n\n\n{}", creds("\t"))).unwrap();
    let run = scan(repo.path(), &["--baseline", baseline.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{:?}", run.findings);
}
