//! Test support shared by tests/verify.rs, tests/remediate.rs and tests/s3.rs: a real
//! `moto_server` on 127.0.0.1 (killed when the guard drops), the real `aws` CLI pointed at it,
//! S3 buckets made through it, and the environment every child process gets, so nothing talks
//! to any address but loopback.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::pytools;

/// A moto server on a free loopback port; killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    pub url: String,
    /// Holds the empty AWS config files the children read instead of ~/.aws.
    home: tempfile::TempDir,
    /// moto's request log (one line per request: method, path, status), as it comes.
    log: Arc<Mutex<Vec<String>>>,
}

/// A free TCP port on 127.0.0.1 (bound, then released for the child to take).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local addr").port()
}

/// A loopback URL where nothing listens: connections are refused at once.
pub fn dead_endpoint() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

fn moto_binary() -> PathBuf {
    pytools::bin("moto_server")
}

impl Moto {
    /// Starts moto without authentication (moto's default: any key is accepted).
    pub fn start() -> Moto {
        Moto::launch(None)
    }

    /// Starts moto enforcing IAM authentication after the first `free_actions` requests.
    pub fn start_with_auth(free_actions: u32) -> Moto {
        Moto::launch(Some(free_actions))
    }

    /// Starts moto with AWS managed policies (AdministratorAccess, ReadOnlyAccess, ...) loaded,
    /// so they can be attached; optionally enforcing authentication after `free_actions`.
    pub fn start_with_managed_policies(free_actions: Option<u32>) -> Moto {
        Moto::launch_with(free_actions, &[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
    }

    fn launch(free_actions: Option<u32>) -> Moto {
        Moto::launch_with(free_actions, &[])
    }

    fn launch_with(free_actions: Option<u32>, envs: &[(&str, &str)]) -> Moto {
        let home = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut cmd = Command::new(moto_binary());
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(n) = free_actions {
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        cmd.envs(envs.iter().copied());
        let mut child = cmd.spawn().expect("start moto_server");
        // Keep moto's request log (and drain it, so moto never blocks on a full pipe).
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    log.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        let moto = Moto {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            home,
            log,
        };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not answer on {} within 60 s", self.url);
    }

    /// Applies the loopback-only AWS environment to `cmd`, signing with `key`/`secret`.
    pub fn env_as<'c>(&self, cmd: &'c mut Command, key: &str, secret: &str) -> &'c mut Command {
        isolate(cmd, self.home.path())
            // The venv's `aws` first: playbooks call it by name.
            .env("PATH", pytools::path_with_tools())
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
    }

    /// The environment of the operator: moto's test credentials.
    pub fn env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        self.env_as(cmd, "testing", "testing")
    }

    /// Runs the real `aws` CLI against moto as `key`; returns its JSON output.
    pub fn aws_as(&self, key: &str, secret: &str, args: &[&str]) -> Value {
        let out = self.aws_output_as(key, secret, args);
        assert!(
            out.status.success(),
            "aws {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("aws {args:?}: {e}: {text}"))
        }
    }

    /// `aws_as` with the operator's credentials.
    pub fn aws(&self, args: &[&str]) -> Value {
        self.aws_as("testing", "testing", args)
    }

    pub fn aws_output_as(&self, key: &str, secret: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(pytools::bin("aws"));
        self.env_as(&mut cmd, key, secret)
            .args(["--endpoint-url", &self.url, "--output", "json"])
            .args(args);
        cmd.output()
            .expect("run the aws CLI of the test tools' venv")
    }

    /// Creates IAM user `user` with one access key; returns (key ID, secret).
    pub fn user_with_key(&self, user: &str) -> (String, String) {
        self.aws(&["iam", "create-user", "--user-name", user]);
        let key = self.aws(&["iam", "create-access-key", "--user-name", user]);
        (
            key["AccessKey"]["AccessKeyId"]
                .as_str()
                .expect("AccessKeyId")
                .to_string(),
            key["AccessKey"]["SecretAccessKey"]
                .as_str()
                .expect("SecretAccessKey")
                .to_string(),
        )
    }

    /// Creates an access key for the existing user `user` as `(key, secret)` signs; returns
    /// (key ID, secret).
    pub fn key_for_as(&self, signer: (&str, &str), user: &str) -> (String, String) {
        let key = self.aws_as(
            signer.0,
            signer.1,
            &["iam", "create-access-key", "--user-name", user],
        );
        (
            key["AccessKey"]["AccessKeyId"]
                .as_str()
                .expect("AccessKeyId")
                .to_string(),
            key["AccessKey"]["SecretAccessKey"]
                .as_str()
                .expect("SecretAccessKey")
                .to_string(),
        )
    }

    /// (key ID, status) of every access key of `user`.
    pub fn access_keys(&self, user: &str) -> Vec<(String, String)> {
        let v = self.aws(&["iam", "list-access-keys", "--user-name", user]);
        v["AccessKeyMetadata"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|k| {
                        (
                            k["AccessKeyId"].as_str().unwrap_or("").to_string(),
                            k["Status"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// S3 through the real `aws` CLI.
impl Moto {
    /// Creates `bucket` in `region` (us-east-1 takes no location constraint).
    pub fn create_bucket(&self, bucket: &str, region: &str) {
        let mut args = vec![
            "s3api",
            "create-bucket",
            "--bucket",
            bucket,
            "--region",
            region,
        ];
        let constraint = format!("LocationConstraint={region}");
        if region != "us-east-1" {
            args.extend(["--create-bucket-configuration", &constraint]);
        }
        self.aws(&args);
    }

    /// Uploads every file under `dir` to `s3://bucket/` (keys are the relative paths).
    pub fn sync_up(&self, dir: &Path, bucket: &str) {
        let dir = dir.to_string_lossy();
        let url = format!("s3://{bucket}/");
        self.aws(&["s3", "sync", "--only-show-errors", &dir, &url]);
    }

    /// Uploads one object with `put-object` (extra arguments: `--storage-class GLACIER`, ...);
    /// returns the answer (its `VersionId` in a versioned bucket).
    pub fn put(&self, bucket: &str, key: &str, body: &Path, extra: &[&str]) -> Value {
        let body = body.to_string_lossy();
        let mut args = vec![
            "s3api",
            "put-object",
            "--bucket",
            bucket,
            "--key",
            key,
            "--body",
            &body,
        ];
        args.extend(extra);
        self.aws(&args)
    }

    /// The lines of moto's request log so far.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clears every AWS setting the caller's environment might carry (profiles, proxies, real
/// endpoints) and sets a loopback-only baseline: no instance metadata, fixed region, empty
/// config files under `home`.
pub fn isolate<'c>(cmd: &'c mut Command, home: &Path) -> &'c mut Command {
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "REGIONS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
}

/// Writes `aws_access_key_id` / `aws_secret_access_key` lines (a credentials file) to
/// `dir/name`; returns the path.
pub fn plant(dir: &Path, name: &str, key: &str, secret: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"),
    )
    .expect("write the planted credentials");
    path
}
