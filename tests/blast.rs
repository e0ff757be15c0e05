//! `--blast-radius` end to end against moto's IAM on 127.0.0.1: users, groups, managed,
//! customer and inline policies, MFA devices, login profiles and keys made at test time with
//! the real aws CLI; keysweep looks them up with the operator's credentials only.

use crate::common;
use crate::common::moto;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

use common::Run;
use moto::{dead_endpoint, plant, Moto};

const ADMIN_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const READ_ONLY_POLICY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

/// `keysweep ARGS` with `setup` applied; stdout and stderr.
fn keysweep(args: &[&str], setup: impl FnOnce(&mut Command)) -> std::process::Output {
    let mut cmd = Command::cargo_bin("keysweep").expect("keysweep binary");
    cmd.args(args);
    setup(&mut cmd);
    cmd.output().expect("run keysweep")
}

fn scan_json(dir: &Path, extra: &[&str], setup: impl FnOnce(&mut Command)) -> Run {
    let path = dir.to_str().expect("utf-8 temp path");
    let mut args = vec!["scan", path, "--format", "json"];
    args.extend_from_slice(extra);
    Run::report(keysweep(&args, setup))
}

fn by_key(run: &Run) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for f in &run.findings {
        out.entry(f["key_id"].as_str().unwrap_or("").to_string())
            .or_default()
            .push(f.clone());
    }
    out
}

fn reasons(f: &Value) -> Vec<String> {
    f["risk"]["reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The policy JSON of docs/incident-response.md (the json block of its permissions section).
fn documented_policy() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/incident-response.md"),
    )
    .expect("read docs/incident-response.md");
    let section = doc
        .find("Permissions the operator needs")
        .expect("the permissions section");
    let start =
        doc[section..].find("```json\n").expect("a json block") + section + "```json\n".len();
    let end = doc[start..].find("```").expect("end of the json block") + start;
    let policy: Value = serde_json::from_str(&doc[start..end]).expect("the policy is JSON");
    policy.to_string()
}

fn policy_doc(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
}

/// The users of the scenario, their keys planted in `dir`.
struct Scenario {
    admin: String,
    reader: String,
    grouped: String,
    keymaker: String,
    deployer: String,
    retired: String,
    gone: String,
}

fn build(moto: &Moto, dir: &Path) -> Scenario {
    // An administrator without MFA, with a console password, whose key was used in Seoul.
    let (admin, admin_secret) = moto.user_with_key("boss");
    moto.aws(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        "boss",
        "--policy-arn",
        ADMIN_POLICY,
    ]);
    moto.aws(&[
        "iam",
        "create-login-profile",
        "--user-name",
        "boss",
        "--password",
        "Correct-Horse-9-Battery",
    ]);
    moto.aws_as(
        &admin,
        &admin_secret,
        &["sts", "get-caller-identity", "--region", "ap-northeast-2"],
    );
    plant(dir, "admin.env", &admin, &admin_secret);

    // A read-only user with an MFA device.
    let (reader, reader_secret) = moto.user_with_key("reader");
    moto.aws(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        "reader",
        "--policy-arn",
        READ_ONLY_POLICY,
    ]);
    let qr = dir.join("reader-phone.png");
    let mfa = moto.aws(&[
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        "reader-phone",
        "--outfile",
        qr.to_str().expect("utf-8 path"),
        "--bootstrap-method",
        "QRCodePNG",
    ]);
    std::fs::remove_file(&qr).ok();
    let serial = mfa["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .expect("SerialNumber");
    moto.aws(&[
        "iam",
        "enable-mfa-device",
        "--user-name",
        "reader",
        "--serial-number",
        serial,
        "--authentication-code1",
        "123456",
        "--authentication-code2",
        "654321",
    ]);
    plant(dir, "reader.env", &reader, &reader_secret);

    // A user who is an administrator only through its group.
    moto.aws(&["iam", "create-group", "--group-name", "admins"]);
    moto.aws(&[
        "iam",
        "attach-group-policy",
        "--group-name",
        "admins",
        "--policy-arn",
        ADMIN_POLICY,
    ]);
    let (grouped, grouped_secret) = moto.user_with_key("ops");
    moto.aws(&[
        "iam",
        "add-user-to-group",
        "--group-name",
        "admins",
        "--user-name",
        "ops",
    ]);
    plant(dir, "ops.env", &grouped, &grouped_secret);

    // A customer managed policy that can make access keys: escalation without admin.
    let created = moto.aws(&[
        "iam",
        "create-policy",
        "--policy-name",
        "make-keys",
        "--policy-document",
        &policy_doc(
            r#"{"Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys"],"Resource":"arn:aws:iam::123456789012:user/*"}"#,
        ),
    ]);
    let make_keys = created["Policy"]["Arn"].as_str().expect("policy arn");
    let (keymaker, keymaker_secret) = moto.user_with_key("keymaker");
    moto.aws(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        "keymaker",
        "--policy-arn",
        make_keys,
    ]);
    plant(dir, "keymaker.env", &keymaker, &keymaker_secret);

    // An inline policy limited to one bucket; the key is found twice.
    let (deployer, deployer_secret) = moto.user_with_key("deployer");
    moto.aws(&[
        "iam",
        "put-user-policy",
        "--user-name",
        "deployer",
        "--policy-name",
        "deploy-bucket",
        "--policy-document",
        &policy_doc(
            r#"{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::deploy-bucket/*"}"#,
        ),
    ]);
    plant(dir, "deployer.env", &deployer, &deployer_secret);
    plant(dir, "deployer-copy.env", &deployer, &deployer_secret);

    // An administrator's key that was deactivated.
    let (retired, retired_secret) = moto.user_with_key("retired");
    moto.aws(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        "retired",
        "--policy-arn",
        ADMIN_POLICY,
    ]);
    moto.aws(&[
        "iam",
        "update-access-key",
        "--user-name",
        "retired",
        "--access-key-id",
        &retired,
        "--status",
        "Inactive",
    ]);
    plant(dir, "retired.env", &retired, &retired_secret);

    // A key deleted since it leaked.
    let (gone, gone_secret) = moto.user_with_key("gone");
    moto.aws(&[
        "iam",
        "delete-access-key",
        "--user-name",
        "gone",
        "--access-key-id",
        &gone,
    ]);
    plant(dir, "gone.env", &gone, &gone_secret);

    Scenario {
        admin,
        reader,
        grouped,
        keymaker,
        deployer,
        retired,
        gone,
    }
}

