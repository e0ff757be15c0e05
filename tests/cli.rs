//! Command-line behaviour of `keysweep scan` and `keysweep rules`: exit codes, input errors,
//! redaction, report formats, ordering, walking rules and custom rules. Every test builds its
//! inputs in a temp dir and runs the real binary.
//!
//! All keys here are made up (random base32 / base64), never real credentials.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

use common::{write, KEY as KEY_ID, SECRET, SESSION_KEY as TEMP_KEY_ID, TOKEN};

const SECRET_REDACTED: &str = "Zq8v…(40 chars)";

/// More made-up key IDs and secrets (random base32 / base64), for trees with many keys.
const KEY_IDS: [&str; 24] = [
    "AKIACQTJKSZPRFK5CKNC",
    "AKIA7JBD4R6CC6PKYQJR",
    "AKIA2I5PSGRGIUF7KFEB",
    "AKIACSORV4QPAFUH76SL",
    "AKIA3OQGGUCSCELDOERZ",
    "AKIASD6DRRJYZTET5C2G",
    "AKIAKUKXJ54644TYIB7L",
    "AKIASPO5FFJE6JRRGOX4",
    "AKIATU3BLGNOICJIJFE5",
    "AKIA5KVSWKAJDC4B3R33",
    "AKIA6OREZ6C5ANPZXTBH",
    "AKIADF64YMJFHHAGKYD7",
    "AKIA36IOZQ7AFMPQELMC",
    "AKIALRPYM6GPZMZZJWRH",
    "AKIAE6P3576LBQGZBEPY",
    "AKIAFF4C3DSMVCGR42PI",
    "AKIA3KHUOVSKLC72TOKS",
    "AKIAGUHMTEWDLJILHSUE",
    "AKIA4IGHEMVSM6V3IR26",
    "AKIAOSAVKNEPEPRW3BX6",
    "AKIAUGYLNOAJEJVEFE5J",
    "AKIA3IAOQLJGHXYCYXPI",
    "AKIAYL4357SHAZGCJKD7",
    "AKIAGI7R5X6PMCDGXIF6",
];
const SECRETS: [&str; 24] = [
    "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",
    "FSAgE2e/o9xcnbRP0SdKn9Y5lLQPgeGScaoHoH8A",
    "gFM5XenktxcGmG72VkqJgb2KJS3z9cbqq9wgjAdQ",
    "iWCCzb1aZskot1HerOZ54dOHCLS/qo9KplNbF15m",
    "gAhw6oMYDPrVsNIB0afQEvFtmMTi3li8A1Z7OeWs",
    "HBtygmkmjqneYkcP27P8snos42ahTCPmTEWERNGY",
    "NnY523kG+2KG0wN+WRYKK5PSVYifkTXiGirke4E5",
    "pV1ticRDpUKcwGQ14TuMt/DNePFXinUdP0TtiuKM",
    "KUrGoUhinKGFw3uGkyvDJwi9ohS91k3/dmeJBKRx",
    "3RSnvyweaBhanbrFC+UWeXnMmFLe16r6+fwoMEtP",
    "k3b2d2SIMza4m53Yt5aGTE+VX+6M436UJBoHnnBD",
    "PfaXFKZehOYQs0A02X8C8y65BQ5Fc0VRJ6Y+BlY3",
    "HlxolsHLkytPHaXdrs38cFVdFtXExaiJmIl0GkXZ",
    "yPjNg62GMxU/6anYcIPMWh8/D5npe7nwzmNA+Zyo",
    "cn+Vu3P+CF0Vt0DltPfWtMo2diRntQXd9TlQqwWx",
    "Hfpau5prtaZMyFobfPG2mEJjhnhB+UTzGfbXpqlE",
    "o3j0vlt5Fq17CY0S2F86YPBr9fJIikCRGF6BajI4",
    "kLeoAgx64GKL5DGQLQCs8XSNyhLnBsxiBlJC6JyC",
    "Co9Va+/hRPSBYhknuVJRYn4s7Ym/VgyksIpXfuUx",
    "j273l/jR5c1slRpykCfkhAaWs7PGvhSci23VdF3T",
    "KJSk6x9klv7lnlUU4HkaMKr+wGfGfJ5XfC4o1XSX",
    "203kpWB547i8VXthU1QAwE8gguRIvGzyDTak5M1k",
    "tOnIFWX8OHpcdSo6dA5cLLGjNlwCTJaVfZhgLxM0",
    "PHJ7tEt/h2Xi9/x38aX9w8MM7lb8IAwsKhQpLHFd",
];

