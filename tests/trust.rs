//! Nothing in the scanned data may steer the scan, reach a shell or fool the terminal: every
//! attack here builds the attacker's files at test time and runs the real binary.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::Command as Process;

use serde_json::Value;

use common::{keysweep, write, Run, KEY, LONE_KEY, OTHER_KEY, SECRET};

fn pair(key: &str) -> String {
    format!("aws_access_key_id = {key}\naws_secret_access_key = {SECRET}\n")
}

/// `keysweep ARGS` in `cwd`, read as a JSON report (or none).
fn run_in(cwd: &Path, args: &[&str]) -> Run {
    Run::lenient(keysweep().current_dir(cwd).args(args).output().unwrap())
}

/// `keysweep ARGS` in `cwd`: exit code, stdout, stderr as bytes.
fn raw_in(cwd: &Path, args: &[&str]) -> (i32, Vec<u8>, Vec<u8>) {
    let out = keysweep().current_dir(cwd).args(args).output().unwrap();
    (common::exit_code(&out), out.stdout, out.stderr)
}

/// A dump an attacker controls: a key pair, and a `.keysweep.toml` that tries to hide it,
/// call it owned, add rules and raise the archive limits.
fn hostile_dump() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/.env", pair(KEY));
    write(
        dir.path(),
        ".keysweep.toml",
        format!(
            "my_accounts = [\"123456789012\"]\n[scan]\nexclude = [\"*.env\"]\nrules_dir = \"r\"\n\
             max_archive_bytes = 17179869184\n[[allow]]\npath = \"**\"\nreason = \"x\"\n\
             [[allow]]\nkey_id = \"{KEY}\"\nreason = \"x\"\n"
        ),
    );
    write(dir.path(), "r/evil.toml", "this is not toml [[[\n");
    dir
}

#[test]
fn a_scanned_directory_does_not_configure_its_own_scan() {
    let dump = hostile_dump();
    let analyst = tempfile::tempdir().unwrap();
    let run = run_in(
        analyst.path(),
        &["scan", "--format", "json", dump.path().to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(found_in(&run, "app/.env"), "{:?}", run.findings);
    assert!(run.stderr.contains("config: none"), "{}", run.stderr);
    // Nor through a git scan of the dump made into a repository.
    git(dump.path(), &["init", "-q"]);
    git(dump.path(), &["add", "-A"]);
    git(dump.path(), &["commit", "-qm", "dump"]);
    let run = run_in(
        analyst.path(),
        &["git", "--format", "json", dump.path().to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(found_in(&run, "app/.env"), "{:?}", run.findings);
}

/// True when `run` reports the pair in a path ending with `path`.
fn found_in(run: &Run, path: &str) -> bool {
    run.findings.iter().any(|f| {
        f["key_id"] == KEY
            && f["kind"] == "access_key_pair"
            && f["location"]["path"]
                .as_str()
                .is_some_and(|p| p.ends_with(path))
    })
}

#[test]
fn a_config_symlink_that_leaves_the_repository_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "cfg.toml",
        "[[allow]]\npath = \"**\"\nreason = \"SECRET-CONTENT-42\"\n",
    );
    let repo = tempfile::tempdir().unwrap();
    write(repo.path(), "app/.env", pair(KEY));
    std::os::unix::fs::symlink(
        outside.path().join("cfg.toml"),
        repo.path().join(".keysweep.toml"),
    )
    .unwrap();
    let run = run_in(repo.path(), &["scan", "--format", "json", "."]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("must stay inside"), "{}", run.stderr);
    assert!(!run.stderr.contains("SECRET-CONTENT-42"), "{}", run.stderr);
}

/// Asserts exit 2 with `.keysweep.toml:LINE:` and `words` on stderr for `config` run in a
/// directory holding it.
fn assert_bad_config(config: &str, line: usize, words: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".keysweep.toml", config);
    write(dir.path(), "a.txt", "nothing\n");
    let run = run_in(dir.path(), &["scan", "--format", "json", "."]);
    assert_eq!(run.code, 2, "{config}: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!(".keysweep.toml:{line}:")),
        "{config}: {}",
        run.stderr
    );
    for word in words {
        assert!(run.stderr.contains(word), "{config}: {}", run.stderr);
    }
}

#[test]
fn config_limits_can_only_lower_and_are_validated() {
    assert_bad_config(
        "[scan]\nmax_archive_bytes = 17179869184\n",
        2,
        &["only lower", "--max-archive-bytes"],
    );
    assert_bad_config("[scan]\nmax_ratio = -5.0\n", 2, &["max_ratio"]);
    assert_bad_config("[scan]\nmax_ratio = nan\n", 2, &["max_ratio"]);
    assert_bad_config("[scan]\nmax_ratio = inf\n", 2, &["max_ratio"]);
    assert_bad_config(
        "[scan]\n\nmax_ratio = 5000\n",
        3,
        &["only lower", "--max-ratio"],
    );
    assert_bad_config("[scan]\narchive_depth = -1\n", 2, &["negative"]);
    assert_bad_config("[scan]\narchive_depth = 9\n", 2, &["only lower"]);
    assert_bad_config("[scan]\nmax_archive_bytes = 0\n", 2, &["at least 1"]);
    assert_bad_config("[scan]\nmax_archive_bytes = 1.5\n", 2, &["whole number"]);
    // Lowering is fine, and the command line may raise.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".keysweep.toml",
        "[scan]\nmax_archive_bytes = 1000\nmax_ratio = 10\narchive_depth = 1\n",
    );
    write(dir.path(), "a.env", pair(KEY));
    let run = run_in(dir.path(), &["scan", "--format", "json", "."]);
    assert_eq!((run.code, run.key_ids()), (1, vec![KEY]), "{}", run.stderr);
}

