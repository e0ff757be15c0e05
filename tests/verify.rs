//! Verification end to end: offline account decoding and canary flags on every scan, and
//! `--verify owner|live` against a real moto_server on 127.0.0.1 with keys made by the real
//! aws CLI. No test talks to any address but loopback.

use crate::common;
use crate::common::moto;

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

use common::{
    Run, ACCOUNT_KEY as KEY, ACCOUNT_SECRET as SECRET, CANARY_KEY, CANARY_SECRET as SECRET2,
};
use moto::{dead_endpoint, isolate, plant, Moto};

/// A made-up older-format key ID (5th character I): the account is not encoded.
const LEGACY_KEY: &str = "AKIAIDEGXDNCF32EPF3D";

/// Runs `keysweep scan --format json ARGS PATH` with `setup` applied to the command.
fn scan(path: &Path, args: &[&str], setup: impl FnOnce(&mut Command)) -> Run {
    let mut cmd = Command::cargo_bin("keysweep").expect("keysweep binary");
    cmd.arg("scan")
        .arg(path)
        .args(["--format", "json"])
        .args(args);
    setup(&mut cmd);
    Run::report(cmd.output().expect("run keysweep"))
}

fn only(run: &Run) -> &Value {
    assert_eq!(run.findings.len(), 1, "{:#?}\n{}", run.findings, run.stderr);
    &run.findings[0]
}

fn status(f: &Value) -> &str {
    f["verification"]["status"].as_str().unwrap_or("")
}

#[test]
fn offline_decoding_canary_flag_and_remediation_on_every_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    plant(dir.path(), "prod.env", KEY, SECRET);
    std::fs::write(
        dir.path().join("ids.txt"),
        format!("canary = {CANARY_KEY}\nold = {LEGACY_KEY}\n"),
    )
    .expect("write ids");
    // The CloudTrail window starts at the file's modification time.
    let touched = Command::new("touch")
        .args(["-d", "2024-05-01T12:00:00Z"])
        .arg(dir.path().join("prod.env"))
        .status()
        .expect("touch");
    assert!(touched.success());

    let run = scan(dir.path(), &[], |cmd| {
        isolate(cmd, dir.path());
    });
    assert_eq!(run.code, 1, "{}", run.stderr);
    let by_key = |k: &str| {
        run.findings
            .iter()
            .find(|f| f["key_id"] == k)
            .unwrap_or_else(|| panic!("no finding for {k}: {:#?}", run.findings))
    };

    let pair = by_key(KEY);
    assert_eq!(pair["account_id"], "210987654321");
    assert_eq!(pair["account_id_source"], "decoded");
    assert!(pair.get("canary").is_none());
    assert_eq!(status(pair), "not_checked");
    let steps = pair["remediation"].as_array().expect("remediation");
    let names: Vec<&str> = steps.iter().filter_map(|s| s["step"].as_str()).collect();
    for wanted in [
        "identify",
        "deactivate",
        "investigate",
        "rotate",
        "delete",
        "harden",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    let investigate = steps
        .iter()
        .find(|s| s["step"] == "investigate")
        .and_then(|s| s["command"].as_str())
        .unwrap_or("");
    assert!(
        investigate.contains(&format!(
            "AttributeValue={KEY} --start-time 2024-05-01T12:00:00Z"
        )),
        "{investigate}"
    );
    // The user is unknown: a placeholder, and a step that finds it.
    assert!(steps.iter().any(|s| s["command"]
        .as_str()
        .is_some_and(|c| c.starts_with("USER_NAME=$(aws iam get-access-key-last-used"))));

    let canary = by_key(CANARY_KEY);
    assert_eq!(canary["account_id"], "171436882533");
    assert_eq!(canary["canary"], true);

    let legacy = by_key(LEGACY_KEY);
    assert!(legacy.get("account_id").is_none(), "{legacy:#}");
    assert!(legacy.get("account_id_source").is_none());
    assert!(!legacy["remediation"].as_array().expect("steps").is_empty());
}