/// An `~/.aws/credentials` profile with the main key pair.
fn credentials_ini() -> String {
    format!("[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
}

/// `aws sts get-session-token` output: temporary key ID, secret and session token.
fn sts_json() -> String {
    format!(
        "{{\n  \"Credentials\": {{\n    \"AccessKeyId\": \"{TEMP_KEY_ID}\",\n    \
         \"SecretAccessKey\": \"{SECRET}\",\n    \"SessionToken\": \"{TOKEN}\",\n    \
         \"Expiration\": \"2026-11-27T22:00:00+00:00\"\n  }}\n}}\n"
    )
}

fn keysweep() -> Command {
    let mut cmd = Command::cargo_bin("keysweep").unwrap();
    cmd.env("NO_COLOR", "1").timeout(Duration::from_secs(120));
    cmd
}

/// Runs `keysweep ARGS` in `dir`.
fn run(dir: &Path, args: &[&str]) -> Output {
    keysweep().current_dir(dir).args(args).output().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("keysweep exited by a signal")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Runs a scan with `--format jsonl` and parses the findings.
fn scan_jsonl(dir: &Path, args: &[&str]) -> (Vec<Value>, Output) {
    let mut all = vec!["scan", "--format", "jsonl"];
    all.extend_from_slice(args);
    let out = run(dir, &all);
    let findings = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (findings, out)
}

fn key_ids(findings: &[Value]) -> Vec<&str> {
    findings
        .iter()
        .filter_map(|f| f["key_id"].as_str())
        .collect()
}

fn is_root() -> bool {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

// ---------------------------------------------------------------------------------------------
// Exit codes and input errors

#[test]
fn clean_tree_exits_0_and_prints_no_findings() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "src/main.rs",
        "fn main() { println!(\"hi\"); }\n",
    );
    write(dir.path(), "README.md", "# nothing to see\n");
    let out = run(dir.path(), &["scan", "."]);
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("0 findings"), "{}", stderr(&out));
    let out = run(dir.path(), &["scan", "--format", "json", "."]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&out)).unwrap(),
        Value::Array(vec![])
    );
}

#[test]
fn findings_exit_1_or_the_exit_code_asked_for() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "creds", credentials_ini());
    assert_eq!(code(&run(dir.path(), &["scan", "creds"])), 1);
    assert_eq!(
        code(&run(dir.path(), &["scan", "--exit-code", "3", "creds"])),
        3
    );
    assert_eq!(
        code(&run(dir.path(), &["scan", "--exit-code", "0", "creds"])),
        0
    );
    // The code applies to findings only: a clean scan still exits 0.
    write(dir.path(), "clean", "nothing\n");
    assert_eq!(
        code(&run(dir.path(), &["scan", "--exit-code", "3", "clean"])),
        0
    );
}

#[test]
fn missing_path_alone_exits_2_naming_it() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "clean", "nothing here\n");
    let out = run(dir.path(), &["scan", "does-not-exist.txt", "clean"]);
    assert_eq!(code(&out), 2);
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("error") && l.contains("does-not-exist.txt")),
        "stderr: {err}"
    );
}

#[test]
fn missing_path_with_a_finding_elsewhere_exits_1_and_still_reports_the_error() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "creds", credentials_ini());
    let (findings, out) = scan_jsonl(dir.path(), &["gone/away.env", "creds"]);
    assert_eq!(code(&out), 1);
    assert_eq!(key_ids(&findings), [KEY_ID]);
    let err = stderr(&out);
    assert!(err.contains("gone/away.env"), "stderr: {err}");
    assert!(err.contains("1 input error"), "stderr: {err}");
}