fn one<'a>(keys: &'a BTreeMap<String, Vec<Value>>, key: &str) -> &'a Value {
    keys.get(key)
        .and_then(|v| v.first())
        .unwrap_or_else(|| panic!("no finding for {key}: {keys:#?}"))
}

#[test]
fn blast_radius_of_owned_keys_against_moto_iam() {
    let moto = Moto::start_with_managed_policies(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let s = build(&moto, dir.path());

    let run = scan_json(dir.path(), &["--blast-radius"], |cmd| {
        moto.env(cmd);
    });
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings.len(), 8, "{}", run.stderr);
    // One set of requests per distinct user, group and policy: 7 GetAccessKeyLastUsed, 7 per
    // user for 6 users (the deleted key has none), 1 inline document, 2 per managed policy
    // (3 policies), 2 for the group.
    assert!(
        run.stderr
            .contains("7 owned keys of 6 users looked up with 58 IAM requests"),
        "{}",
        run.stderr
    );
    let keys = by_key(&run);
    for list in keys.values() {
        for f in list {
            assert_eq!(f["verification"]["status"], "owned", "{f:#}");
        }
    }

    let admin = one(&keys, &s.admin);
    let b = &admin["blast_radius"];
    assert_eq!(b["principal"], "iam_user");
    assert_eq!(b["user_name"], "boss");
    assert_eq!(b["arn"], "arn:aws:iam::123456789012:user/boss");
    assert_eq!(b["console_login"], true);
    assert_eq!(b["mfa_devices"], 0);
    assert_eq!(b["permissions"]["administrator"], true);
    assert_eq!(b["permissions"]["resource_scope"], "all");
    assert_eq!(
        b["permissions"]["policies"][0],
        serde_json::json!({"name": "AdministratorAccess", "kind": "aws_managed", "via": "user",
            "arn": ADMIN_POLICY})
    );
    assert_eq!(b["key"]["status"], "Active");
    assert_eq!(b["key"]["last_used_service"], "sts");
    assert_eq!(b["key"]["last_used_region"], "ap-northeast-2");
    assert!(b["key"]["age_days"].as_i64().is_some());
    assert_eq!(admin["risk"]["level"], "critical");
    assert_eq!(admin["severity"], "critical");
    let r = reasons(admin);
    assert_eq!(r[0], "administrator", "{r:?}");
    assert!(r.contains(&"no MFA".to_string()), "{r:?}");
    assert!(r.contains(&"console login".to_string()), "{r:?}");
    assert!(
        r.iter()
            .any(|x| x.starts_with("used ") && x.ends_with(" in ap-northeast-2 (sts)")),
        "{r:?}"
    );
    // The verification ARN names the user, so the playbook does not need to look it up; an
    // administrator's playbook looks at IAM changes before the key's own events.
    assert_eq!(
        admin["verification"]["arn"],
        "arn:aws:iam::123456789012:user/boss"
    );
    let steps: Vec<&str> = admin["remediation"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["command"].as_str())
        .collect();
    let iam_first = steps
        .iter()
        .position(|c| c.contains("AttributeValue=iam.amazonaws.com"))
        .unwrap_or_else(|| panic!("no IAM-changes step: {steps:#?}"));
    let key_events = steps
        .iter()
        .position(|c| c.contains(&format!("AttributeValue={}", s.admin)))
        .expect("key events step");
    assert!(iam_first < key_events, "{steps:#?}");
    assert!(steps
        .iter()
        .any(|c| c.contains("update-access-key --user-name boss")));

    let reader = one(&keys, &s.reader);
    let b = &reader["blast_radius"];
    assert_eq!(b["mfa_devices"], 1);
    assert_eq!(b["console_login"], false);
    assert_eq!(b["permissions"]["administrator"], false);
    assert!(b["permissions"].get("iam_write").is_none(), "{b:#}");
    assert!(!b["permissions"]["wildcard_actions"]
        .as_object()
        .expect("wildcards")
        .is_empty());
    assert_eq!(b["permissions"]["policies"][0]["name"], "ReadOnlyAccess");
    assert_ne!(reader["risk"]["level"], "critical");
    assert_eq!(reader["severity"], reader["risk"]["level"]);
    let r = reasons(reader);
    assert!(r.contains(&"MFA".to_string()), "{r:?}");
    assert!(r.contains(&"never used".to_string()), "{r:?}");
    assert!(reader["remediation"]
        .as_array()
        .expect("steps")
        .iter()
        .all(|s| !s["command"]
            .as_str()
            .unwrap_or("")
            .contains("iam.amazonaws.com")));

    let grouped = one(&keys, &s.grouped);
    let b = &grouped["blast_radius"];
    assert_eq!(b["groups"], serde_json::json!(["admins"]));
    assert_eq!(b["permissions"]["administrator"], true);
    assert_eq!(b["permissions"]["policies"][0]["via"], "group admins");
    assert_eq!(grouped["risk"]["level"], "critical");
    assert_eq!(reasons(grouped)[0], "administrator (through a group)");

    let keymaker = one(&keys, &s.keymaker);
    let p = &keymaker["blast_radius"]["permissions"];
    assert_eq!(p["administrator"], false);
    assert_eq!(p["iam_write"], serde_json::json!(["iam:CreateAccessKey"]));
    assert_eq!(p["policies"][0]["kind"], "customer_managed");
    assert_eq!(p["policies"][0]["name"], "make-keys");
    assert_eq!(p["resource_scope"], "limited");
    assert_eq!(keymaker["risk"]["level"], "critical");
    assert!(reasons(keymaker)[0].contains("can escalate"));

    let copies = &keys[&s.deployer];
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0]["blast_radius"], copies[1]["blast_radius"]);
    let deployer = &copies[0];
    let p = &deployer["blast_radius"]["permissions"];
    assert_eq!(
        p["policies"][0],
        serde_json::json!({"name": "deploy-bucket", "kind": "inline", "via": "user"})
    );
    assert_eq!(p["resource_scope"], "limited");
    assert_eq!(
        p["resources"],
        serde_json::json!(["arn:aws:s3:::deploy-bucket/*"])
    );
    assert_eq!(deployer["risk"]["level"], "medium");
    assert_eq!(deployer["severity"], "medium");

    let retired = one(&keys, &s.retired);
    assert_eq!(retired["blast_radius"]["key"]["status"], "Inactive");
    assert_eq!(
        retired["blast_radius"]["permissions"]["administrator"],
        true
    );
    assert_eq!(retired["risk"]["level"], "low");
    assert_eq!(retired["severity"], "low");
    assert_eq!(reasons(retired)[0], "key is inactive");

    let gone = one(&keys, &s.gone);
    assert_eq!(gone["blast_radius"]["key"]["status"], "not_found");
    assert_eq!(gone["risk"]["level"], "low");

    // Only the operator's credentials signed: the never-used key is still never used.
    let used = moto.aws(&[
        "iam",
        "get-access-key-last-used",
        "--access-key-id",
        &s.deployer,
    ]);
    assert!(
        used["AccessKeyLastUsed"].get("LastUsedDate").is_none(),
        "{used:#}"
    );

    // The text report and SARIF show the risk.
    let out = keysweep(
        &[
            "scan",
            dir.path().join("admin.env").to_str().expect("path"),
            "--blast-radius",
            "--format",
            "text",
            "--color",
            "never",
        ],
        |cmd| {
            moto.env(cmd);
        },
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("risk: critical (administrator, no MFA, console login, used "),
        "{text}"
    );
    assert!(
        text.contains("owner: IAM user boss (console login; no MFA); may do: administrator"),
        "{text}"
    );
    let out = keysweep(
        &[
            "scan",
            dir.path().join("reader.env").to_str().expect("path"),
            "--blast-radius",
            "--format",
            "sarif",
        ],
        |cmd| {
            moto.env(cmd);
        },
    );
    let log: Value = serde_json::from_slice(&out.stdout).expect("sarif json");
    let result = &log["runs"][0]["results"][0];
    assert!(result["properties"]["risk"]["reasons"][0]
        .as_str()
        .is_some());
    assert_eq!(result["properties"]["blastRadius"]["user_name"], "reader");
    assert!(result["message"]["text"]
        .as_str()
        .is_some_and(|m| m.contains(" Risk ") && m.contains("MFA")));

    // remediate --blast-radius on a report made without any verification.
    let plain = scan_json(dir.path(), &[], |cmd| {
        moto.env(cmd);
    });
    assert!(plain.findings.iter().all(|f| f.get("risk").is_none()));
    let report = dir.path().join("report.json.out");
    std::fs::write(
        &report,
        serde_json::to_string(&plain.findings).expect("json"),
    )
    .expect("write report");
    let out = keysweep(
        &[
            "remediate",
            report.to_str().expect("path"),
            "--blast-radius",
        ],
        |cmd| {
            moto.env(cmd);
        },
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    let section = md
        .split(&format!("## {}", s.admin))
        .nth(1)
        .expect("admin section");
    let section = section.split("\n## ").next().unwrap_or(section);
    assert!(
        section.contains("risk: critical (administrator, no MFA, console login"),
        "{section}"
    );
    let iam = section
        .find("AttributeValue=iam.amazonaws.com")
        .expect("IAM step");
    let own = section
        .find(&format!("AttributeValue={}", s.admin))
        .expect("key events");
    assert!(iam < own, "{section}");
}

