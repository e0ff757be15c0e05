//! Property: whatever a report holds, the `sh` playbook `keysweep remediate` writes runs no
//! command but `aws`, and each report value reaches `aws` as exactly one argument — in the dry
//! run and with `--execute`. A report value off its grammar is refused (exit 2) instead.
//!
//! The playbook runs under the real bash with a PATH holding only a stub `aws` that logs its
//! argv, and a `command_not_found_handle` that logs any other command the script tries.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use keysweep::grammar::Field;
use proptest::prelude::*;
use serde_json::{json, Value};

use common::keysweep;

/// Strings made to break out of shell words, Markdown and terminals.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$(touch PWNED)".to_string()),
        Just("`touch PWNED`".to_string()),
        Just("'; touch PWNED; '".to_string()),
        Just("\"; touch PWNED #".to_string()),
        Just("x\ntouch PWNED\n".to_string()),
        Just("$PATH${IFS}*".to_string()),
        Just("a\\'b\\\"c".to_string()),
        Just("--debug".to_string()),
        Just("\x1b]0;t\x07\r".to_string()),
        "[ -~]{0,24}",
        any::<String>(),
    ]
}

/// A valid value or a hostile one.
fn field(valid: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
    prop_oneof![9 => valid, 1 => hostile()].boxed()
}

fn key_id() -> impl Strategy<Value = String> {
    "(AKIA|ASIA)[A-Z2-7]{16}"
}

fn iam_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+=,.@_-]{1,20}"
}

fn account() -> impl Strategy<Value = String> {
    "[0-9]{12}"
}

fn arn() -> impl Strategy<Value = String> {
    (
        "[0-9]{12}",
        prop_oneof![Just("user"), Just("assumed-role"), Just("root")],
        "[A-Za-z0-9_-]{1,12}",
    )
        .prop_map(|(acct, kind, name)| match kind {
            "root" => format!("arn:aws:iam::{acct}:root"),
            "user" => format!("arn:aws:iam::{acct}:user/{name}"),
            _ => format!("arn:aws:sts::{acct}:assumed-role/{name}/session"),
        })
}

/// One report finding with every field drawn.
#[derive(Debug, Clone)]
struct Drawn {
    key_id: String,
    user: String,
    account: String,
    arn: String,
    status: &'static str,
    path: String,
    member: String,
    author: String,
    date: String,
    message: String,
    rule: String,
    decoded: String,
    commit: String,
}

fn drawn() -> impl Strategy<Value = Drawn> {
    (
        (
            field(key_id()),
            field(iam_name()),
            field(account()),
            field(arn()),
            prop_oneof![
                Just("live"),
                Just("owned"),
                Just("not_checked"),
                Just("foreign")
            ],
        ),
        (
            hostile(),
            hostile(),
            hostile(),
            prop_oneof![Just("2026-03-04T05:06:07Z".to_string()), hostile()],
            hostile(),
            hostile(),
            hostile(),
            field("[0-9a-f]{40}"),
        ),
    )
        .prop_map(
            |(
                (key_id, user, account, arn, status),
                (path, member, author, date, message, rule, decoded, commit),
            )| Drawn {
                key_id,
                user,
                account,
                arn,
                status,
                path,
                member,
                author,
                date,
                message,
                rule,
                decoded,
                commit,
            },
        )
}

impl Drawn {
    fn json(&self) -> Value {
        json!([{
            "rule": self.rule, "kind": "access_key_pair", "severity": "critical",
            "key_id": self.key_id, "secret": "Zq8v…(40 chars)", "user_name": self.user,
            "account_id": self.account, "account_id_source": "decoded",
            "location": {
                "path": self.path, "archive_member": self.member, "decoded_from": self.decoded,
                "commit": self.commit, "author": self.author, "date": self.date,
                "line": 3, "column": 7
            },
            "fingerprint": "00112233445566778899aabbccddeeff",
            "verification": {"status": self.status, "arn": self.arn, "message": self.message},
            "remediation": [{"step": "investigate", "why": self.message,
                             "command": format!("x --start-time {}", self.message)}]
        }])
    }

    /// The first field a playbook uses that is off its grammar.
    fn invalid_field(&self) -> Option<&'static str> {
        [
            (Field::KeyId, &self.key_id, "key_id"),
            (Field::IamName, &self.user, "user_name"),
            (Field::AccountId, &self.account, "account_id"),
            (Field::Arn, &self.arn, "verification.arn"),
            (Field::Commit, &self.commit, "location.commit"),
        ]
        .into_iter()
        .find(|(f, v, _)| !f.matches(v))
        .map(|(_, _, name)| name)
    }
}