/// `keysweep scan --format jsonl ARGS` in `dir` as an unprivileged user: as root (CI runs as
/// root, and root reads a chmod 000 file) through `setpriv` as uid/gid 65534, with the tree
/// opened up so that user can walk it.
fn scan_jsonl_unprivileged(dir: &Path, args: &[&str]) -> (Vec<Value>, Output) {
    if !is_root() {
        return scan_jsonl(dir, args);
    }
    use std::os::unix::fs::PermissionsExt;
    for entry in walk_all(dir) {
        let mode = fs::metadata(&entry).unwrap().permissions().mode() & 0o777;
        if mode != 0 {
            let open = if entry.is_dir() { 0o755 } else { 0o644 };
            fs::set_permissions(&entry, fs::Permissions::from_mode(open)).unwrap();
        }
    }
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(assert_cmd::cargo::cargo_bin("keysweep"))
        .args(["scan", "--format", "jsonl"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let findings = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (findings, out)
}

/// `dir` and everything below it.
fn walk_all(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < all.len() {
        if all[i].is_dir() {
            let children: Vec<_> = fs::read_dir(&all[i])
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            all.extend(children);
        }
        i += 1;
    }
    all
}

#[test]
fn unreadable_file_is_reported_and_the_scan_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    write(dir.path(), "locked/secret.env", credentials_ini());
    write(
        dir.path(),
        "open/creds",
        format!("aws_access_key_id = {}\n", KEY_IDS[0]),
    );
    let locked = dir.path().join("locked/secret.env");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let (findings, out) = scan_jsonl_unprivileged(dir.path(), &["."]);
    let (findings_alone, out_alone) = scan_jsonl_unprivileged(dir.path(), &["locked/secret.env"]);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o600)).unwrap();

    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(key_ids(&findings), [KEY_IDS[0]]);
    assert!(stderr(&out).contains("secret.env"), "{}", stderr(&out));
    assert_eq!(code(&out_alone), 2);
    assert!(findings_alone.is_empty());
    assert!(stderr(&out_alone).contains("locked/secret.env"));
}

// ---------------------------------------------------------------------------------------------
// Redaction and report destinations

/// A tree whose findings carry a secret and a session token.
fn secrets_tree() -> TempDir {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "home/.aws/credentials", credentials_ini());
    write(dir.path(), "ci/session.json", sts_json());
    dir
}

fn assert_redacted(report: &str, what: &str) {
    assert!(
        !report.contains(SECRET),
        "{what}: full secret printed:\n{report}"
    );
    assert!(
        !report.contains(TOKEN),
        "{what}: full session token printed:\n{report}"
    );
    // Not even a long piece of them.
    assert!(!report.contains(&SECRET[..12]), "{what}:\n{report}");
    assert!(!report.contains(&TOKEN[..24]), "{what}:\n{report}");
    assert!(report.contains(SECRET_REDACTED), "{what}:\n{report}");
    assert!(
        report.contains(KEY_ID),
        "{what}: key IDs are shown in full:\n{report}"
    );
    assert!(report.contains(TEMP_KEY_ID), "{what}:\n{report}");
}

#[test]
fn secrets_are_redacted_in_every_format_on_stdout_and_in_output_files() {
    let dir = secrets_tree();
    for format in ["text", "json", "jsonl"] {
        let out = run(dir.path(), &["scan", "--format", format, "."]);
        assert_eq!(code(&out), 1, "{format}");
        assert_redacted(&stdout(&out), format);
        assert!(!stderr(&out).contains(SECRET), "{format}: secret on stderr");

        let report = dir.path().join(format!("report.{format}"));
        let out = run(
            dir.path(),
            &[
                "scan",
                "--format",
                format,
                "--output",
                report.to_str().unwrap(),
                "home",
                "ci",
            ],
        );
        assert_eq!(code(&out), 1, "{format}");
        assert_eq!(
            stdout(&out),
            "",
            "{format}: --output writes nothing to stdout"
        );
        assert_redacted(&fs::read_to_string(&report).unwrap(), format);
    }
}

#[test]
fn show_secrets_prints_them_in_full_in_every_format() {
    let dir = secrets_tree();
    for format in ["text", "json", "jsonl"] {
        let out = run(
            dir.path(),
            &["scan", "--show-secrets", "--format", format, "."],
        );
        assert_eq!(code(&out), 1, "{format}");
        let report = stdout(&out);
        assert!(report.contains(SECRET), "{format}:\n{report}");
        assert!(report.contains(TOKEN), "{format}:\n{report}");
        assert!(!report.contains(SECRET_REDACTED), "{format}:\n{report}");

        let file = dir.path().join(format!("full.{format}"));
        let out = run(
            dir.path(),
            &[
                "scan",
                "--show-secrets",
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
                "home",
            ],
        );
        assert_eq!(code(&out), 1);
        assert_eq!(stdout(&out), "");
        assert!(
            fs::read_to_string(&file).unwrap().contains(SECRET),
            "{format}"
        );
    }
}

