//! SARIF reports, validated against the SARIF 2.1.0 JSON schema; and the GitHub Action that
//! uploads them.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use keysweep::config::ScanRoot;
use keysweep::detect::Detector;
use keysweep::finding::Origin;
use keysweep::report::{self, Format};
use keysweep::rules;
use keysweep::scan::BlobScanner;

use common::{keysweep, write, KEY, LONE_KEY, SECRET, SESSION_KEY, TOKEN};

const LONE_TEMP_KEY: &str = "ASIAQ3XH7KP2MZ4WRT6B";

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    })
}

fn schema_errors(log: &Value) -> Vec<String> {
    validator()
        .iter_errors(log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

fn assert_valid(log: &Value) {
    let errors = schema_errors(log);
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
}

/// A directory with a key pair, a lone long-term key ID, a lone temporary key ID and session
/// credentials.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".env",
        format!("APP=1\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"),
    );
    write(dir.path(), "sub dir/lone.txt", format!("id: {LONE_KEY}\n"));
    write(
        dir.path(),
        "notes/temp.md",
        format!("old key {LONE_TEMP_KEY}\n"),
    );
    write(
        dir.path(),
        "sts.json",
        format!(
            "{{\"Credentials\": {{\"AccessKeyId\": \"{SESSION_KEY}\", \"SecretAccessKey\": \"{SECRET}\", \"SessionToken\": \"{TOKEN}\", \"Expiration\": \"2099-11-27T22:00:00+00:00\"}}}}\n"
        ),
    );
    dir
}

/// Runs a scan of `dir` in `format`, returns (exit code, report text).
fn scan(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = keysweep().arg("scan").args(args).arg(dir).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap()
}

fn result_for<'a>(log: &'a Value, uri: &str) -> &'a Value {
    results(log)
        .iter()
        .find(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri)
        .unwrap_or_else(|| panic!("no result at {uri}: {log:#}"))
}

#[test]
fn the_schema_rejects_broken_logs() {
    // The validator is only worth something if it can fail.
    let dir = fixture();
    let (_, text) = scan(dir.path(), &["--format", "sarif"]);
    let good: Value = serde_json::from_str(&text).unwrap();
    assert_valid(&good);
    let mut bad = good.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!schema_errors(&bad).is_empty());
    let mut bad = good.clone();
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    assert!(!schema_errors(&bad).is_empty());
    let mut bad = good;
    bad["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] = "not a uri".into();
    assert!(!schema_errors(&bad).is_empty());
}

#[test]
fn scan_report_is_valid_sarif_with_every_rule_and_located_results() {
    let dir = fixture();
    let (code, text) = scan(dir.path(), &["--format", "sarif"]);
    assert_eq!(code, 1);
    let log: Value = serde_json::from_str(&text).unwrap();
    assert_valid(&log);
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");

    // The driver lists every built-in rule, fully described.
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "keysweep");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let builtin: Vec<String> = rules::builtin()
        .iter()
        .map(|r| r.id().to_string())
        .collect();
    let listed: Vec<String> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, builtin);
    for rule in driver["rules"].as_array().unwrap() {
        assert!(!rule["name"].as_str().unwrap().is_empty());
        assert!(!rule["shortDescription"]["text"]
            .as_str()
            .unwrap()
            .is_empty());
        assert!(!rule["fullDescription"]["text"].as_str().unwrap().is_empty());
        let help = rule["help"]["text"].as_str().unwrap();
        assert!(help.contains("update-access-key"), "{help}");
        assert!(help.contains("lookup-events"), "{help}");
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&score));
        let tags = rule["properties"]["tags"].as_array().unwrap();
        assert!(tags.iter().any(|t| t == "security"));
    }

    // The scan root is the base of every location.
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert_eq!(base, format!("file://{}/", dir.path().display()));
    assert_eq!(results(&log).len(), 4, "{log:#}");
    for r in results(&log) {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(driver["rules"][index]["id"], r["ruleId"]);
        let fp = r["partialFingerprints"]["keysweep/v2"].as_str().unwrap();
        assert_eq!(fp.len(), 32);
    }

    // The pair: an error, key ID shown, secret redacted, at line 2 column 21.
    let pair = result_for(&log, ".env");
    assert_eq!(pair["level"], "error");
    let message = pair["message"]["text"].as_str().unwrap();
    assert!(message.contains(KEY), "{message}");
    assert!(message.contains("Zq8v…(40 chars)"), "{message}");
    let region = &pair["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(region["startColumn"], 21);
    assert_eq!(pair["properties"]["kind"], "access_key_pair");
    assert_eq!(pair["properties"]["severity"], "critical");

    // A lone long-term key ID is a warning; the path is percent-encoded.
    let lone = result_for(&log, "sub%20dir/lone.txt");
    assert_eq!(lone["level"], "warning");
    assert!(lone["message"]["text"].as_str().unwrap().contains(LONE_KEY));
    // A lone temporary key ID is a note.
    assert_eq!(result_for(&log, "notes/temp.md")["level"], "note");
    // Session credentials are an error, token redacted.
    let session = result_for(&log, "sts.json");
    assert_eq!(session["level"], "error");
    assert_eq!(session["properties"]["kind"], "session_credentials");
    assert!(session["message"]["text"]
        .as_str()
        .unwrap()
        .contains(SESSION_KEY));

    // No secret or token in full anywhere in the report.
    assert!(!text.contains(SECRET));
    assert!(!text.contains(TOKEN));
}