#[test]
fn live_and_owner_against_moto() {
    let moto = Moto::start();
    let (key, secret) = moto.user_with_key("alice");
    let dir = tempfile::tempdir().expect("tempdir");
    plant(dir.path(), "credentials", &key, &secret);

    // live: signed with the found pair; moto names the user.
    let run = scan(dir.path(), &["--verify", "live"], |cmd| {
        moto.env(cmd);
    });
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("uses the found secrets") && run.stderr.contains("CloudTrail event"),
        "no warning: {}",
        run.stderr
    );
    let f = only(&run);
    assert_eq!(status(f), "live", "{f:#}");
    assert_eq!(
        f["verification"]["arn"],
        "arn:aws:iam::123456789012:user/alice"
    );
    assert_eq!(f["account_id"], "123456789012");
    assert_eq!(f["account_id_source"], "sts");
    // Remediation knows the user from the ARN.
    assert!(f["remediation"].as_array().expect("steps").iter().any(|s| s["command"]
        == format!("aws iam update-access-key --user-name alice --access-key-id {key} --status Inactive")));
    // moto records the use of the key by STS.
    let used = moto.aws(&["iam", "get-access-key-last-used", "--access-key-id", &key]);
    assert_eq!(used["AccessKeyLastUsed"]["ServiceName"], "sts", "{used:#}");

    // owner, with only AWS_ENDPOINT_URL_STS set: the account from STS, signed by the
    // operator's credentials, and "mine" defaults to the operator's account.
    let run = scan(dir.path(), &["--verify", "owner"], |cmd| {
        moto.env(cmd)
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_ENDPOINT_URL_STS", &moto.url);
    });
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = only(&run);
    assert_eq!(status(f), "owned", "{f:#}");
    assert_eq!(f["account_id"], "123456789012");
    assert_eq!(f["account_id_source"], "sts");
    assert!(f["verification"].get("arn").is_none());

    let run = scan(
        dir.path(),
        &[
            "--verify",
            "owner",
            "--my-accounts",
            "111111111111,222222222222",
        ],
        |cmd| {
            moto.env(cmd);
        },
    );
    assert_eq!(status(only(&run)), "foreign");
    assert!(only(&run)["verification"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("111111111111")));
    let run = scan(
        dir.path(),
        &[
            "--verify",
            "owner",
            "--my-accounts",
            "111111111111,123456789012",
        ],
        |cmd| {
            moto.env(cmd);
        },
    );
    assert_eq!(status(only(&run)), "owned");

    // moto without authentication does not check key status: after the key is made
    // Inactive, GetCallerIdentity still answers and the key still reads as live (README).
    moto.aws(&[
        "iam",
        "update-access-key",
        "--user-name",
        "alice",
        "--access-key-id",
        &key,
        "--status",
        "Inactive",
    ]);
    let run = scan(dir.path(), &["--verify", "live"], |cmd| {
        moto.env(cmd);
    });
    assert_eq!(status(only(&run)), "live");
}

#[test]
fn owner_mode_never_sends_the_found_secret() {
    let moto = Moto::start();
    let (key, secret) = moto.user_with_key("bob");
    let dir = tempfile::tempdir().expect("tempdir");
    plant(dir.path(), "credentials", &key, &secret);
    let run = scan(dir.path(), &["--verify", "owner"], |cmd| {
        moto.env(cmd);
    });
    assert_eq!(status(only(&run)), "owned");
    // Had the found key signed anything, moto would record its last use.
    let used = moto.aws(&["iam", "get-access-key-last-used", "--access-key-id", &key]);
    assert!(
        used["AccessKeyLastUsed"].get("LastUsedDate").is_none(),
        "the found key was used: {used:#}"
    );
}

#[test]
fn live_with_moto_authentication_rejects_bad_and_deleted_keys() {
    // The first 3 requests run unauthenticated: they make an admin; everything after is
    // signed-checked by moto (key must exist, signature must match).
    let moto = Moto::start_with_auth(3);
    moto.aws(&["iam", "create-user", "--user-name", "admin"]);
    moto.aws(&[
        "iam",
        "put-user-policy",
        "--user-name",
        "admin",
        "--policy-name",
        "all",
        "--policy-document",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ]);
    let admin = moto.aws(&["iam", "create-access-key", "--user-name", "admin"]);
    let (ak, asec) = (
        admin["AccessKey"]["AccessKeyId"].as_str().expect("key"),
        admin["AccessKey"]["SecretAccessKey"]
            .as_str()
            .expect("secret"),
    );
    moto.aws_as(ak, asec, &["iam", "create-user", "--user-name", "carol"]);
    let carol = moto.aws_as(
        ak,
        asec,
        &["iam", "create-access-key", "--user-name", "carol"],
    );
    let key = carol["AccessKey"]["AccessKeyId"].as_str().expect("key");
    let secret = carol["AccessKey"]["SecretAccessKey"]
        .as_str()
        .expect("secret");

    let dir = tempfile::tempdir().expect("tempdir");
    let good = tempfile::tempdir().expect("tempdir");
    plant(good.path(), "credentials", key, secret);
    plant(dir.path(), "wrong-secret.ini", key, SECRET2);
    let as_admin = |cmd: &mut Command| {
        moto.env_as(cmd, ak, asec);
    };

    let run = scan(good.path(), &["--verify", "live"], as_admin);
    assert_eq!(status(only(&run)), "live", "{}", run.stderr);

    // Right key ID, wrong secret: moto answers SignatureDoesNotMatch.
    let run = scan(dir.path(), &["--verify", "live"], as_admin);
    let f = only(&run);
    assert_eq!(status(f), "inactive_or_invalid", "{f:#}");
    assert!(f["verification"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("SignatureDoesNotMatch")));

    // moto checks existence, not status: an Inactive key still authenticates (README).
    moto.aws_as(
        ak,
        asec,
        &[
            "iam",
            "update-access-key",
            "--user-name",
            "carol",
            "--access-key-id",
            key,
            "--status",
            "Inactive",
        ],
    );
    let run = scan(good.path(), &["--verify", "live"], as_admin);
    assert_eq!(status(only(&run)), "live");

    // Deleted: InvalidClientTokenId.
    moto.aws_as(
        ak,
        asec,
        &[
            "iam",
            "delete-access-key",
            "--user-name",
            "carol",
            "--access-key-id",
            key,
        ],
    );
    let run = scan(good.path(), &["--verify", "live"], as_admin);
    assert_eq!(run.code, 1);
    let f = only(&run);
    assert_eq!(status(f), "inactive_or_invalid", "{f:#}");
    assert!(f["verification"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("InvalidClientTokenId")));

    // Owner mode with the admin's own credentials still names the account.
    let run = scan(good.path(), &["--verify", "owner"], as_admin);
    assert_eq!(status(only(&run)), "owned");
}