#[test]
fn output_file_holds_the_same_report_as_stdout() {
    let dir = secrets_tree();
    let on_stdout = stdout(&run(
        dir.path(),
        &["scan", "--format", "json", "home", "ci"],
    ));
    let file = dir.path().join("out.json");
    let out = run(
        dir.path(),
        &[
            "scan",
            "--format",
            "json",
            "--output",
            file.to_str().unwrap(),
            "home",
            "ci",
        ],
    );
    assert_eq!(code(&out), 1);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("2 findings"), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&file).unwrap(), on_stdout);
}

#[test]
fn output_file_that_cannot_be_created_is_an_error_naming_it() {
    let dir = secrets_tree();
    let out = run(
        dir.path(),
        &["scan", "-o", "no/such/dir/report.txt", "home"],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no/such/dir/report.txt"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// Report contents

#[test]
fn json_report_has_the_documented_fields() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "app/.env",
        format!("X=1\n{}", credentials_ini()),
    );
    let out = run(dir.path(), &["scan", "--format", "json", "app"]);
    assert_eq!(code(&out), 1);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = report.as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    let f = &findings[0];
    assert!(
        f["rule"].as_str().is_some_and(|r| r.starts_with("aws-")),
        "{f:#}"
    );
    assert_eq!(f["kind"], "access_key_pair");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["key_id"], KEY_ID);
    assert_eq!(f["key_type"], "long_term");
    assert_eq!(f["secret"], SECRET_REDACTED);
    assert!(
        f.get("session_token").is_none(),
        "absent when it does not apply: {f:#}"
    );
    assert_eq!(f["location"]["path"], "app/.env");
    assert_eq!(f["location"]["line"], 3);
    assert_eq!(f["location"]["column"], 21);
    let fp = f["fingerprint"].as_str().unwrap();
    assert!(
        fp.len() >= 16 && fp.chars().all(|c| c.is_ascii_hexdigit()),
        "{fp}"
    );
    assert_eq!(f["verification"]["status"], "not_checked");
    assert!(f["remediation"].is_array(), "{f:#}");
}

#[test]
fn json_session_credentials_carry_a_redacted_token() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "session.json", sts_json());
    let (findings, out) = scan_jsonl(dir.path(), &["session.json"]);
    assert_eq!(code(&out), 1);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["kind"], "session_credentials");
    assert_eq!(f["key_id"], TEMP_KEY_ID);
    assert_eq!(f["key_type"], "temporary");
    assert_eq!(f["secret"], SECRET_REDACTED);
    assert_eq!(f["session_token"], format!("IQoJ…({} chars)", TOKEN.len()));
    assert_eq!(f["location"]["line"], 3);
}

#[test]
fn jsonl_is_one_object_per_line_matching_the_json_array() {
    let dir = secrets_tree();
    write(
        dir.path(),
        "more/ids.txt",
        format!("{} {}\n", KEY_IDS[1], KEY_IDS[2]),
    );
    let jsonl = stdout(&run(dir.path(), &["scan", "--format", "jsonl", "."]));
    let json: Value = serde_json::from_str(&stdout(&run(
        dir.path(),
        &["scan", "--format", "json", "."],
    )))
    .unwrap();
    assert!(jsonl.ends_with('\n'));
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| {
            assert!(
                l.starts_with('{') && l.ends_with('}'),
                "not one object: {l}"
            );
            serde_json::from_str(l).unwrap()
        })
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(Value::Array(lines), json);
}