#[test]
fn blast_radius_failures_stay_with_their_keys() {
    // The first 3 requests are free: they make an administrator; afterwards moto checks every
    // signature and policy.
    let moto = Moto::start_with_managed_policies(Some(3));
    moto.aws(&["iam", "create-user", "--user-name", "root-admin"]);
    moto.aws(&[
        "iam",
        "put-user-policy",
        "--user-name",
        "root-admin",
        "--policy-name",
        "all",
        "--policy-document",
        &policy_doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#),
    ]);
    let admin = moto.aws(&["iam", "create-access-key", "--user-name", "root-admin"]);
    let signer = (
        admin["AccessKey"]["AccessKeyId"]
            .as_str()
            .expect("key")
            .to_string(),
        admin["AccessKey"]["SecretAccessKey"]
            .as_str()
            .expect("secret")
            .to_string(),
    );
    let as_admin = |args: &[&str]| moto.aws_as(&signer.0, &signer.1, args);

    // The operator holds exactly the policy docs/incident-response.md documents.
    let documented = documented_policy();
    let operator = |name: &str, extra: Option<&str>| {
        as_admin(&["iam", "create-user", "--user-name", name]);
        as_admin(&[
            "iam",
            "put-user-policy",
            "--user-name",
            name,
            "--policy-name",
            "keysweep",
            "--policy-document",
            &documented,
        ]);
        if let Some(doc) = extra {
            as_admin(&[
                "iam",
                "put-user-policy",
                "--user-name",
                name,
                "--policy-name",
                "extra",
                "--policy-document",
                doc,
            ]);
        }
        moto.key_for_as((&signer.0, &signer.1), name)
    };
    let auditor = operator("auditor", None);
    let no_mfa = policy_doc(r#"{"Effect":"Deny","Action":"iam:ListMFADevices","Resource":"*"}"#);
    let partial = operator("partial-auditor", Some(&no_mfa));
    as_admin(&["iam", "create-user", "--user-name", "leaky"]);
    as_admin(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        "leaky",
        "--policy-arn",
        ADMIN_POLICY,
    ]);
    as_admin(&["iam", "create-group", "--group-name", "devs"]);
    as_admin(&[
        "iam",
        "put-group-policy",
        "--group-name",
        "devs",
        "--policy-name",
        "logs",
        "--policy-document",
        &policy_doc(r#"{"Effect":"Allow","Action":"logs:Get*","Resource":"*"}"#),
    ]);
    as_admin(&[
        "iam",
        "add-user-to-group",
        "--group-name",
        "devs",
        "--user-name",
        "leaky",
    ]);
    let (leaky, leaky_secret) = moto.key_for_as((&signer.0, &signer.1), "leaky");
    let dir = tempfile::tempdir().expect("tempdir");
    plant(dir.path(), "leak.env", &leaky, &leaky_secret);

    // With the documented policy every lookup succeeds.
    let run = scan_json(dir.path(), &["--blast-radius"], |cmd| {
        moto.env_as(cmd, &auditor.0, &auditor.1);
    });
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = &run.findings[0];
    let b = &f["blast_radius"];
    assert!(b.get("errors").is_none(), "{b:#}");
    assert_eq!(b["mfa_devices"], 0);
    assert_eq!(b["groups"], serde_json::json!(["devs"]));
    assert_eq!(b["permissions"]["policies"][1]["kind"], "inline");
    assert_eq!(b["permissions"]["policies"][1]["via"], "group devs");
    assert_eq!(f["risk"]["level"], "critical");

    // Without ListMFADevices: that field is missing and the key says why; the rest is there.
    let run = scan_json(dir.path(), &["--blast-radius"], |cmd| {
        moto.env_as(cmd, &partial.0, &partial.1);
    });
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = &run.findings[0];
    let b = &f["blast_radius"];
    assert_eq!(b["permissions"]["administrator"], true, "{f:#}");
    assert!(b.get("mfa_devices").is_none(), "{b:#}");
    let errors = b["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{b:#}");
    assert!(
        errors[0]
            .as_str()
            .is_some_and(|e| e.starts_with("ListMFADevices: AccessDenied")),
        "{errors:?}"
    );
    assert_eq!(f["risk"]["level"], "critical");
    assert!(reasons(f).contains(&"incomplete: 1 lookup failed".to_string()));
    assert!(
        run.stderr.contains("1 with failed lookups"),
        "{}",
        run.stderr
    );

    // IAM unreachable (AWS_ENDPOINT_URL_IAM wins over AWS_ENDPOINT_URL, which STS uses here):
    // each key records the failure, keeps its severity and is still reported.
    let dead = dead_endpoint();
    let run = scan_json(dir.path(), &["--blast-radius"], |cmd| {
        moto.env_as(cmd, &auditor.0, &auditor.1)
            .env("AWS_ENDPOINT_URL_IAM", &dead);
    });
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = &run.findings[0];
    assert_eq!(f["verification"]["status"], "owned");
    assert_eq!(f["severity"], "critical");
    assert!(f.get("risk").is_none(), "{f:#}");
    let e = f["blast_radius"]["errors"][0].as_str().unwrap_or("");
    assert!(e.starts_with("GetAccessKeyLastUsed: "), "{e}");
    assert!(e.contains("onnect"), "{e}");

    // And only AWS_ENDPOINT_URL_IAM pointing at moto is enough for IAM.
    let run = scan_json(dir.path(), &["--blast-radius"], |cmd| {
        moto.env_as(cmd, &auditor.0, &auditor.1)
            .env("AWS_ENDPOINT_URL", &dead)
            .env("AWS_ENDPOINT_URL_STS", &moto.url)
            .env("AWS_ENDPOINT_URL_IAM", &moto.url);
    });
    assert_eq!(
        run.findings[0]["risk"]["level"], "critical",
        "{}",
        run.stderr
    );

    // --blast-radius cannot run with --verify live.
    let out = keysweep(
        &[
            "scan",
            dir.path().to_str().expect("path"),
            "--blast-radius",
            "--verify",
            "live",
        ],
        |cmd| {
            moto.env_as(cmd, &auditor.0, &auditor.1);
        },
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be combined"));
}