#[test]
fn dead_endpoint_is_an_error_and_findings_still_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    plant(dir.path(), "credentials", KEY, SECRET);
    let endpoint = dead_endpoint();

    // One request per distinct key: the same pair in two files is checked once.
    let copies = tempfile::tempdir().expect("tempdir");
    plant(copies.path(), "a.ini", KEY, SECRET);
    plant(copies.path(), "b.ini", KEY, SECRET);
    for mode in ["live", "owner"] {
        let run = scan(
            copies.path(),
            &["--verify", mode, "--my-accounts", "210987654321"],
            |cmd| {
                isolate(cmd, copies.path())
                    .env("AWS_ENDPOINT_URL", &endpoint)
                    .env("AWS_ACCESS_KEY_ID", "testing")
                    .env("AWS_SECRET_ACCESS_KEY", "testing");
            },
        );
        assert_eq!(run.findings.len(), 2, "{mode}: {}", run.stderr);
        assert!(run.findings.iter().all(|f| status(f) == "error"));
        assert!(
            run.stderr
                .contains("1 distinct key checked with 1 STS request: 1 error"),
            "{mode}: {}",
            run.stderr
        );
    }

    for mode in ["live", "owner"] {
        let run = scan(dir.path(), &["--verify", mode], |cmd| {
            isolate(cmd, dir.path())
                .env("AWS_ENDPOINT_URL", &endpoint)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing");
        });
        assert_eq!(run.code, 1, "{mode}: {}", run.stderr);
        let f = only(&run);
        assert_eq!(status(f), "error", "{mode}: {f:#}");
        let message = f["verification"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains("Connection refused") || message.contains("connect"),
            "{mode}: {message}"
        );
        // The decoded account stays.
        assert_eq!(f["account_id"], "210987654321");
        assert_eq!(f["account_id_source"], "decoded");
    }
}

#[test]
fn canary_keys_are_never_verified_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    plant(dir.path(), "credentials", CANARY_KEY, SECRET);
    // Any STS call would fail on this endpoint and read "error".
    let endpoint = dead_endpoint();
    let run = scan(dir.path(), &["--verify", "live"], |cmd| {
        isolate(cmd, dir.path()).env("AWS_ENDPOINT_URL", &endpoint);
    });
    assert_eq!(run.code, 1);
    let f = only(&run);
    assert_eq!(f["canary"], true);
    assert_eq!(status(f), "not_checked", "{f:#}");
    assert!(f["verification"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("canary")));
    assert!(run.stderr.contains("0 STS requests"), "{}", run.stderr);
    // Its remediation does not tell anyone to use the key.
    let steps = f["remediation"].as_array().expect("steps");
    assert!(steps
        .iter()
        .all(|s| s["step"] == "identify" || s["step"] == "notify"));
}

#[test]
fn my_accounts_must_be_account_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::cargo_bin("keysweep")
        .expect("keysweep binary")
        .arg("scan")
        .arg(dir.path())
        .args(["--verify", "owner", "--my-accounts", "12345"])
        .output()
        .expect("run keysweep");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a 12-digit AWS account ID"));
}