#[test]
fn partial_fingerprints_are_the_findings_fingerprints() {
    let dir = fixture();
    let (_, json) = scan(dir.path(), &["--format", "json"]);
    let findings: Vec<Value> = serde_json::from_str(&json).unwrap();
    let (_, sarif) = scan(dir.path(), &["--format", "sarif"]);
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let from_json: BTreeSet<&str> = findings
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    let from_sarif: BTreeSet<&str> = results(&log)
        .iter()
        .map(|r| r["partialFingerprints"]["keysweep/v2"].as_str().unwrap())
        .collect();
    assert_eq!(from_json, from_sarif);
    assert_eq!(from_json.len(), 4);
}

#[test]
fn paths_are_relative_to_the_root_from_inside_it() {
    let dir = fixture();
    let out = keysweep()
        .current_dir(dir.path())
        .args(["scan", "--format", "sarif", "."])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&log);
    result_for(&log, ".env");
    result_for(&log, "notes/temp.md");
    // A single file named from above: relative to the working directory.
    let out = keysweep()
        .current_dir(dir.path().join("notes"))
        .args(["scan", "--format", "sarif", "temp.md"])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&log);
    result_for(&log, "temp.md");
}

#[test]
fn show_secrets_reaches_the_sarif_message_only_when_asked() {
    let dir = fixture();
    let (_, text) = scan(dir.path(), &["--format", "sarif", "--show-secrets"]);
    let log: Value = serde_json::from_str(&text).unwrap();
    assert_valid(&log);
    assert!(result_for(&log, ".env")["message"]["text"]
        .as_str()
        .unwrap()
        .contains(SECRET));
}

#[test]
fn extra_rules_are_listed_and_name_their_results() {
    let dir = tempfile::tempdir().unwrap();
    let rules_dir = tempfile::tempdir().unwrap();
    write(
        rules_dir.path(),
        "corp.toml",
        r#"
[[rule]]
id = "corp-deploy-key"
name = "Corp deploy key"
description = "The deploy key our build scripts used to embed."
keywords = ["DEPLOYKEY"]
pattern = 'DEPLOYKEY:(?P<key_id>AKIA[A-Z2-7]{16})'
specificity = 5
examples = ["DEPLOYKEY:AKIAR7VZ3MOXQ4JTLW2N"]
"#,
    );
    write(dir.path(), "build.sh", format!("# DEPLOYKEY:{LONE_KEY}\n"));
    let rules_arg = rules_dir.path().to_str().unwrap();
    let (code, text) = scan(dir.path(), &["--format", "sarif", "--rules", rules_arg]);
    assert_eq!(code, 1);
    let log: Value = serde_json::from_str(&text).unwrap();
    assert_valid(&log);
    let listed = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(listed.len(), rules::builtin().len() + 1);
    let custom = listed
        .iter()
        .position(|r| r["id"] == "corp-deploy-key")
        .unwrap();
    assert_eq!(listed[custom]["name"], "CorpDeployKey");
    let r = result_for(&log, "build.sh");
    assert_eq!(r["ruleId"], "corp-deploy-key");
    assert_eq!(r["ruleIndex"], custom);
}

#[test]
fn clean_scan_is_valid_sarif_with_no_results() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "README", "nothing here\n");
    let (code, text) = scan(dir.path(), &["--format", "sarif"]);
    assert_eq!(code, 0);
    let log: Value = serde_json::from_str(&text).unwrap();
    assert_valid(&log);
    assert!(results(&log).is_empty());
}