#[test]
fn text_report_groups_by_file_with_line_and_column() {
    let dir = secrets_tree();
    let out = run(
        dir.path(),
        &["scan", "--format", "text", "--color", "never", "."],
    );
    let text = stdout(&out);
    assert!(
        !text.contains('\x1b'),
        "no colour when not a terminal:\n{text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    let ci = lines
        .iter()
        .position(|l| *l == "./ci/session.json")
        .unwrap();
    let home = lines
        .iter()
        .position(|l| *l == "./home/.aws/credentials")
        .unwrap();
    assert!(ci < home, "{text}");
    assert!(lines[ci + 1].trim_start().starts_with("3:"), "{text}");
    assert!(lines[home + 1].contains(&format!("2:21  critical  access_key_pair  {KEY_ID}")));
}

// ---------------------------------------------------------------------------------------------
// Ordering and stability

/// A tree of 200 source-like files in nested dirs; 20 of them hold keys (some two on one
/// line, some pairs). Returns the dir and the number of findings it must yield.
fn big_tree() -> (TempDir, usize) {
    let dir = TempDir::new().unwrap();
    let filler: String = (0..40)
        .map(|i| format!("    let value_{i} = compute(alpha, beta, {i}); // plain code\n"))
        .collect();
    let mut expected = 0;
    for n in 0..200 {
        let rel = format!("pkg{}/mod{}/file_{n:03}.rs", n % 7, n % 3);
        let mut text = filler.clone();
        if n % 10 == 3 {
            let k = n / 10; // 0..20
            let at = (n * 7) % 30;
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            // A lone key ID and, two lines below, a pair in code.
            lines.insert(at, format!("    // old id {}", KEY_IDS[k]));
            lines.insert(
                at + 2,
                format!(
                    "    let c = Creds::new(\"{}\", \"{}\");",
                    KEY_IDS[(k + 1) % 24],
                    SECRETS[k]
                ),
            );
            if k % 4 == 0 {
                // Two lone IDs on one line: ordered by column.
                lines.push(format!("ids = [{}, {}]", KEY_IDS[22], KEY_IDS[23]));
                expected += 2;
            }
            text = lines.join("\n") + "\n";
            expected += 2;
        }
        write(dir.path(), &rel, text);
    }
    (dir, expected)
}

fn location(f: &Value) -> (String, u64, u64) {
    (
        f["location"]["path"].as_str().unwrap().to_string(),
        f["location"]["line"].as_u64().unwrap(),
        f["location"]["column"].as_u64().unwrap(),
    )
}

#[test]
fn findings_are_sorted_and_identical_whatever_the_thread_count() {
    let (dir, expected) = big_tree();
    let one = run(
        dir.path(),
        &["scan", "--format", "jsonl", "--threads", "1", "."],
    );
    let two = run(
        dir.path(),
        &["scan", "--format", "jsonl", "--threads", "2", "."],
    );
    let many = run(dir.path(), &["scan", "--format", "jsonl", "-j", "8", "."]);
    assert_eq!(code(&one), 1);
    assert!(
        stderr(&one).contains("scanned 200 files"),
        "{}",
        stderr(&one)
    );
    assert_eq!(one.stdout, two.stdout, "--threads 1 and 2 differ");
    assert_eq!(one.stdout, many.stdout, "--threads 1 and 8 differ");

    let findings: Vec<Value> = stdout(&one)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(findings.len(), expected);
    let locations: Vec<_> = findings.iter().map(location).collect();
    let mut sorted = locations.clone();
    sorted.sort();
    assert_eq!(locations, sorted, "not sorted by path, line, column");
    let pairs = findings
        .iter()
        .filter(|f| f["kind"] == "access_key_pair")
        .count();
    assert_eq!(pairs, 20);
    // Same line, two IDs: both reported, left one first.
    let same_line: Vec<_> = findings
        .iter()
        .filter(|f| f["key_id"] == KEY_IDS[22] || f["key_id"] == KEY_IDS[23])
        .collect();
    assert_eq!(same_line.len(), 10);
    assert_eq!(same_line[0]["key_id"], KEY_IDS[22]);
    assert_eq!(same_line[1]["key_id"], KEY_IDS[23]);
    assert_eq!(
        same_line[0]["location"]["line"],
        same_line[1]["location"]["line"]
    );

    // Text output is identical too.
    let t1 = run(dir.path(), &["scan", "-j", "1", "."]);
    let t2 = run(dir.path(), &["scan", "-j", "2", "."]);
    assert_eq!(t1.stdout, t2.stdout);
}

#[test]
fn fingerprint_survives_lines_inserted_above() {
    let dir = TempDir::new().unwrap();
    let body = format!("region = eu-west-1\n{}", credentials_ini());
    write(dir.path(), "conf/credentials", &body);
    let (before, _) = scan_jsonl(dir.path(), &["conf"]);
    write(
        dir.path(),
        "conf/credentials",
        format!("# one\n# two\n\n# four\n[other]\nregion = us-east-1\n\n{body}"),
    );
    let (after, _) = scan_jsonl(dir.path(), &["conf"]);
    assert_eq!(before.len(), 1);
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0]["location"]["line"].as_u64().unwrap(),
        before[0]["location"]["line"].as_u64().unwrap() + 7
    );
    assert_eq!(before[0]["fingerprint"], after[0]["fingerprint"]);

    // A different key in the same place gets a different fingerprint.
    write(
        dir.path(),
        "conf/credentials",
        body.replace(KEY_ID, KEY_IDS[5]),
    );
    let (other, _) = scan_jsonl(dir.path(), &["conf"]);
    assert_ne!(other[0]["fingerprint"], before[0]["fingerprint"]);
}