#[test]
fn rules_dir_stays_inside_the_config_directory_and_is_not_echoed() {
    let top = tempfile::tempdir().unwrap();
    write(
        top.path(),
        "elsewhere/x.toml",
        "SECRET-CONTENT-42 = [[[ not toml\n",
    );
    let repo = top.path().join("repo");
    write(&repo, "a.env", pair(KEY));
    for (config, line) in [
        ("[scan]\nrules_dir = \"../elsewhere\"\n", 2),
        (
            &*format!(
                "[scan]\nrules_dir = \"{}\"\n",
                top.path().join("elsewhere").display()
            ),
            2,
        ),
    ] {
        write(&repo, ".keysweep.toml", config);
        let run = run_in(&repo, &["scan", "--format", "json", "."]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(".keysweep.toml:{line}:")),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("SECRET-CONTENT"), "{}", run.stderr);
    }
    // A symbolic link inside the directory that leads out of it.
    std::os::unix::fs::symlink(top.path().join("elsewhere"), repo.join("rules")).unwrap();
    write(&repo, ".keysweep.toml", "[scan]\nrules_dir = \"rules\"\n");
    let run = run_in(&repo, &["scan", "--format", "json", "."]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("must stay inside"), "{}", run.stderr);
    assert!(!run.stderr.contains("SECRET-CONTENT"), "{}", run.stderr);
    // A rules file symlinked from outside into a real directory.
    fs::remove_file(repo.join("rules")).unwrap();
    fs::create_dir(repo.join("rules")).unwrap();
    std::os::unix::fs::symlink(
        top.path().join("elsewhere/x.toml"),
        repo.join("rules/x.toml"),
    )
    .unwrap();
    let run = run_in(&repo, &["scan", "--format", "json", "."]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains("SECRET-CONTENT"), "{}", run.stderr);
}

/// A custom rule whose `key_id` capture can hold shell syntax or be too short.
fn rule_file(pattern: &str, example: &str) -> String {
    format!(
        "[[rule]]\nid = \"corp\"\nname = \"corp\"\nkeywords = [\"CORP\"]\npattern = '{pattern}'\n\
         specificity = 5\nexamples = [\"{example}\"]\n"
    )
}