/// Findings from an archive member and from git history, made by the real detector through
/// the library with those origins, rendered as SARIF.
#[test]
fn archive_member_and_history_findings_render_valid_sarif() {
    let detector = Detector::new(rules::builtin()).unwrap();
    let mut scanner = BlobScanner::new(&detector);
    let text = format!("\n\n  aws_access_key_id = {KEY}\n  aws_secret_access_key = {SECRET}\n");
    let in_archive = Origin::file("dist/release.zip").member("config/prod.env");
    let mut in_history = Origin::file("deploy/old settings.py");
    in_history.commit = Some("3f2c1a9b8e7d6c5b4a39281706f5e4d3c2b1a098".into());
    in_history.author = Some("Dev One <dev@example.com>".into());
    in_history.date = Some("2026-03-04T05:06:07Z".into());
    in_history.present_at_head = Some(false);
    let mut decoded = Origin::file("ci/env.b64");
    decoded.decoded_from = Some("base64".into());
    let mut findings = Vec::new();
    for origin in [&in_archive, &in_history, &decoded] {
        findings.extend(scanner.scan_bytes(text.as_bytes(), origin));
    }
    assert_eq!(findings.len(), 3);
    findings.iter_mut().for_each(|f| f.redact());

    let repo = tempfile::tempdir().unwrap();
    let root = ScanRoot::repository(repo.path()).unwrap();
    let mut out = Vec::new();
    report::write(
        &mut out,
        &findings,
        Format::Sarif,
        &report::Context {
            rules: detector.rules(),
            root: Some(&root),
            ..Default::default()
        },
    )
    .unwrap();
    let log: Value = serde_json::from_slice(&out).unwrap();
    assert_valid(&log);

    let archive = result_for(&log, "dist/release.zip");
    assert_eq!(archive["properties"]["archiveMember"], "config/prod.env");
    assert!(archive["message"]["text"]
        .as_str()
        .unwrap()
        .contains("in archive member config/prod.env"));
    let region = &archive["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(3), Some(23))
    );

    let history = result_for(&log, "deploy/old%20settings.py");
    let p = &history["properties"];
    assert_eq!(p["commit"], "3f2c1a9b8e7d6c5b4a39281706f5e4d3c2b1a098");
    assert_eq!(p["author"], "Dev One <dev@example.com>");
    assert_eq!(p["date"], "2026-03-04T05:06:07Z");
    assert_eq!(p["presentAtHead"], false);
    assert!(history["message"]["text"]
        .as_str()
        .unwrap()
        .contains("introduced in commit 3f2c1a9b8e7d"));
    assert_eq!(
        result_for(&log, "ci/env.b64")["properties"]["decodedFrom"],
        "base64"
    );
    // Without a root, relative paths stay relative to %SRCROOT%, and the log is still valid.
    let mut out = Vec::new();
    report::write(
        &mut out,
        &findings,
        Format::Sarif,
        &report::Context {
            rules: detector.rules(),
            ..Default::default()
        },
    )
    .unwrap();
    let log: Value = serde_json::from_slice(&out).unwrap();
    assert_valid(&log);
    assert!(log["runs"][0].get("originalUriBaseIds").is_none());
    result_for(&log, "dist/release.zip");
}

// ---- The GitHub Action ----

fn action() -> serde_yaml::Value {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The input names in the "Inputs" table of docs/ci.md.
fn readme_inputs() -> BTreeSet<String> {
    let section =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci.md")).unwrap();
    let table = &section[section.find("| input |").unwrap()..];
    table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.split('|')
                .nth(1)
                .unwrap()
                .trim()
                .trim_matches('`')
                .to_string()
        })
        .collect()
}

#[test]
fn action_yml_is_a_composite_action_with_the_documented_inputs() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs: BTreeSet<String> = action["inputs"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            assert!(
                v["description"].as_str().is_some_and(|d| !d.is_empty()),
                "input {k:?} needs a description"
            );
            k.as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(inputs, readme_inputs());
    assert!(inputs.contains("full-history"));

    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    assert_eq!(upload["with"]["sarif_file"], "${{ inputs.sarif-file }}");
    let install = steps[0]["run"].as_str().unwrap();
    assert!(install.contains("cargo install") && install.contains("--path"));
    let scan = scan_step(&action);
    assert!(scan.contains("--range \"$PR_BASE..$PR_HEAD\""));
    assert!(scan.contains("--format sarif"));
    // Values reach the scripts through env, never spliced into the script text.
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            assert!(!run.contains("${{"), "expression inside a script: {run}");
        }
    }
}

