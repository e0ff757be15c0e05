//! `.keysweep.toml`: errors that name the line, allow entries with reasons, excluded paths,
//! the extra rules directory, discovery in the working directory's repository, `--no-allow`.

use crate::common;

use std::path::Path;

use keysweep::config::Config;

use common::{json_scan, write, Run, KEY, LONE_KEY, OTHER_KEY, SECRET};

fn run_in(cwd: &Path, args: &[&str]) -> Run {
    Run::lenient(json_scan().current_dir(cwd).args(args).output().unwrap())
}

fn pair(key: &str) -> String {
    format!("aws_access_key_id = {key}\naws_secret_access_key = {SECRET}\n")
}

/// A repository with a key pair in `app/.env` and a lone key ID in `vendor/lib/x.js`.
fn repo(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/.env", pair(KEY));
    write(
        dir.path(),
        "vendor/lib/x.js",
        format!("var k = '{LONE_KEY}';\n"),
    );
    write(dir.path(), ".keysweep.toml", config);
    dir
}

/// Asserts a usage error (exit 2) naming the config file, `line` and every word of `words`.
fn assert_config_error(config: &str, line: usize, words: &[&str]) {
    let dir = repo(config);
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(".keysweep.toml:{line}:")),
        "expected line {line}: {}",
        run.stderr
    );
    for word in words {
        assert!(
            run.stderr.contains(word),
            "expected {word:?}: {}",
            run.stderr
        );
    }
    assert!(run.findings.is_empty());
}

#[test]
fn unknown_keys_are_errors_with_their_line() {
    assert_config_error(
        "my_accounts = [\"123456789012\"]\n\n[scan]\nexclud = [\"vendor\"]\n",
        4,
        &["unknown field `exclud`", "exclude"],
    );
    assert_config_error("verbose = true\n", 1, &["unknown field `verbose`"]);
    assert_config_error(
        &format!("[[allow]]\nkey_id = \"{KEY}\"\nreason = \"ok\"\n\n[[allow]]\nkey_id = \"{KEY}\"\nresaon = \"typo\"\n"),
        7,
        &["unknown field `resaon`"],
    );
    assert_config_error("[scan]\nmax_ratio = \"high\"\n", 2, &["must be a number"]);
}

#[test]
fn bad_globs_are_errors_with_their_line() {
    assert_config_error(
        "[scan]\nexclude = [\n  \"vendor\",\n  \"src/[abc\",\n]\n",
        4,
        &["invalid `exclude` glob", "src/[abc"],
    );
    assert_config_error(
        &format!("\n[[allow]]\nkey_id = \"{KEY}\"\npath = \"a/{{b\"\nreason = \"x\"\n"),
        4,
        &["invalid `path` glob"],
    );
}

#[test]
fn allow_entries_need_a_reason_and_a_target() {
    assert_config_error(
        &format!("[[allow]]\nkey_id = \"{KEY}\"\nreason = \"ok\"\n\n[[allow]]\nkey_id = \"{OTHER_KEY}\"\n"),
        5,
        &["missing field `reason`"],
    );
    assert_config_error(
        &format!("[[allow]]\nkey_id = \"{KEY}\"\nreason = \"  \"\n"),
        3,
        &["`reason` may not be empty"],
    );
    assert_config_error(
        "\n[[allow]]\nreason = \"everything\"\n",
        2,
        &["needs `key_id`, `fingerprint` or `path`"],
    );
    assert_config_error(
        "[[allow]]\nkey_id = \"akia-something\"\nreason = \"x\"\n",
        2,
        &["not an access key ID"],
    );
    assert_config_error(
        "[[allow]]\nfingerprint = \"xyz\"\nreason = \"x\"\n",
        2,
        &["not a finding fingerprint"],
    );
    assert_config_error(
        "my_accounts = [\n  \"123456789012\",\n  \"1234\",\n]\n",
        3,
        &["not a 12-digit AWS account ID"],
    );
}