#[test]
fn rules_whose_captures_can_leave_their_grammar_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "x.env",
        "CORP AKIA42CQ$(touch PWNED)\nCORP AK\n",
    );
    for (pattern, example) in [
        (r"CORP (?P<key_id>AKIA42CQ\S{0,12})", "CORP AKIA42CQ$(id)"),
        ("CORP (?P<key_id>AK)", "CORP AK"),
        ("CORP (?P<key_id>[A-Z2-7]{20})", "CORP AKIAR7VZ3MOXQ4JTLW2N"),
        (
            "CORP (?P<key_id>AKIA[A-Z2-7]{16}) (?P<user>[^ ]+)",
            "CORP AKIAR7VZ3MOXQ4JTLW2N bob",
        ),
    ] {
        write(dir.path(), "rules/corp.toml", rule_file(pattern, example));
        let (code, stdout, stderr) = raw_in(dir.path(), &["rules", "check", "rules"]);
        let stderr = String::from_utf8_lossy(&stderr);
        assert_eq!(code, 2, "{pattern}: {stderr}");
        assert!(stderr.contains("can produce values"), "{pattern}: {stderr}");
        assert!(stdout.is_empty());
        let run = run_in(
            dir.path(),
            &["scan", "--format", "json", "--rules", "rules", "x.env"],
        );
        assert_eq!(run.code, 2, "{pattern}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert!(!dir.path().join("PWNED").exists());
}

/// A git repository at `dir` driven through the git CLI with no user or system config.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Process::new("git")
        .args([
            "-c",
            "user.name=Test Author",
            "-c",
            "user.email=author@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository whose main branch has a config, a baseline and a rules directory; returns
/// it and BASE's commit id.
fn gated_repo() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q"]);
    write(
        p,
        ".keysweep.toml",
        "[scan]\nrules_dir = \"ci/rules\"\n\n[[allow]]\npath = \"fixtures/**\"\nreason = \"test fixtures\"\n",
    );
    write(
        p,
        "ci/rules/corp.toml",
        rule_file(
            "CORP (?P<key_id>AKIA[A-Z2-7]{16})",
            "CORP AKIAR7VZ3MOXQ4JTLW2N",
        ),
    );
    write(p, "ci/baseline.json", "[]\n");
    write(p, "README", "hello\n");
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "base"]);
    let base = git(p, &["rev-parse", "HEAD"]);
    git(p, &["checkout", "-qb", "pr"]);
    (dir, base)
}

/// `keysweep git --range BASE..HEAD ARGS --format FORMAT` in the repository.
fn gate(dir: &Path, base: &str, format: &str, args: &[&str]) -> (i32, String, String) {
    let range = format!("{base}..HEAD");
    let mut all = vec![
        "git",
        "--range",
        &range,
        "--format",
        format,
        "--baseline",
        "ci/baseline.json",
    ];
    all.extend_from_slice(args);
    let (code, out, err) = raw_in(dir, &all);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// Commits the pull request's files and asserts the gate fails in every format, naming the
/// key and a policy change; with --allow-policy-change the key still fails the gate when
/// BASE's policy does not accept it.
fn assert_gate_holds(dir: &Path, base: &str, what: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", what]);
    let (code, json, err) = gate(dir, base, "json", &[]);
    assert_eq!(code, 1, "{what}: {err}");
    let findings: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert!(
        findings.iter().any(|f| f["key_id"] == OTHER_KEY),
        "{what}: {json}"
    );
    assert!(
        findings.iter().any(|f| f["kind"] == "policy_change"),
        "{what}: {json}"
    );
    assert!(err.contains("policy change"), "{what}: {err}");
    assert!(err.contains("as in BASE"), "{what}: {err}");
    let (code, text, _) = gate(dir, base, "text", &[]);
    assert_eq!(code, 1);
    assert!(text.contains("policy_change"), "{what}: {text}");
    let (code, sarif, _) = gate(dir, base, "sarif", &[]);
    assert_eq!(code, 1);
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "keysweep-policy-change" && r.get("suppressions").is_none()),
        "{what}: {sarif}"
    );
    assert!(
        results
            .iter()
            .any(|r| r["properties"]["keyId"] == OTHER_KEY && r.get("suppressions").is_none()),
        "{what}: {sarif}"
    );
    // Accepting the policy change does not apply HEAD's policy: BASE still decides.
    let (code, json, err) = gate(dir, base, "json", &["--allow-policy-change"]);
    let findings: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(code, 1, "{what}: {err}");
    assert!(findings.iter().any(|f| f["key_id"] == OTHER_KEY), "{what}");
    assert!(
        !findings.iter().any(|f| f["kind"] == "policy_change"),
        "{what}"
    );
    let (_, sarif, _) = gate(dir, base, "sarif", &["--allow-policy-change"]);
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let change = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "keysweep-policy-change")
        .cloned()
        .unwrap_or_else(|| panic!("{what}: {sarif}"));
    assert_eq!(change["suppressions"][0]["kind"], "external");
}

#[test]
fn a_pull_request_cannot_allow_its_own_key_in_the_config() {
    let (repo, base) = gated_repo();
    let p = repo.path();
    write(p, "app/.env", pair(OTHER_KEY));
    let config = fs::read_to_string(p.join(".keysweep.toml")).unwrap();
    write(
        p,
        ".keysweep.toml",
        format!("{config}\n[[allow]]\npath = \"**\"\nreason = \"trust me\"\n"),
    );
    assert_gate_holds(p, &base, "allow **");
}