// ---------------------------------------------------------------------------------------------
// Walking

#[test]
fn hidden_files_are_scanned_but_git_internals_are_not() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(
        root,
        "project/.env",
        format!("AWS_ACCESS_KEY_ID={}\n", KEY_IDS[0]),
    );
    write(
        root,
        "project/.aws/credentials",
        format!("[ci]\naws_access_key_id = {}\n", KEY_IDS[1]),
    );
    write(
        root,
        "project/.config/tool/.npmrc",
        format!("key={}\n", KEY_IDS[2]),
    );
    write(
        root,
        "project/.git/config",
        format!("[remote \"s3\"]\n\turl = s3://{}@bucket\n", KEY_IDS[3]),
    );
    write(
        root,
        "project/.git/objects/ab/loose",
        format!("{}\n", KEY_IDS[4]),
    );
    write(root, "project/.git/HEAD", "ref: refs/heads/main\n");
    let (findings, out) = scan_jsonl(root, &["project"]);
    assert_eq!(code(&out), 1);
    let mut found = key_ids(&findings);
    found.sort_unstable();
    let mut want = vec![KEY_IDS[0], KEY_IDS[1], KEY_IDS[2]];
    want.sort_unstable();
    assert_eq!(found, want, "{findings:#?}");
    assert!(stderr(&out).contains("scanned 3 files"), "{}", stderr(&out));
}

#[test]
fn gitignored_files_are_skipped_and_counted_unless_no_ignore() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, ".gitignore", "*.log\nbuild/\n");
    write(root, "deploy.log", format!("using {}\n", KEY_IDS[6]));
    write(root, "build/out.txt", format!("using {}\n", KEY_IDS[7]));
    write(root, "sub/.ignore", "local.env\n");
    write(root, "sub/local.env", format!("K={}\n", KEY_IDS[8]));
    write(root, "kept.txt", format!("using {}\n", KEY_IDS[9]));

    let (findings, out) = scan_jsonl(root, &["."]);
    assert_eq!(key_ids(&findings), [KEY_IDS[9]]);
    let err = stderr(&out);
    assert!(
        err.contains("3 files skipped by ignore rules"),
        "stderr: {err}"
    );
    assert!(err.contains("--no-ignore"), "stderr: {err}");

    let (findings, out) = scan_jsonl(root, &["--no-ignore", "."]);
    let mut found = key_ids(&findings);
    found.sort_unstable();
    let mut want = vec![KEY_IDS[6], KEY_IDS[7], KEY_IDS[8], KEY_IDS[9]];
    want.sort_unstable();
    assert_eq!(found, want);
    assert!(!stderr(&out).contains("skipped"), "{}", stderr(&out));
}

#[test]
fn symlink_loop_with_follow_terminates_and_scans_each_file_once() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "tree/a/creds.txt", format!("id {}\n", KEY_IDS[10]));
    std::os::unix::fs::symlink(".", root.join("tree/loop")).unwrap();
    std::os::unix::fs::symlink("..", root.join("tree/a/up")).unwrap();
    let out = keysweep()
        .current_dir(root)
        .args(["scan", "--format", "jsonl", "-L", "tree"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "stderr: {}", stderr(&out));
    let findings: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(key_ids(&findings), [KEY_IDS[10]]);
    assert!(stderr(&out).contains("loop"), "{}", stderr(&out));
    // Without -L links are not followed at all, and nothing is reported about them.
    let out = run(root, &["scan", "tree"]);
    assert_eq!(code(&out), 1);
    assert!(!stderr(&out).contains("error"), "{}", stderr(&out));
}

