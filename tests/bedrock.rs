//! Amazon Bedrock API keys: short-term keys made at test time by AWS's own generator
//! (PyPI `aws-bedrock-token-generator`) from made-up and moto-issued credentials, long-term
//! keys built the way IAM builds them; found, decoded, verified (`--verify owner` against a
//! real moto_server) and remediated (the sh playbook run with the real aws CLI against moto,
//! and, for the service-specific-credential commands moto does not implement, against a
//! logging stub `aws` that records its argv).

use crate::common;
use crate::common::moto;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use tempfile::TempDir;

use common::{write, Run, KEY, SECRET, SESSION_KEY, TOKEN};
use moto::Moto;

/// A long-term key: `ABSK` + base64("BedrockAPIKey-q7rm-at-210987654321:<random secret>").
const LONG_TERM: &str = "ABSKQmVkcm9ja0FQSUtleS1xN3JtLWF0LTIxMDk4NzY1NDMyMTpldkF6MXF3N0FnNUtqNWhIQkJUWmRYMkQ3TkpPM2V3SmhUTWgwWVl1SXA2RWxCK093OVhrOUJjbzNOMFo=";
/// Made offline by aws-bedrock-token-generator 1.1.0 from the made-up pair KEY / SECRET of
/// tests/common (region us-east-1, signed 2026-12-02T05:32:30Z):
///   BedrockTokenGenerator().get_token(Credentials(KEY, SECRET), "us-east-1")
const SHORT_TERM_COMMITTED: &str = "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbiZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVkZW50aWFsPUFLSUFSN1ZaM01PWFE0SlRMVzJOJTJGMjAyNjEyMDIlMkZ1cy1lYXN0LTElMkZiZWRyb2NrJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjEyMDJUMDUzMjMwWiZYLUFtei1FeHBpcmVzPTQzMjAwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCZYLUFtei1TaWduYXR1cmU9MjhhODg2ODgyNjVkOTc3MzllMTkxNjRmZWI3ODU5NjQwZWUwNjhhNzQ4ZjMxYjMwY2QwYjQ5ZTMxNDVmMDc1OSZWZXJzaW9uPTE=";

const GENERATOR: &str = r#"
import sys
from botocore.credentials import Credentials
from aws_bedrock_token_generator import BedrockTokenGenerator
key, secret, token, region = sys.argv[1:5]
print(BedrockTokenGenerator().get_token(Credentials(key, secret, token or None), region))
"#;

/// A short-term key for the credentials, made now by AWS's generator (installed in the
/// tests' venv, tests/common/pytools.rs).
fn generate(key: &str, secret: &str, token: Option<&str>, region: &str) -> Option<String> {
    let out = Command::new(crate::common::pytools::bin("python"))
        .args(["-c", GENERATOR, key, secret, token.unwrap_or(""), region])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "generator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
}

fn keysweep() -> Command {
    Command::cargo_bin("keysweep").expect("keysweep binary")
}