#[test]
fn a_pull_request_cannot_exclude_its_own_key() {
    let (repo, base) = gated_repo();
    let p = repo.path();
    write(p, "app/.env", pair(OTHER_KEY));
    write(
        p,
        ".keysweep.toml",
        "[scan]\nexclude = [\"*.env\"]\nrules_dir = \"ci/rules\"\n",
    );
    assert_gate_holds(p, &base, "exclude *.env");
}

#[test]
fn a_pull_request_cannot_add_its_key_to_the_baseline() {
    let (repo, base) = gated_repo();
    let p = repo.path();
    write(p, "app/.env", pair(OTHER_KEY));
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "key"]);
    // The attacker writes the baseline from the scan of their own commit.
    let range = format!("{base}..HEAD");
    let (_, json, _) = raw_in(
        p,
        &["git", "--range", &range, "--format", "json", "--no-config"],
    );
    fs::write(p.join("ci/baseline.json"), json).unwrap();
    assert_gate_holds(p, &base, "baseline");
}

#[test]
fn a_pull_request_cannot_change_the_rules() {
    let (repo, base) = gated_repo();
    let p = repo.path();
    write(p, "app/.env", pair(OTHER_KEY));
    write(
        p,
        "ci/rules/more.toml",
        rule_file(
            "CORP (?P<key_id>AKIA[A-Z2-7]{16})x",
            "CORP AKIAR7VZ3MOXQ4JTLW2Nx",
        ),
    );
    assert_gate_holds(p, &base, "rules");
}

#[test]
fn an_allow_marker_added_by_a_pull_request_is_a_policy_change() {
    let (repo, base) = gated_repo();
    let p = repo.path();
    write(
        p,
        "app/.env",
        format!(
            "aws_access_key_id = {OTHER_KEY} # keysweep:allow\n\
             aws_secret_access_key = {SECRET} # keysweep:allow\n"
        ),
    );
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "marker"]);
    let (code, json, err) = gate(p, &base, "json", &[]);
    assert_eq!(code, 1, "{err}");
    let findings: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert!(findings.iter().any(|f| f["key_id"] == OTHER_KEY), "{json}");
    let change = findings
        .iter()
        .find(|f| f["kind"] == "policy_change")
        .unwrap_or_else(|| panic!("{json}"));
    assert!(change["policy_change"]
        .as_str()
        .unwrap()
        .contains("keysweep:allow"));
    assert_eq!(change["location"]["path"], "app/.env");
    // Accepted: the marker suppresses the key, in source, and SARIF says so.
    let (code, sarif, err) = gate(p, &base, "sarif", &["--allow-policy-change"]);
    assert_eq!(code, 0, "{err}");
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let key = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["properties"]["keyId"] == OTHER_KEY)
        .cloned()
        .unwrap_or_else(|| panic!("{sarif}"));
    assert_eq!(key["suppressions"][0]["kind"], "inSource");
}

#[test]
fn a_range_that_leaves_policy_alone_passes_with_base_policy() {
    let (repo, base) = gated_repo();
    let p = repo.path();
    // BASE allows fixtures/**: a key there is accepted, and shown as suppressed in SARIF.
    write(p, "fixtures/k.env", pair(OTHER_KEY));
    write(p, "README", "changed\n");
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "fixture"]);
    let (code, sarif, err) = gate(p, &base, "sarif", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("policy change"), "{err}");
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{sarif}");
    assert_eq!(results[0]["suppressions"][0]["kind"], "external");
    assert!(results[0]["suppressions"][0]["justification"]
        .as_str()
        .unwrap()
        .contains("test fixtures"));
    // BASE's custom rule applies to the range.
    write(p, "deploy.txt", format!("CORP {LONE_KEY}\n"));
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "corp"]);
    let (code, json, err) = gate(p, &base, "json", &[]);
    assert_eq!(code, 1, "{err}");
    let findings: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert!(findings
        .iter()
        .any(|f| f["key_id"] == LONE_KEY && f["rule"] == "corp"));
    // JSON lists suppressed findings only when asked.
    assert!(!findings.iter().any(|f| f["key_id"] == OTHER_KEY));
    let (_, json, _) = gate(p, &base, "json", &["--include-suppressed"]);
    let findings: Vec<Value> = serde_json::from_str(&json).unwrap();
    let accepted = findings
        .iter()
        .find(|f| f["key_id"] == OTHER_KEY)
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(accepted["suppression"]["kind"], "external");
}