fn scan_step(action: &serde_yaml::Value) -> String {
    action["runs"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "scan")
        .and_then(|s| s["run"].as_str())
        .unwrap()
        .to_string()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn bin_dir() -> PathBuf {
    assert_cmd::cargo::cargo_bin("keysweep")
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs the action's scan step as the runner would: bash, the step's env, keysweep on PATH.
fn run_scan_step(repo: &Path, env: &[(&str, &str)]) -> (String, std::process::Output) {
    let script = scan_step(&action());
    let output_file = repo.join("github_output");
    std::fs::write(&output_file, "").unwrap();
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.current_dir(repo)
        .arg("-c")
        .arg(&script)
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &output_file);
    for (k, v) in [
        ("EVENT_NAME", "pull_request"),
        ("PR_BASE", ""),
        ("PR_HEAD", ""),
        ("PUSH_BEFORE", ""),
        ("PUSH_AFTER", ""),
        ("FULL_HISTORY", "false"),
        ("SARIF_FILE", "keysweep.sarif"),
        ("BASELINE", ""),
        ("CONFIG", ""),
        ("EXTRA_ARGS", ""),
    ] {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (std::fs::read_to_string(&output_file).unwrap(), out)
}

/// The exact command the action runs, on a real repository with a pull-request-like range:
/// the base has an old key (accepted history), the PR adds a new one.
#[test]
fn action_scan_step_gates_a_pull_request_range() {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    git(r, &["init", "-q", "-b", "main"]);
    write(r, "README", "app\n");
    write(r, "old.env", format!("id = {LONE_KEY}\n"));
    git(r, &["add", "."]);
    git(r, &["commit", "-qm", "base"]);
    let base = git(r, &["rev-parse", "HEAD"]);
    git(r, &["checkout", "-qb", "feature"]);
    write(
        r,
        "app/settings.py",
        format!("\nAWS_ACCESS_KEY_ID = \"{KEY}\"\nAWS_SECRET_ACCESS_KEY = \"{SECRET}\"\n"),
    );
    git(r, &["add", "."]);
    git(r, &["commit", "-qm", "add settings"]);
    let head = git(r, &["rev-parse", "HEAD"]);

    let (outputs, out) = run_scan_step(r, &[("PR_BASE", &base), ("PR_HEAD", &head)]);
    assert!(out.status.success(), "{out:?}");
    assert!(outputs.contains("exit-code=1"), "{outputs} {out:?}");
    let log: Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("keysweep.sarif")).unwrap()).unwrap();
    assert_valid(&log);
    let found = results(&log);
    assert_eq!(found.len(), 1, "only what the PR added: {log:#}");
    assert_eq!(found[0]["properties"]["keyId"], KEY);
    assert_eq!(
        found[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app/settings.py"
    );

    // A range that adds nothing: exit code 0.
    let (outputs, out) = run_scan_step(r, &[("PR_BASE", &base), ("PR_HEAD", &base)]);
    assert!(out.status.success(), "{out:?}");
    assert!(outputs.contains("exit-code=0"), "{outputs} {out:?}");

    // A push with no earlier commit scans the whole history: both keys.
    let (outputs, _) = run_scan_step(
        r,
        &[
            ("EVENT_NAME", "push"),
            ("PUSH_BEFORE", "0000000000000000000000000000000000000000"),
            ("PUSH_AFTER", &head),
        ],
    );
    assert!(outputs.contains("exit-code=1"), "{outputs}");
    let log: Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("keysweep.sarif")).unwrap()).unwrap();
    assert_valid(&log);
    assert!(results(&log).len() >= 2, "{log:#}");
}

#[test]
fn suppressed_findings_are_results_with_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "marked.env",
        format!("aws_access_key_id = {KEY} # keysweep:allow\naws_secret_access_key = {SECRET} # keysweep:allow\n"),
    );
    write(dir.path(), "fixtures/lone.txt", format!("id {LONE_KEY}\n"));
    write(
        dir.path(),
        ".keysweep.toml",
        "[[allow]]\npath = \"fixtures/**\"\nreason = \"parser fixtures\"\n",
    );
    // The config is the one of the repository keysweep runs in: run inside the directory.
    let run = |args: &[&str]| {
        let out = keysweep()
            .args(["scan", "--format", "sarif"])
            .args(args)
            .arg(".")
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let (code, out) = run(&[]);
    assert_eq!(code, 0, "{out}");
    let log: Value = serde_json::from_str(&out).unwrap();
    assert_valid(&log);
    let marked = result_for(&log, "marked.env");
    assert_eq!(marked["suppressions"][0]["kind"], "inSource");
    assert_eq!(marked["suppressions"][0]["status"], "accepted");
    let allowed = result_for(&log, "fixtures/lone.txt");
    assert_eq!(allowed["suppressions"][0]["kind"], "external");
    assert!(allowed["suppressions"][0]["justification"]
        .as_str()
        .unwrap()
        .contains("parser fixtures"));
    // --no-allow: nothing is suppressed, both fail the run.
    let (code, out) = run(&["--no-allow"]);
    assert_eq!(code, 1);
    let log: Value = serde_json::from_str(&out).unwrap();
    assert!(results(&log)
        .iter()
        .all(|r| r.get("suppressions").is_none()));
}