#[test]
fn stdin_is_scanned_with_dash() {
    let dir = TempDir::new().unwrap();
    let out = keysweep()
        .current_dir(dir.path())
        .args(["scan", "--format", "jsonl", "-"])
        .write_stdin(format!("line one\n{}", credentials_ini()))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let findings: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["location"]["path"], "-");
    assert_eq!(findings[0]["location"]["line"], 3);
    assert_eq!(findings[0]["kind"], "access_key_pair");

    // stdin together with a file.
    write(dir.path(), "f", format!("{}\n", KEY_IDS[11]));
    let out = keysweep()
        .current_dir(dir.path())
        .args(["scan", "--format", "jsonl", "f", "-"])
        .write_stdin("nothing here\n")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains(KEY_IDS[11]));

    let out = keysweep()
        .args(["scan", "-"])
        .write_stdin("nothing here\n")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
}

// ---------------------------------------------------------------------------------------------
// Rules

const BUILTIN_RULE_IDS: [&str; 9] = [
    "aws-access-key-id",
    "aws-secret-access-key",
    "aws-secret-access-key-near-key-id",
    "aws-session-token-near-key-id",
    "aws-credentials-csv",
    "aws-cli-create-access-key",
    "aws-sts-credentials-json",
    "aws-bedrock-long-term-api-key",
    "aws-bedrock-short-term-api-key",
];

#[test]
fn rules_list_prints_the_builtin_rules() {
    let out = keysweep().args(["rules", "list"]).output().unwrap();
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    let ids: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(ids, BUILTIN_RULE_IDS, "{text}");
    assert!(text.lines().all(|l| l.split('\t').count() == 3), "{text}");
}