/// Bytes a terminal would act on.
fn has_terminal_controls(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

#[test]
fn hostile_names_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "title\x1b]0;pwned\x07.env",
        "clear\x1b[2J.env",
        "over\rwrite.env",
        "bidi\u{202e}vne.txt",
        "c1\u{9b}31m.env",
    ];
    for name in names {
        write(dir.path(), name, pair(KEY));
    }
    let (code, stdout, stderr) = raw_in(
        dir.path(),
        &["scan", "--format", "text", "--color", "never", "."],
    );
    assert_eq!(code, 1);
    assert!(
        !has_terminal_controls(&stdout),
        "{}",
        String::from_utf8_lossy(&stdout)
    );
    assert!(
        !has_terminal_controls(&stderr),
        "{}",
        String::from_utf8_lossy(&stderr)
    );
    let text = String::from_utf8(stdout).unwrap();
    assert!(text.contains("title\\x1b]0;pwned\\x07.env"), "{text}");
    assert!(text.contains("over\\rwrite.env"), "{text}");
    assert!(text.contains("bidi\\u{202e}vne.txt"), "{text}");
    // JSON keeps the exact names.
    let run = run_in(dir.path(), &["scan", "--format", "json", "."]);
    let paths: Vec<&str> = run
        .findings
        .iter()
        .filter_map(|f| f["location"]["path"].as_str())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("title\x1b]0;pwned\x07.env")),
        "{paths:?}"
    );
    // Archive member names, through the system tar.
    let tar = dir.path().join("dump.tar");
    let status = Process::new("tar")
        .arg("-cf")
        .arg(&tar)
        .args(["-C", dir.path().to_str().unwrap(), "clear\x1b[2J.env"])
        .status()
        .unwrap();
    assert!(status.success());
    let (_, stdout, stderr) = raw_in(dir.path(), &["scan", "--color", "never", "dump.tar"]);
    assert!(
        !has_terminal_controls(&stdout),
        "{}",
        String::from_utf8_lossy(&stdout)
    );
    assert!(!has_terminal_controls(&stderr));
    assert!(String::from_utf8_lossy(&stdout).contains("dump.tar!clear\\x1b[2J.env"));
}

#[test]
fn hostile_git_authors_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q"]);
    write(p, "a.env", pair(KEY));
    git(p, &["add", "-A"]);
    git(
        p,
        &[
            "-c",
            "user.name=Mallory\x1b[2J\x1b]0;owned\x07\r",
            "-c",
            "user.email=m\u{202e}@x",
            "commit",
            "-qm",
            "k",
        ],
    );
    let (code, stdout, stderr) = raw_in(p, &["git", "--color", "never", "--format", "text"]);
    assert_eq!(code, 1, "{}", String::from_utf8_lossy(&stderr));
    assert!(
        !has_terminal_controls(&stdout),
        "{}",
        String::from_utf8_lossy(&stdout)
    );
    assert!(String::from_utf8_lossy(&stdout).contains("Mallory\\x1b[2J"));
}

#[test]
fn a_report_cannot_put_commands_into_the_playbook() {
    let dir = tempfile::tempdir().unwrap();
    let finding = |key_id: &str, user: &str| {
        serde_json::json!({
            "rule": "aws-access-key-id", "kind": "access_key_id", "severity": "medium",
            "key_id": key_id, "user_name": user,
            "location": {"path": "a.env", "line": 1, "column": 1},
            "fingerprint": "00112233445566778899aabbccddeeff"
        })
    };
    for (value, field) in [
        (finding("AKIA42CQ$(touch PWNED)", "bob"), "key_id"),
        (finding(KEY, "bob$(touch PWNED)"), "user_name"),
        (finding(KEY, "bob\n# heading"), "user_name"),
    ] {
        let report = dir.path().join("r.json");
        fs::write(&report, serde_json::to_string(&[value]).unwrap()).unwrap();
        for format in ["sh", "md"] {
            let (code, stdout, stderr) =
                raw_in(dir.path(), &["remediate", "--format", format, "r.json"]);
            let stderr = String::from_utf8_lossy(&stderr);
            assert_eq!(code, 2, "{stderr}");
            assert!(stdout.is_empty());
            assert!(stderr.contains("finding 1"), "{stderr}");
            assert!(stderr.contains(&format!("`{field}`")), "{stderr}");
            assert!(!has_terminal_controls(stderr.as_bytes()));
        }
    }
    assert!(!dir.path().join("PWNED").exists());
}