/// Where the playbook runs: a stub `aws`, a log of its calls and of any other command.
struct Sandbox {
    dir: tempfile::TempDir,
    bash: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let bash = which("bash");
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        let aws = bin.join("aws");
        fs::write(
            &aws,
            format!(
                "#!{}\nprintf '%s\\0' \"$@\" >> \"$AWS_LOG\"\nprintf '\\036\\0' >> \"$AWS_LOG\"\necho stub-user\n",
                bash.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&aws, fs::Permissions::from_mode(0o755)).unwrap();
        // The playbook's own helpers (the revoke policy's `$(date -u ...)`, the region list's
        // fallback `sort`) are real; any other command is caught by the handler below.
        for tool in ["date", "sort"] {
            std::os::unix::fs::symlink(which(tool), bin.join(tool)).unwrap();
        }
        fs::write(
            dir.path().join("env.sh"),
            "command_not_found_handle() { printf '%s\\n' \"$1\" >> \"$OTHER_LOG\"; return 127; }\n",
        )
        .unwrap();
        Sandbox { dir, bash }
    }

    /// Runs `script ARGS` in a fresh working directory; returns the exit code, the aws calls
    /// (each its argv) and the other commands tried.
    fn run(&self, script: &Path, args: &[&str]) -> (i32, Vec<Vec<String>>, String, Vec<PathBuf>) {
        let work = tempfile::tempdir_in(self.dir.path()).unwrap();
        let aws_log = self.dir.path().join("aws.log");
        let other_log = self.dir.path().join("other.log");
        let _ = fs::remove_file(&aws_log);
        let _ = fs::remove_file(&other_log);
        let out = Process::new(&self.bash)
            .arg(script)
            .args(args)
            .current_dir(work.path())
            .env_clear()
            .env("PATH", self.dir.path().join("bin"))
            .env("BASH_ENV", self.dir.path().join("env.sh"))
            .env("AWS_LOG", &aws_log)
            .env("OTHER_LOG", &other_log)
            .env("REGIONS", "us-east-1")
            .output()
            .unwrap();
        let log = fs::read(&aws_log).unwrap_or_default();
        let calls = log
            .split(|&b| b == 0x1e)
            .map(|call| {
                call.split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|c| !c.is_empty())
            .collect();
        let others = fs::read_to_string(&other_log).unwrap_or_default();
        let created = fs::read_dir(work.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        (out.status.code().unwrap_or(-1), calls, others, created)
    }
}

fn which(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{name} is not on PATH"))
}

/// The argument after each `flag` in `call`.
fn after<'c>(call: &'c [String], flag: &str) -> Vec<&'c str> {
    call.windows(2)
        .filter(|w| w[0] == flag)
        .map(|w| w[1].as_str())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn playbooks_run_only_aws_with_each_value_as_one_argument(d in drawn()) {
        let sandbox = Sandbox::new();
        let report = sandbox.dir.path().join("report.json");
        fs::write(&report, d.json().to_string()).unwrap();
        let script = sandbox.dir.path().join("play.sh");
        let out = keysweep()
            .args(["remediate", "--format", "sh", "-o"])
            .arg(&script)
            .arg(&report)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(bad) = d.invalid_field() {
            prop_assert_eq!(out.status.code(), Some(2), "{}", stderr);
            prop_assert!(stderr.contains("finding 1"), "{}", stderr);
            prop_assert!(stderr.contains(&format!("`{bad}`")), "{} {}", bad, stderr);
            prop_assert!(!script.exists());
            return Ok(());
        }
        prop_assert_eq!(out.status.code(), Some(0), "{}", stderr);
        let md = keysweep()
            .args(["remediate", "--format", "md"])
            .arg(&report)
            .output()
            .unwrap();
        prop_assert_eq!(md.status.code(), Some(0));
        for args in [&[][..], &["--execute"][..]] {
            let (code, calls, others, created) = sandbox.run(&script, args);
            // --execute stops (exit 1) where a step needs a name no lookup gave ($ROLE_NAME).
            prop_assert!(code == 0 || (code == 1 && !args.is_empty()), "{} {:?} {:?}", code, args, calls);
            prop_assert!(others.is_empty(), "other commands ran: {}", others);
            prop_assert!(created.is_empty(), "files created: {:?}", created);
            prop_assert!(!calls.is_empty());
            for call in &calls {
                for key in after(call, "--access-key-id") {
                    prop_assert_eq!(key, d.key_id.as_str(), "{:?}", call);
                }
                for user in after(call, "--user-name") {
                    prop_assert!(user == d.user || user == "stub-user"
                        || d.arn.ends_with(&format!("user/{user}")), "{:?}", call);
                }
                for attr in after(call, "--lookup-attributes") {
                    prop_assert_eq!(
                        attr,
                        format!("AttributeKey=AccessKeyId,AttributeValue={}", d.key_id),
                    );
                }
            }
            // The key reaches aws, whole, in the read-only identify step of the dry run.
            prop_assert!(calls.iter().any(|c| after(c, "--access-key-id") == [d.key_id.as_str()]));
        }
    }
}