#[test]
fn allow_by_key_id_is_counted_and_no_allow_brings_it_back() {
    let dir = repo(&format!(
        "[[allow]]\nkey_id = \"{KEY}\"\nreason = \"deactivated 2026-01-12\"\n"
    ));
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.sorted_key_ids(), [LONE_KEY]);
    assert!(
        run.stderr.contains("1 by config allow-list"),
        "{}",
        run.stderr
    );
    let audit = run_in(dir.path(), &["--no-allow", "."]);
    assert_eq!(audit.sorted_key_ids(), [LONE_KEY, KEY]);
    assert!(!audit.stderr.contains("allow-list"), "{}", audit.stderr);
}

#[test]
fn allow_by_fingerprint_and_by_path_and_key() {
    let first = run_in(repo("").path(), &["."]);
    let fingerprint = first.findings.iter().find(|f| f["key_id"] == KEY).unwrap()["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();

    let dir = repo(&format!(
        "[[allow]]\nfingerprint = \"{fingerprint}\"\nreason = \"test fixture\"\n"
    ));
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.sorted_key_ids(), [LONE_KEY]);

    // path + key_id: both must match.
    let dir = repo(&format!(
        "[[allow]]\npath = \"vendor/**\"\nkey_id = \"{LONE_KEY}\"\nreason = \"revoked\"\n\n[[allow]]\npath = \"vendor/**\"\nkey_id = \"{KEY}\"\nreason = \"not in vendor\"\n"
    ));
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.sorted_key_ids(), [KEY]);
    assert!(
        run.stderr
            .contains("(1 by config allow-list, 2 key IDs in keysweep's config"),
        "{}",
        run.stderr
    );
}

#[test]
fn excluded_paths_are_dropped_and_counted() {
    let dir = repo("[scan]\nexclude = [\"vendor\"]\n");
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.code, 1);
    assert_eq!(run.sorted_key_ids(), [KEY]);
    // The walk leaves the directory out: one path, whatever it holds.
    assert!(
        run.stderr.contains("1 path left out by [scan] exclude"),
        "{}",
        run.stderr
    );
    // --no-allow does not undo exclusions.
    let run = run_in(dir.path(), &["--no-allow", "."]);
    assert_eq!(run.sorted_key_ids(), [KEY]);
    // A file named on the command line is read; its findings are dropped and counted.
    let run = run_in(dir.path(), &["vendor/lib/x.js"]);
    assert_eq!(run.code, 0, "{:?}", run.findings);
    assert!(run.stderr.contains("1 in excluded paths"), "{}", run.stderr);

    let dir = repo("[scan]\nexclude = [\"*.env\", \"vendor/lib/*.js\"]\n");
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.code, 0, "{:?}", run.findings);
    assert!(
        run.stderr.contains("2 paths left out by [scan] exclude"),
        "{}",
        run.stderr
    );
}