#[test]
fn hostile_paths_cannot_inject_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = "x`\n# Injected heading\n[link](http://attacker.example) ![i](http://a/x.png) <img src=x onerror=alert(1)>\n``";
    let report = serde_json::json!([{
        "rule": "aws-access-key-id", "kind": "access_key_id", "severity": "medium",
        "key_id": KEY,
        "location": {"path": path, "archive_member": "m</code><script>x</script>", "line": 1, "column": 1},
        "verification": {"status": "error", "message": "<img src=x onerror=alert(1)> [l](http://e)\n# h"},
        "fingerprint": "00112233445566778899aabbccddeeff"
    }]);
    fs::write(dir.path().join("r.json"), report.to_string()).unwrap();
    let (code, stdout, stderr) = raw_in(dir.path(), &["remediate", "--format", "md", "r.json"]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
    let md = String::from_utf8(stdout).unwrap();
    for line in md.lines() {
        assert!(
            !line.starts_with("# Injected") && !line.starts_with("# h"),
            "{md}"
        );
    }
    // Whatever opens a link, image or tag sits inside one code span whose fence no run of
    // backticks inside it closes, or is escaped.
    for line in md.lines() {
        if !(line.contains("<img") || line.contains("<script") || line.contains("](http")) {
            continue;
        }
        let span = line.strip_prefix("- ").unwrap_or_else(|| panic!("{line}"));
        let fence: String = span.chars().take_while(|&c| c == '`').collect();
        assert!(!fence.is_empty(), "{line}");
        assert!(span.ends_with(&fence), "{line}");
        let inner = &span[fence.len()..span.len() - fence.len()];
        assert!(!inner.contains(&fence), "{line}");
    }
    assert!(md.contains("&lt;img src\\=x"), "{md}");
}

#[test]
fn non_utf8_paths_keep_their_identity() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    // Different contents, so that git holds two blobs (it reports each blob once).
    for (i, name) in [&b"a\xff.env"[..], b"a\xfe.env"].into_iter().enumerate() {
        fs::write(
            dir.path().join(std::ffi::OsStr::from_bytes(name)),
            format!("{}# copy {i}\n", pair(KEY)),
        )
        .unwrap();
    }
    let run = run_in(dir.path(), &["scan", "--format", "json", "."]);
    assert_eq!(run.findings.len(), 2, "{:?}", run.findings);
    let (a, b) = (&run.findings[0], &run.findings[1]);
    assert_ne!(a["fingerprint"], b["fingerprint"]);
    assert_ne!(a["location"]["path"], b["location"]["path"]);
    // The escaped path names the file; path_bytes holds it exactly.
    use base64::Engine as _;
    for f in [a, b] {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(f["location"]["path_bytes"].as_str().unwrap())
            .unwrap();
        assert!(dir
            .path()
            .join(std::ffi::OsStr::from_bytes(&bytes))
            .is_file());
        let shown = f["location"]["path"].as_str().unwrap();
        assert!(
            shown.contains("\\xff") || shown.contains("\\xfe"),
            "{shown}"
        );
    }
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 32);
    // A baseline holding one does not hide the other.
    fs::write(
        dir.path().join("base.json"),
        serde_json::to_string(&[a]).unwrap(),
    )
    .unwrap();
    let run = run_in(
        dir.path(),
        &["scan", "--format", "json", "--baseline", "base.json", "."],
    );
    assert_eq!(run.findings.len(), 1, "{:?}", run.findings);
    assert_eq!(run.findings[0]["location"]["path"], b["location"]["path"]);
    // And in git history.
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "k"]);
    let run = run_in(dir.path(), &["git", "--format", "json"]);
    let paths: Vec<&str> = run
        .findings
        .iter()
        .filter_map(|f| f["location"]["path_bytes"].as_str())
        .collect();
    assert_eq!(paths.len(), 2, "{:?}", run.findings);
    assert_ne!(paths[0], paths[1]);
}

#[test]
fn old_baselines_are_refused_with_how_to_rewrite_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.env", pair(KEY));
    write(
        dir.path(),
        "old.json",
        "[{\"fingerprint\": \"8af20fe6ac4598d8\"}]",
    );
    let run = run_in(
        dir.path(),
        &["scan", "--format", "json", "--baseline", "old.json", "."],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--write-baseline"), "{}", run.stderr);
}