fn scan_json(dir: &Path, args: &[&str], setup: impl FnOnce(&mut Command)) -> Run {
    let mut cmd = keysweep();
    cmd.args(["scan", "--format", "json"]).arg(dir).args(args);
    setup(&mut cmd);
    Run::report(cmd.output().expect("run keysweep"))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Unix seconds of `2026-12-02T17:32:30Z` (the report's format).
fn parse_utc(s: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil (H. Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

#[test]
fn committed_short_term_key_names_signer_region_and_expiry() {
    let tmp = TempDir::new().unwrap();
    write(
        tmp.path(),
        ".env",
        format!("AWS_BEARER_TOKEN_BEDROCK={SHORT_TERM_COMMITTED}\n"),
    );
    let run = scan_json(tmp.path(), &[], |_| {});
    assert_eq!(run.code, 1, "{}", run.stderr);
    // One finding: the key ID inside the base64 is not reported a second time.
    assert_eq!(run.findings.len(), 1, "{:#?}", run.findings);
    let f = &run.findings[0];
    assert_eq!(f["kind"], "bedrock_short_term_key");
    assert_eq!(f["rule"], "aws-bedrock-short-term-api-key");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["key_id"], KEY);
    assert_eq!(f["key_type"], "long_term");
    assert_eq!(f["region"], "us-east-1");
    assert_eq!(f["expires_at"], "2026-12-02T17:32:30Z");
    assert_eq!(f["location"]["line"], 1);
    assert_eq!(f["location"]["column"], 26);
    // Redacted by default, whole with --show-secrets.
    let secret = f["secret"].as_str().unwrap();
    assert!(secret.starts_with("bedr…("), "{secret}");
    assert!(!run.stderr.contains(SHORT_TERM_COMMITTED));
    let shown = scan_json(tmp.path(), &["--show-secrets"], |_| {});
    assert_eq!(shown.findings[0]["secret"], SHORT_TERM_COMMITTED);
}

#[test]
fn generated_short_term_keys_are_found_for_user_and_session_credentials() {
    let Some(user_token) = generate(KEY, SECRET, None, "us-west-2") else {
        return;
    };
    let session_token =
        generate(SESSION_KEY, SECRET, Some(TOKEN), "eu-central-1").expect("generator");
    let tmp = TempDir::new().unwrap();
    write(
        tmp.path(),
        "app/settings.py",
        format!("BEDROCK_KEY = \"{user_token}\"\n"),
    );
    write(
        tmp.path(),
        "notebook.json",
        format!("{{\"env\": {{\"AWS_BEARER_TOKEN_BEDROCK\": \"{session_token}\"}}}}\n"),
    );
    let before = unix_now();
    let run = scan_json(tmp.path(), &["--show-secrets"], |_| {});
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings.len(), 2, "{:#?}", run.findings);
    let by_key = |k: &str| {
        run.findings
            .iter()
            .find(|f| f["key_id"] == k)
            .unwrap_or_else(|| panic!("no finding for {k}"))
    };
    let user = by_key(KEY);
    assert_eq!(user["kind"], "bedrock_short_term_key");
    assert_eq!(user["region"], "us-west-2");
    assert_eq!(user["secret"], user_token.as_str());
    let session = by_key(SESSION_KEY);
    assert_eq!(session["region"], "eu-central-1");
    assert_eq!(session["key_type"], "temporary");
    // The session token rides inside the presigned URL.
    assert_eq!(session["session_token"], TOKEN);
    for f in [user, session] {
        // Signed just now for 12 hours.
        let expires = parse_utc(f["expires_at"].as_str().unwrap());
        assert!(
            (before + 43_200 - 120..=unix_now() + 43_200 + 5).contains(&expires),
            "{f}"
        );
    }
}

#[test]
fn long_term_keys_name_their_user_and_account_even_base64_wrapped() {
    let tmp = TempDir::new().unwrap();
    write(
        tmp.path(),
        "plain.env",
        format!("AWS_BEARER_TOKEN_BEDROCK={LONG_TERM}\n"),
    );
    // A Kubernetes Secret holds values base64-encoded once more.
    let wrapped = base64_encode(LONG_TERM.as_bytes());
    write(
        tmp.path(),
        "k8s/secret.yaml",
        format!("apiVersion: v1\nkind: Secret\ndata:\n  AWS_BEARER_TOKEN_BEDROCK: {wrapped}\n"),
    );
    let run = scan_json(tmp.path(), &[], |_| {});
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings.len(), 2, "{:#?}", run.findings);
    for f in &run.findings {
        assert_eq!(f["kind"], "bedrock_long_term_key");
        assert_eq!(f["severity"], "critical");
        assert_eq!(f["user_name"], "BedrockAPIKey-q7rm");
        assert_eq!(f["account_id"], "210987654321");
        assert_eq!(f["account_id_source"], "decoded");
        assert!(f.get("key_id").is_none(), "{f}");
        assert_eq!(f["secret"], "ABSK…(132 chars)");
    }
    let wrapped = run
        .findings
        .iter()
        .find(|f| {
            f["location"]["path"]
                .as_str()
                .unwrap()
                .ends_with("secret.yaml")
        })
        .expect("the wrapped key");
    assert_eq!(wrapped["location"]["decoded_from"], "base64");
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn look_alikes_are_not_reported() {
    let tmp = TempDir::new().unwrap();
    write(
        tmp.path(),
        "README.md",
        "Set AWS_BEARER_TOKEN_BEDROCK=ABSKQmVkcm9ja0FQSUtleS0... or bedrock-api-key-...\n\
         key = 'ABSKQmVkcm9ja0FQSUtleS10ZXN0LWtleS0xMjM0NTY3ODkw'\n\
         ABSKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n\
         bedrock-api-key-aHR0cHM6Ly9leGFtcGxlLmludmFsaWQvP3E9MSZyPTImcz0zJnQ9NCZ1PTUmdj02Jnc9NyZ4PTgmeT05Jno9MTAmYWE9MTEmYmI9MTImY2M9MTM=\n",
    );
    let run = scan_json(tmp.path(), &[], |_| {});
    assert_eq!(run.code, 0, "{:#?}", run.findings);
}

#[test]
fn verify_owner_looks_up_the_signing_key_and_reads_the_long_term_account() {
    let moto = Moto::start();
    let (key, secret) = moto.user_with_key("alice");
    let Some(token) = generate(&key, &secret, None, "us-east-1") else {
        return;
    };
    let tmp = TempDir::new().unwrap();
    write(
        tmp.path(),
        "a.env",
        format!("AWS_BEARER_TOKEN_BEDROCK={token}\n"),
    );
    write(
        tmp.path(),
        "b.env",
        format!("AWS_BEARER_TOKEN_BEDROCK={LONG_TERM}\n"),
    );
    let run = scan_json(
        tmp.path(),
        &["--verify", "owner", "--my-accounts", "123456789012"],
        |cmd| {
            moto.env(cmd);
        },
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let short = run
        .findings
        .iter()
        .find(|f| f["key_id"] == key.as_str())
        .unwrap();
    assert_eq!(short["verification"]["status"], "owned");
    assert_eq!(short["account_id"], "123456789012");
    assert_eq!(short["account_id_source"], "sts");
    let long = run
        .findings
        .iter()
        .find(|f| f["kind"] == "bedrock_long_term_key")
        .unwrap();
    assert_eq!(long["verification"]["status"], "foreign", "{long}");
    assert_eq!(long["account_id_source"], "decoded");
    // Live verification never signs anything with a bearer token.
    let live = scan_json(tmp.path(), &["--verify", "live"], |cmd| {
        moto.env(cmd);
    });
    for f in &live.findings {
        assert_eq!(f["verification"]["status"], "not_checked", "{f}");
        assert!(f["verification"]["message"]
            .as_str()
            .unwrap()
            .contains("not verified live"));
    }
}

/// Writes the report of scanning `dir`, then the sh playbook of it; returns the playbook.
fn playbook(dir: &Path, work: &Path, setup: impl FnOnce(&mut Command)) -> std::path::PathBuf {
    let report = work.join("report.json");
    let mut cmd = keysweep();
    cmd.args(["scan", "--format", "json", "-o"])
        .arg(&report)
        .arg(dir);
    setup(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = work.join("playbook.sh");
    let out = keysweep()
        .args(["remediate", "--format", "sh", "-o"])
        .arg(&script)
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    script
}

fn run_against_moto(moto: &Moto, script: &Path, env: &[(&str, &str)], execute: bool) -> Output {
    let mut cmd = Command::new("bash");
    moto.env(&mut cmd)
        .env("REGIONS", "us-east-1")
        .envs(env.iter().copied())
        .arg(script)
        .args(if execute { &["--execute"][..] } else { &[][..] })
        .stdin(Stdio::null());
    cmd.output().unwrap()
}

#[test]
fn short_term_playbooks_contain_the_signer_through_the_real_aws_cli_on_moto() {
    let moto = Moto::start();
    let (key, secret) = moto.user_with_key("bob");
    let Some(user_token) = generate(&key, &secret, None, "us-east-1") else {
        return;
    };
    moto.aws(&[
        "iam",
        "create-role",
        "--role-name",
        "ml-runner",
        "--assume-role-policy-document",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#,
    ]);
    let session = moto.aws(&[
        "sts",
        "assume-role",
        "--role-arn",
        "arn:aws:iam::123456789012:role/ml-runner",
        "--role-session-name",
        "nb-7",
    ]);
    let c = &session["Credentials"];
    let field = |k: &str| c[k].as_str().unwrap().to_string();
    let session_token = generate(
        &field("AccessKeyId"),
        &field("SecretAccessKey"),
        Some(&field("SessionToken")),
        "us-east-1",
    )
    .unwrap();

    // The IAM user's token: the playbook finds the user and denies bearer calls.
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("user");
    write(
        &data,
        "a.env",
        format!("AWS_BEARER_TOKEN_BEDROCK={user_token}\n"),
    );
    let work = tmp.path().join("w1");
    fs::create_dir_all(&work).unwrap();
    let script = playbook(&data, &work, |_| {});
    // moto has no CloudTrail lookup-events: the investigation step fails, is reported, and
    // the script goes on (exit 3 = done, a lookup failed).
    let dry = run_against_moto(&moto, &script, &[], false);
    assert_eq!(
        dry.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(String::from_utf8_lossy(&dry.stdout).contains("user: bob"));
    let none = moto.aws_output_as(
        "testing",
        "testing",
        &["iam", "list-user-policies", "--user-name", "bob"],
    );
    assert!(!String::from_utf8_lossy(&none.stdout).contains("KeysweepDenyBedrockBearerTokens"));
    let done = run_against_moto(&moto, &script, &[], true);
    assert!(String::from_utf8_lossy(&done.stdout).contains("keysweep playbook: done."));
    assert_eq!(
        done.status.code(),
        Some(3),
        "{}\n{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    let policy = moto.aws(&[
        "iam",
        "get-user-policy",
        "--user-name",
        "bob",
        "--policy-name",
        "KeysweepDenyBedrockBearerTokens",
    ]);
    let doc = policy["PolicyDocument"].to_string();
    assert!(
        doc.contains("bedrock:CallWithBearerToken") && doc.contains("Deny"),
        "{doc}"
    );
    // The signing key itself was not touched: only its ID leaked.
    assert_eq!(
        moto.access_keys("bob"),
        vec![(key.clone(), "Active".to_string())]
    );

    // The session's token: the role (named by the operator) gets the deny.
    let data = tmp.path().join("session");
    write(
        &data,
        "b.env",
        format!("AWS_BEARER_TOKEN_BEDROCK={session_token}\n"),
    );
    let work = tmp.path().join("w2");
    fs::create_dir_all(&work).unwrap();
    let script = playbook(&data, &work, |_| {});
    // Without ROLE_NAME the change refuses to run.
    let refused = run_against_moto(&moto, &script, &[], true);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ROLE_NAME"));
    let done = run_against_moto(&moto, &script, &[("ROLE_NAME", "ml-runner")], true);
    assert_eq!(
        done.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("keysweep playbook: done."));
    let policy = moto.aws(&[
        "iam",
        "get-role-policy",
        "--role-name",
        "ml-runner",
        "--policy-name",
        "KeysweepDenyBedrockBearerTokens",
    ]);
    assert!(policy["PolicyDocument"]
        .to_string()
        .contains("bedrock:CallWithBearerToken"));
}

/// A stub `aws` that appends its argv (one line, arguments separated by TAB) to `$AWS_LOG`
/// and answers list-service-specific-credentials with two credential IDs: moto does not
/// implement the IAM service-specific-credential API.
const STUB: &str = r#"#!/usr/bin/env bash
printf '%s' "$1" >> "$AWS_LOG"
shift_args=("$@")
for a in "${shift_args[@]:1}"; do printf '\t%s' "$a" >> "$AWS_LOG"; done
printf '\n' >> "$AWS_LOG"
case "$1 $2" in
  "iam list-service-specific-credentials")
    case "$*" in
      *starts_with*) echo "ACCAQX7EXAMPLEONE1234	ACCAQX7OTHERKEYID5678" ;;
      *) echo "ACCAQX7EXAMPLEONE1234	Active" ;;
    esac ;;
  "ec2 describe-regions") echo "us-east-1" ;;