/// An excluded directory is never read: what it holds (a FIFO, which a walk reports as not
/// scanned; an unreadable directory; more files) costs nothing, is not counted on its own,
/// and the rest of the scan is what it is without the directory.
#[cfg(unix)]
#[test]
fn excluded_directories_are_not_descended() {
    use std::os::unix::fs::PermissionsExt;
    let dir = repo("[scan]\nexclude = [\"vendor\"]\n");
    write(dir.path(), "vendor/more/a.env", pair(OTHER_KEY));
    let fifo = dir.path().join("vendor/more/pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let locked = dir.path().join("vendor/locked");
    std::fs::create_dir(&locked).unwrap();
    write(&locked, "b.env", pair(OTHER_KEY));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();

    let run = run_in(dir.path(), &["."]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Exit 1 (findings), not 2: no FIFO skipped, no directory unreadable.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.sorted_key_ids(), [KEY]);
    assert!(
        run.stderr.contains("1 path left out by [scan] exclude"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("NOT scanned"), "{}", run.stderr);
    assert!(!run.stderr.contains("FIFO"), "{}", run.stderr);

    // Without the exclusion the same tree is walked into: the FIFO is reported.
    std::fs::write(dir.path().join(".keysweep.toml"), "").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("FIFO"), "{}", run.stderr);
    assert!(run.sorted_key_ids().contains(&OTHER_KEY));
}

#[test]
fn config_comes_from_the_working_directory_repository_or_config() {
    let dir = repo("[scan]\nexclude = [\"vendor\"]\n");
    let outside = tempfile::tempdir().unwrap();
    // Run inside the repository: its .keysweep.toml applies, and the summary names it.
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.sorted_key_ids(), [KEY]);
    assert!(run.stderr.contains("config: "), "{}", run.stderr);
    assert!(run.stderr.contains(".keysweep.toml"), "{}", run.stderr);
    // From elsewhere, naming the directory: it is scanned data, its config does not apply.
    let run = run_in(outside.path(), &[dir.path().to_str().unwrap()]);
    assert_eq!(run.sorted_key_ids(), [LONE_KEY, KEY]);
    assert!(run.stderr.contains("config: none"), "{}", run.stderr);
    // --config replaces discovery.
    let other = outside.path().join("strict.toml");
    std::fs::write(&other, "[scan]\nexclude = [\"app\"]\n").unwrap();
    let run = run_in(
        outside.path(),
        &[
            "--config",
            other.to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(run.sorted_key_ids(), [LONE_KEY]);
    // --no-config ignores the repository's config.
    let run = run_in(dir.path(), &["--no-config", "."]);
    assert_eq!(run.sorted_key_ids(), [LONE_KEY, KEY]);
    assert!(
        run.stderr.contains("config: none (--no-config)"),
        "{}",
        run.stderr
    );
    // A named config that does not exist is an error.
    let run = run_in(outside.path(), &["--config", "nope.toml", "."]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("nope.toml"), "{}", run.stderr);
}

#[test]
fn rules_dir_adds_rules_relative_to_the_config_file() {
    let dir = repo("[scan]\nrules_dir = \"ci/rules\"\n");
    write(
        dir.path(),
        "ci/rules/corp.toml",
        r#"
[[rule]]
id = "corp-deploy-key"
name = "Corp deploy key"
keywords = ["DEPLOYKEY"]
pattern = 'DEPLOYKEY:(?P<key_id>AKIA[A-Z2-7]{16})'
specificity = 5
examples = ["DEPLOYKEY:AKIAR7VZ3MOXQ4JTLW2N"]
"#,
    );
    write(dir.path(), "build.sh", format!("# DEPLOYKEY:{OTHER_KEY}\n"));
    let run = run_in(dir.path(), &["."]);
    let custom = run
        .findings
        .iter()
        .find(|f| f["key_id"] == OTHER_KEY)
        .unwrap();
    assert_eq!(custom["rule"], "corp-deploy-key");
    // A broken rules_dir is reported.
    let dir = repo("[scan]\nrules_dir = \"missing\"\n");
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing"), "{}", run.stderr);
}

#[test]
fn key_ids_named_in_the_config_are_not_findings() {
    // The allow-list names the key ID it accepts; that mention is not a leak.
    let dir = repo(&format!(
        "[[allow]]\nkey_id = \"{LONE_KEY}\"\nreason = \"revoked\"\n"
    ));
    let run = run_in(dir.path(), &["."]);
    assert_eq!(run.sorted_key_ids(), [KEY]);
    assert!(
        run.stderr
            .contains("1 key ID in keysweep's config or baseline"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_setting_is_parsed() {
    let text = format!(
        r#"my_accounts = ["123456789012", "210987654321"]

[scan]
exclude = ["vendor", "docs/**"]
rules_dir = "rules"
max_archive_bytes = 268435456
max_ratio = 100
archive_depth = 3

[[allow]]
key_id = "{KEY}"
path = "tests/**"
reason = "fixture"
"#
    );
    let config = Config::parse(&text, Path::new("/repo/.keysweep.toml")).unwrap();
    assert_eq!(config.my_accounts, ["123456789012", "210987654321"]);
    assert_eq!(config.exclude, ["vendor", "docs/**"]);
    assert_eq!(config.rules_dir.as_deref(), Some(Path::new("/repo/rules")));
    assert_eq!(config.archive.max_archive_bytes, Some(268_435_456));
    assert_eq!(config.archive.max_ratio, Some(100.0));
    assert_eq!(config.archive.archive_depth, Some(3));
    assert_eq!(config.allow.len(), 1);
    assert_eq!(config.allow[0].line, 10);
    assert_eq!(config.allow[0].reason, "fixture");
    assert!(config.is_excluded("vendor/a/b.js"));
    assert!(config.is_excluded("docs/x.md"));
    assert!(!config.is_excluded("src/docs.rs"));
}