#[test]
fn rules_check_passes_on_the_builtin_rules() {
    let out = keysweep().args(["rules", "check"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("9 rules"), "{}", stdout(&out));
    assert!(stdout(&out).contains(" 0 failed"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("FAIL"));
}

const CUSTOM_RULE: &str = r#"
[[rule]]
id = "corp-vault-export"
name = "AWS secret in the corp vault export format"
keywords = ["vaultexport"]
pattern = 'vaultexport:(?P<secret>[A-Za-z0-9+/]{40})'
examples = ["vaultexport:Qm4tR8yP2wL7xK3nV9bH6jF1dS5gA0zC8eU2iO4y"]
counter_examples = ["vaultexport:short"]
"#;

#[test]
fn rules_check_dir_fails_on_an_example_that_does_not_match() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "rules/good.toml", CUSTOM_RULE);
    let out = run(dir.path(), &["rules", "check", "rules"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("1 rules, 2 examples checked, 0 failed"));

    write(
        dir.path(),
        "rules/zz-bad.toml",
        r#"
[[rule]]
id = "corp-broken"
name = "A rule whose example does not match its pattern"
keywords = ["brokenexport"]
pattern = 'brokenexport:(?P<secret>[A-Za-z0-9+/]{40})'
examples = ["brokenexport=Qm4tR8yP2wL7xK3nV9bH6jF1dS5gA0zC8eU2iO4y"]
"#,
    );
    let out = run(dir.path(), &["rules", "check", "rules"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let fail: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fail.len(), 1, "{text}");
    assert!(fail[0].contains("corp-broken"), "{text}");
    assert!(fail[0].contains("zz-bad.toml"), "{text}");
    assert!(fail[0].contains("example not matched"), "{text}");
}

#[test]
fn rules_check_dir_fails_on_a_counter_example_that_matches() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "rules/loose.toml",
        CUSTOM_RULE.replace(
            "\"vaultexport:short\"",
            "\"vaultexport:Pz7rK2mW9xQ4tN6vB1cH8jL3dF5gS0aY2eU7iO1w\"",
        ),
    );
    let out = run(dir.path(), &["rules", "check", "rules"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("corp-vault-export"));
    assert!(
        stdout(&out).contains("counter-example matched"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn rules_check_dir_rejects_an_unknown_field_naming_the_file() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "rules/typo.toml",
        CUSTOM_RULE.replace("keywords", "keyword"),
    );
    let out = run(dir.path(), &["rules", "check", "rules"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("typo.toml"), "{err}");
    assert!(err.contains("unknown field `keyword`"), "{err}");
    // A scan with such a rules dir refuses to run rather than silently dropping the rule.
    let out = run(dir.path(), &["scan", "--rules", "rules", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("typo.toml"));
}

#[test]
fn custom_rules_dir_adds_a_rule_that_finds_its_pattern() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "rules/vault.toml", CUSTOM_RULE);
    write(
        dir.path(),
        "data/export.txt",
        "header\nentry vaultexport:Pz7rK2mW9xQ4tN6vB1cH8jL3dF5gS0aY2eU7iO1w\n",
    );
    let (findings, out) = scan_jsonl(dir.path(), &["data"]);
    assert_eq!(code(&out), 0, "built-in rules alone do not see it");
    assert!(findings.is_empty());

    let (findings, out) = scan_jsonl(dir.path(), &["--rules", "rules", "data"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["rule"], "corp-vault-export");
    assert_eq!(findings[0]["kind"], "secret_access_key");
    assert_eq!(findings[0]["secret"], "Pz7r…(40 chars)");
    assert_eq!(findings[0]["location"]["line"], 2);
    assert_eq!(findings[0]["location"]["column"], 19);

    let out = run(dir.path(), &["rules", "list", "--rules", "rules"]);
    assert_eq!(stdout(&out).lines().count(), BUILTIN_RULE_IDS.len() + 1);
    assert!(stdout(&out)
        .lines()
        .last()
        .unwrap()
        .starts_with("corp-vault-export\t"));
}

// ---------------------------------------------------------------------------------------------
// Big files through the binary: the real segment size

#[test]
fn keys_at_the_segment_border_are_found_once() {
    let threshold = keysweep::input::archive::SEGMENT;
    let dir = TempDir::new().unwrap();
    let line = b"    let value = compute_something(alpha, beta, gamma); // nothing\n";
    let pair = format!("aws_access_key_id={KEY_ID}\naws_secret_access_key={SECRET}");
    // Files one byte below, at and above the threshold, each ending in the pair (so the pair
    // sits in the last bytes of the first segment).
    for (name, len) in [
        ("below", threshold - 1),
        ("at", threshold),
        ("above", threshold + 1),
    ] {
        let mut data: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(len - pair.len())
            .collect();
        let n = data.len();
        data[n - 1] = b'\n';
        data.extend_from_slice(pair.as_bytes());
        assert_eq!(data.len(), len);
        let lines = data.iter().filter(|&&b| b == b'\n').count();
        fs::write(dir.path().join(name), &data).unwrap();
        let (findings, out) = scan_jsonl(dir.path(), &["--show-secrets", name]);
        assert_eq!(code(&out), 1, "{name}: {}", stderr(&out));
        assert_eq!(findings.len(), 1, "{name}: {findings:#?}");
        assert_eq!(findings[0]["kind"], "access_key_pair", "{name}");
        assert_eq!(findings[0]["secret"], SECRET, "{name}");
        assert_eq!(findings[0]["location"]["line"], lines as u64, "{name}");
        assert_eq!(findings[0]["location"]["column"], 19, "{name}");
    }
}

#[test]
fn symlink_loop_in_a_clean_tree_is_a_warning_not_an_error() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "tree/a/readme.txt", "nothing to see\n");
    std::os::unix::fs::symlink(".", root.join("tree/loop")).unwrap();
    let out = keysweep()
        .current_dir(root)
        .args(["scan", "-L", "tree"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
    assert!(stderr(&out).contains("loop"), "{}", stderr(&out));
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    let dir = TempDir::new().unwrap();
    let lines: String = (0..3000)
        .map(|i| format!("key{i} = {}\n", KEY_IDS[0]))
        .collect();
    write(dir.path(), "many.txt", lines);
    let bin = assert_cmd::cargo::cargo_bin("keysweep");
    let out = std::process::Command::new("bash")
        .current_dir(dir.path())
        .arg("-c")
        .arg(format!(
            "'{}' scan --format json . | head -c 100 >/dev/null; echo \"status=${{PIPESTATUS[0]}}\"",
            bin.display()
        ))
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("status=1"), "{text} {}", stderr(&out));
    assert!(!stderr(&out).contains("Broken pipe"), "{}", stderr(&out));
}