esac
exit 0
"#;

#[test]
fn long_term_playbook_commands_reach_the_aws_cli_with_the_right_argv() {
    let tmp = TempDir::new().unwrap();
    let bin = tmp.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("aws");
    fs::write(&stub, STUB).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let data = tmp.path().join("data");
    write(
        &data,
        "app.env",
        format!("AWS_BEARER_TOKEN_BEDROCK={LONG_TERM}\n"),
    );
    let script = playbook(&data, tmp.path(), |_| {});
    let log = tmp.path().join("aws.log");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |execute: bool| {
        let _ = fs::remove_file(&log);
        let out = Command::new("bash")
            .arg(&script)
            .args(if execute { &["--execute"][..] } else { &[][..] })
            .env("PATH", &path)
            .env("AWS_LOG", &log)
            .env("REGIONS", "us-east-1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = fs::read_to_string(&log).unwrap_or_default();
        text.lines()
            .map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let user = "BedrockAPIKey-q7rm";
    let query = "ServiceSpecificCredentials[?starts_with(ServiceCredentialAlias, \
                 'BedrockAPIKey-q7rm-at-210987654321')].ServiceSpecificCredentialId";
    let list = |q: &str| -> Vec<String> {
        [
            "iam",
            "list-service-specific-credentials",
            "--user-name",
            user,
            "--service-name",
            "bedrock.amazonaws.com",
            "--query",
            q,
            "--output",
            "text",
        ]
        .map(str::to_string)
        .to_vec()
    };
    let calls = run(false);
    // The dry run only looks: it lists the credentials and reads CloudTrail, changes nothing.
    assert!(calls
        .iter()
        .all(|c| c[1] != "update-service-specific-credential"
            && c[1] != "delete-service-specific-credential"));
    assert!(calls
        .iter()
        .any(|c| c.get(1).map(String::as_str) == Some("list-service-specific-credentials")));
    let lookup: Vec<&Vec<String>> = calls
        .iter()
        .filter(|c| c[0] == "cloudtrail" && c[1] == "lookup-events")
        .collect();
    assert!(!lookup.is_empty(), "{calls:?}");
    assert!(lookup[0]
        .iter()
        .any(|a| a == &format!("AttributeKey=Username,AttributeValue={user}")));

    let calls = run(true);
    let change = |verb: &str, id: &str, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "iam",
            verb,
            "--user-name",
            user,
            "--service-specific-credential-id",
            id,
        ]
        .map(str::to_string)
        .to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let mut expected = vec![list(query)];
    for id in ["ACCAQX7EXAMPLEONE1234", "ACCAQX7OTHERKEYID5678"] {
        expected.push(change(
            "update-service-specific-credential",
            id,
            &["--status", "Inactive"],
        ));
    }
    let changes: Vec<Vec<String>> = calls
        .iter()
        .filter(|c| {
            c[0] == "iam"
                && (c[1].ends_with("-service-specific-credential")
                    || (c[1] == "list-service-specific-credentials"
                        && c.len() > 7
                        && c[7] == query))
        })
        .cloned()
        .collect();
    expected.push(list(query));
    for id in ["ACCAQX7EXAMPLEONE1234", "ACCAQX7OTHERKEYID5678"] {
        expected.push(change("delete-service-specific-credential", id, &[]));
    }
    assert_eq!(changes, expected);
}

#[test]
fn rules_check_runs_the_bedrock_examples() {
    let out = keysweep().args(["rules", "check"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let list = keysweep().args(["rules", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(list.contains("aws-bedrock-long-term-api-key"));
    assert!(list.contains("aws-bedrock-short-term-api-key"));
}
