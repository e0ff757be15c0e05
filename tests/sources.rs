//! Scanning past one machine: `keysweep git URL` (file:// and a real `git daemon` on
//! 127.0.0.1), `--shard K/N` on `scan` and `git`, `keysweep merge`, and the Kubernetes
//! Indexed Job and GitHub Actions recipes of docs/examples run as they are written.

use crate::common;

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

use common::{keysweep, write, Run, KEY, LONE_KEY, OTHER_KEY, SECRET, SESSION_KEY, TOKEN};

// More made-up pairs (random base32 / base64).
const KEY_2: &str = "AKIAH2KVJ72CEUVW75EF";
const SECRET_2: &str = "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";
const KEY_3: &str = "AKIAOA7LQSAJ2XUID5ZZ";
const SECRET_3: &str = "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";

fn creds(key: &str, secret: &str) -> String {
    format!("[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
}

/// Runs git in `dir` without any system or user config; asserts success; returns stdout.
fn git(home: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Process::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// keysweep with git's user config kept out and temporary files under `home/tmp`.
fn ks(home: &Path) -> Command {
    let mut cmd = keysweep();
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("TMPDIR", home.join("tmp"));
    cmd
}

/// A repository whose history holds keys that moved, were deleted, live on a side branch
/// and in many versions of one file: the cases where per-part results must agree.
struct History {
    tmp: TempDir,
    dir: PathBuf,
}

impl History {
    fn new() -> History {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("origin");
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir_all(tmp.path().join("tmp")).unwrap();
        let h = History { tmp, dir };
        h.git(&["init", "-q", "-b", "main"]);
        h.git(&["config", "user.name", "Test Author"]);
        h.git(&["config", "user.email", "author@example.com"]);
        h.git(&["config", "commit.gpgsign", "false"]);
        h.commit("config/app.ini", &creds(KEY, SECRET), "add app config");
        for i in 0..6 {
            // Many versions of one file, the key in each.
            h.commit(
                "config/app.ini",
                &format!("{}\n# revision {i}\n", creds(KEY, SECRET)),
                &format!("revise {i}"),
            );
        }
        h.commit("notes/old.txt", &format!("id {LONE_KEY}\n"), "lone key");
        h.git(&["rm", "-q", "notes/old.txt"]);
        h.git(&["commit", "-q", "-m", "remove it"]);
        // A key that moves to another file (its old path no longer at HEAD, but the key is).
        h.commit("deploy/one.env", &creds(KEY_2, SECRET_2), "deploy one");
        h.git(&["mv", "deploy/one.env", "deploy/renamed-away.env"]);
        h.commit(
            "deploy/renamed-away.env",
            &format!("# moved\n{}", creds(KEY_2, SECRET_2)),
            "move it",
        );
        for i in 0..25 {
            h.commit(
                &format!("src/module{i}.py"),
                &format!("VALUE = {i}\n"),
                &format!("module {i}"),
            );
        }
        h.commit(
            "src/session.env",
            &format!(
                "AWS_ACCESS_KEY_ID={SESSION_KEY}\nAWS_SECRET_ACCESS_KEY={SECRET_3}\nAWS_SESSION_TOKEN={TOKEN}\n"
            ),
            "session",
        );
        h.git(&["checkout", "-q", "-b", "side"]);
        h.commit("side/extra.cfg", &creds(KEY_3, SECRET_3), "side branch key");
        h.git(&["checkout", "-q", "main"]);
        h.git(&["tag", "-a", "v1", "-m", "release"]);
        h
    }

    fn home(&self) -> &Path {
        self.tmp.path()
    }

    fn git(&self, args: &[&str]) -> String {
        git(self.home(), &self.dir, args)
    }

    fn commit(&self, path: &str, text: &str, message: &str) {
        write(&self.dir, path, text);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What is left in a directory.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// keysweep git URL

#[test]
fn a_file_url_is_cloned_scanned_whole_and_removed() {
    let h = History::new();
    let out = ks(h.home())
        .args(["git", &h.url(), "--format", "json"])
        .output()
        .unwrap();
    let run = Run::report(out.clone());
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Every ref: the side branch's key too, and the deleted lone key.
    let ids = run.sorted_key_ids();
    for key in [KEY, KEY_2, KEY_3, LONE_KEY, SESSION_KEY] {
        assert!(ids.contains(&key), "{key} missing from {ids:?}");
    }
    // The same report as a scan of the local repository itself.
    let local = ks(h.home())
        .args(["git"])
        .arg(&h.dir)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), stdout(&local));
    // The temporary clone is gone.
    assert_eq!(entries(&h.home().join("tmp")), Vec::<String>::new());
}

#[test]
fn keep_clone_keeps_a_bare_mirror_and_range_works_on_it() {
    let h = History::new();
    let keep = h.home().join("kept.git");
    let base = h.git(&["rev-parse", "main~3"]);
    let out = ks(h.home())
        .args(["git", &h.url(), "--keep-clone"])
        .arg(&keep)
        .args(["--range", &format!("{base}..side"), "--format", "json"])
        .output()
        .unwrap();
    let run = Run::report(out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Only what the range wrote: the session file and the side branch's key.
    assert_eq!(run.sorted_key_ids(), vec![KEY_3, SESSION_KEY]);
    // A bare mirror with every ref.
    assert_eq!(
        git(h.home(), &keep, &["rev-parse", "--is-bare-repository"]),
        "true"
    );
    let refs = git(h.home(), &keep, &["for-each-ref", "--format=%(refname)"]);
    for r in ["refs/heads/main", "refs/heads/side", "refs/tags/v1"] {
        assert!(refs.lines().any(|l| l == r), "{r} not in {refs}");
    }
    // A kept clone is not removed, and a second clone into it is refused (not overwritten).
    let again = ks(h.home())
        .args(["git", &h.url(), "--keep-clone"])
        .arg(&keep)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(keep.join("HEAD").is_file());
}

#[test]
fn urls_that_would_run_commands_or_options_are_refused() {
    let h = History::new();
    let marker = h.home().join("pwned");
    let cases = [
        format!("ext::sh -c touch% {}", marker.display()),
        format!("ssh://-oProxyCommand=touch%20{}/repo", marker.display()),
        "git@-oProxyCommand=sh:repo".to_string(),
        "fd::3".to_string(),
    ];
    for url in &cases {
        let out = ks(h.home()).args(["git", url]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("refusing repository URL"),
            "{url}: {}",
            stderr(&out)
        );
        assert!(!marker.exists(), "{url} ran a command");
    }
    // `--` keeps a URL-looking option from being read as one.
    let out = ks(h.home())
        .args(["git", "--", "--upload-pack=touch x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_failed_clone_is_exit_2_with_the_password_masked() {
    let h = History::new();
    let dead = format!(
        "http://bot:hunter2-token@127.0.0.1:{}/org/repo.git",
        free_port()
    );
    let out = ks(h.home()).args(["git", &dead]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("could not clone"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(entries(&h.home().join("tmp")), Vec::<String>::new());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `git daemon` serving `base` on 127.0.0.1; killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_git_daemon_url_is_scanned() {
    let h = History::new();
    let served = h.home().join("served");
    fs::create_dir_all(&served).unwrap();
    git(
        h.home(),
        h.home(),
        &[
            "clone",
            "-q",
            "--mirror",
            &h.url(),
            served.join("repo.git").to_str().unwrap(),
        ],
    );
    let port = free_port();
    let daemon = Daemon(
        Process::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", served.display()),
            ])
            .arg(&served)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", h.home())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start git daemon"),
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "git daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = ks(h.home())
        .args([
            "git",
            &format!("git://127.0.0.1:{port}/repo.git"),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    drop(daemon);
    let run = Run::report(out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for key in [KEY, KEY_2, KEY_3, LONE_KEY, SESSION_KEY] {
        assert!(run.key_ids().contains(&key), "{key}: {:?}", run.key_ids());
    }
    assert_eq!(entries(&h.home().join("tmp")), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// --shard and merge

/// Runs `args` for every part of `n` writing `--format json` reports; returns their paths.
fn shard_reports(home: &Path, out_dir: &Path, args: &[&str], n: u32) -> Vec<PathBuf> {
    (0..n)
        .map(|k| {
            let path = out_dir.join(format!("part-{k}.json"));
            let out = ks(home)
                .args(args)
                .args([
                    "--shard",
                    &format!("{k}/{n}"),
                    "--format",
                    "json",
                    "--output",
                ])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "part {k}/{n}: {}",
                stderr(&out)
            );
            path
        })
        .collect()
}

fn merge(home: &Path, reports: &[PathBuf], format: &str) -> Output {
    ks(home)
        .args(["merge", "--format", format])
        .args(reports)
        .output()
        .unwrap()
}

/// A directory of many files, some holding keys, one an archive.
fn tree(dir: &Path) {
    for i in 0..60 {
        write(
            dir,
            &format!("src/file{i}.txt"),
            format!("nothing here {i}\n"),
        );
    }
    write(dir, "a/app.ini", creds(KEY, SECRET));
    write(dir, "b/deep/dir/other.env", creds(OTHER_KEY, SECRET_2));
    write(dir, "b/notes.md", format!("see {LONE_KEY}\n"));
    write(
        dir,
        "c/.env",
        format!("AWS_ACCESS_KEY_ID={KEY_3}\nAWS_SECRET_ACCESS_KEY={SECRET_3}\n"),
    );
    write(dir, "c/dup.ini", creds(KEY, SECRET));
}

#[test]
fn file_shards_merged_equal_the_unsharded_report_byte_for_byte() {
    let tmp = TempDir::new().unwrap();
    let home = tmp.path();
    fs::create_dir_all(home.join("tmp")).unwrap();
    let data = home.join("data");
    tree(&data);
    let whole = ks(home)
        .current_dir(home)
        .args(["scan", "data", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(whole.status.code(), Some(1), "{}", stderr(&whole));
    for n in [1u32, 2, 3, 7] {
        let reports_dir = home.join(format!("reports-{n}"));
        fs::create_dir_all(&reports_dir).unwrap();
        let mut cmd_args = vec!["scan", "data"];
        cmd_args.extend_from_slice(&[]);
        let reports: Vec<PathBuf> = (0..n)
            .map(|k| {
                let path = reports_dir.join(format!("part-{k}.json"));
                let out = ks(home)
                    .current_dir(home)
                    .args(&cmd_args)
                    .args([
                        "--shard",
                        &format!("{k}/{n}"),
                        "--format",
                        "json",
                        "--output",
                    ])
                    .arg(&path)
                    .output()
                    .unwrap();
                assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
                path
            })
            .collect();
        // Each file is in exactly one part: the parts' file counts add up to the whole.
        let merged = ks(home)
            .current_dir(home)
            .args(["merge", "--format", "json"])
            .args(&reports)
            .output()
            .unwrap();
        assert_eq!(merged.status.code(), Some(1), "{}", stderr(&merged));
        assert_eq!(stdout(&merged), stdout(&whole), "{n} shards");
        // Any order of the reports gives the same bytes.
        let mut reversed = reports.clone();
        reversed.reverse();
        let merged_rev = ks(home)
            .current_dir(home)
            .args(["merge", "--format", "json"])
            .args(&reversed)
            .output()
            .unwrap();
        assert_eq!(stdout(&merged_rev), stdout(&whole));
    }
}

#[test]
fn every_file_is_scanned_by_exactly_one_shard() {
    let tmp = TempDir::new().unwrap();
    let home = tmp.path();
    fs::create_dir_all(home.join("tmp")).unwrap();
    let data = home.join("data");
    tree(&data);
    let count = |args: &[&str]| -> u64 {
        let out = ks(home)
            .current_dir(home)
            .args(["scan", "data", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        let err = stderr(&out);
        // "keysweep: scanned N files (...)"
        err.split("scanned ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {err}"))
    };
    let all = count(&[]);
    assert_eq!(all, 65);
    let parts: Vec<u64> = (0..4)
        .map(|k| count(&["--shard", &format!("{k}/4")]))
        .collect();
    assert_eq!(parts.iter().sum::<u64>(), all, "{parts:?}");
    assert!(parts.iter().all(|&p| p > 0), "{parts:?}");
}

#[test]
fn git_shards_merged_equal_the_unsharded_report_byte_for_byte() {
    let h = History::new();
    let whole = ks(h.home())
        .args(["git"])
        .arg(&h.dir)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(whole.status.code(), Some(1), "{}", stderr(&whole));
    let findings: Vec<Value> = serde_json::from_slice(&whole.stdout).unwrap();
    // The history really has the hard cases: a key whose first path is gone from HEAD but
    // which is still at HEAD elsewhere, and a key no longer anywhere.
    assert!(findings
        .iter()
        .any(|f| f["location"]["path"] == "deploy/one.env"
            && f["location"]["present_at_head"] == true));
    assert!(findings
        .iter()
        .any(|f| f["key_id"] == LONE_KEY && f["location"]["present_at_head"] == false));
    for n in [2u32, 3, 5] {
        let dir = h.home().join(format!("git-reports-{n}"));
        fs::create_dir_all(&dir).unwrap();
        let repo = h.dir.to_str().unwrap().to_string();
        let reports = shard_reports(h.home(), &dir, &["git", &repo], n);
        let merged = merge(h.home(), &reports, "json");
        assert_eq!(merged.status.code(), Some(1), "{}", stderr(&merged));
        assert_eq!(stdout(&merged), stdout(&whole), "{n} shards");
    }
    // Through a URL too, and with JSON Lines reports.
    let dir = h.home().join("url-reports");
    fs::create_dir_all(&dir).unwrap();
    let reports: Vec<PathBuf> = (0..3)
        .map(|k| {
            let path = dir.join(format!("{k}.jsonl"));
            let out = ks(h.home())
                .args([
                    "git",
                    &h.url(),
                    "--shard",
                    &format!("{k}/3"),
                    "--format",
                    "jsonl",
                    "-o",
                ])
                .arg(&path)
                .output()
                .unwrap();
            assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
            path
        })
        .collect();
    let merged = merge(h.home(), &reports, "json");
    assert_eq!(stdout(&merged), stdout(&whole));
}

#[test]
fn merge_dedups_sorts_summarises_and_exits_like_a_scan() {
    let tmp = TempDir::new().unwrap();
    let home = tmp.path();
    fs::create_dir_all(home.join("tmp")).unwrap();
    let data = home.join("data");
    tree(&data);
    let report = home.join("all.jsonl");
    let out = ks(home)
        .current_dir(home)
        .args(["scan", "data", "--format", "jsonl", "-o"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let n = fs::read_to_string(&report).unwrap().lines().count();
    // The same report twice: every finding once.
    let twice = merge(home, &[report.clone(), report.clone()], "jsonl");
    assert_eq!(twice.status.code(), Some(1));
    assert_eq!(stdout(&twice).lines().count(), n);
    assert!(
        stderr(&twice).contains(&format!(
            "merged 2 reports: {n} findings ({n} duplicates dropped)"
        )),
        "{}",
        stderr(&twice)
    );
    // Every output format.
    let text = merge(home, std::slice::from_ref(&report), "text");
    assert!(stdout(&text).contains(KEY), "{}", stdout(&text));
    let sarif = merge(home, std::slice::from_ref(&report), "sarif");
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), n);
    // An empty report: clean, exit 0.
    let empty = home.join("empty.json");
    fs::write(&empty, "[]").unwrap();
    let clean = merge(home, std::slice::from_ref(&empty), "json");
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(stdout(&clean).trim(), "[]");
    // A missing or broken report is never clean: exit 2 with nothing else, 1 with findings.
    let broken = home.join("broken.json");
    fs::write(&broken, "[{\"rule\": ").unwrap();
    let missing = home.join("missing.json");
    let bad = merge(home, &[empty.clone(), broken.clone(), missing], "json");
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("broken.json"), "{}", stderr(&bad));
    let partial = merge(home, &[report, broken], "json");
    assert_eq!(partial.status.code(), Some(1));
    // --exit-code as in a scan.
    let code = ks(home)
        .args(["merge", "--exit-code", "7"])
        .arg(home.join("all.jsonl"))
        .output()
        .unwrap();
    assert_eq!(code.status.code(), Some(7));
}

#[test]
fn a_bad_shard_is_a_usage_error() {
    for bad in ["4/4", "1/0", "x/2", "2"] {
        let out = keysweep()
            .args(["scan", "--shard", bad, "."])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let out = keysweep()
            .args(["git", "--shard", bad, "."])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------
// The recipes of docs/sources.md, run as written.

fn docs_example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("examples")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replaces Kubernetes' `$(VAR)` references in `arg` with values from `env`, as the kubelet
/// does for a container's command and args.
fn expand_k8s(arg: &str, env: &[(String, String)]) -> String {
    let mut out = arg.to_string();
    for (name, value) in env {
        out = out.replace(&format!("$({name})"), value);
    }
    out
}

#[test]
fn the_kubernetes_indexed_job_runs_one_shard_per_index_and_merges_to_the_whole() {
    let manifest: serde_yaml::Value =
        serde_yaml::from_str(&docs_example("keysweep-indexed-job.yaml"))
            .expect("the manifest is YAML");
    let spec = &manifest["spec"];
    assert_eq!(manifest["kind"], "Job");
    assert_eq!(spec["completionMode"], "Indexed");
    let completions = spec["completions"].as_u64().expect("completions");
    let container = &spec["template"]["spec"]["containers"][0];
    let command: Vec<String> = container["command"]
        .as_sequence()
        .expect("command")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let args: Vec<String> = container["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    // The exact command the Job runs.
    assert_eq!(command, ["keysweep"]);
    assert_eq!(
        args,
        [
            "git",
            "$(REPO_URL)",
            "--shard",
            "$(JOB_COMPLETION_INDEX)/4",
            "--format",
            "jsonl",
            "--output",
            "/reports/part-$(JOB_COMPLETION_INDEX).jsonl",
        ]
    );
    assert_eq!(completions, 4, "completions must equal N in --shard K/N");
    let mut env: Vec<(String, String)> = container["env"]
        .as_sequence()
        .expect("env")
        .iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    assert!(env.iter().any(|(n, _)| n == "REPO_URL"));

    // Run it: every index, the repository served from a file:// URL, /reports a temp dir.
    let h = History::new();
    let reports_dir = h.home().join("reports");
    fs::create_dir_all(&reports_dir).unwrap();
    env.retain(|(n, _)| n != "REPO_URL");
    env.push(("REPO_URL".into(), h.url()));
    let mut reports = Vec::new();
    for index in 0..completions {
        let mut pod_env = env.clone();
        pod_env.push(("JOB_COMPLETION_INDEX".into(), index.to_string()));
        let argv: Vec<String> = args
            .iter()
            .map(|a| expand_k8s(a, &pod_env))
            .map(|a| a.replace("/reports/", &format!("{}/", reports_dir.display())))
            .collect();
        let out = ks(h.home()).args(&argv).output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{argv:?}: {}",
            stderr(&out)
        );
        reports.push(reports_dir.join(format!("part-{index}.jsonl")));
    }
    let whole = ks(h.home())
        .args(["git", &h.url(), "--format", "json"])
        .output()
        .unwrap();
    let merged = merge(h.home(), &reports, "json");
    assert_eq!(stdout(&merged), stdout(&whole));
}

#[test]
fn the_github_actions_matrix_covers_every_shard_and_merges() {
    let workflow: serde_yaml::Value =
        serde_yaml::from_str(&docs_example("github-actions-shards.yml")).expect("YAML");
    let scan = &workflow["jobs"]["scan"];
    let shards: Vec<u64> = scan["strategy"]["matrix"]["shard"]
        .as_sequence()
        .expect("matrix.shard")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let total = workflow["env"]["SHARDS"].as_u64().expect("env.SHARDS");
    assert_eq!(
        shards,
        (0..total).collect::<Vec<_>>(),
        "the matrix lists 0..SHARDS"
    );
    assert_eq!(scan["strategy"]["fail-fast"], false);
    let run_of = |job: &serde_yaml::Value, marker: &str| -> String {
        job["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .find(|r| r.contains(marker))
            .unwrap_or_else(|| panic!("no step running {marker}"))
            .to_string()
    };
    let scan_run = run_of(scan, "keysweep git");
    let merge_run = run_of(&workflow["jobs"]["merge"], "keysweep merge");

    // Run the steps with bash as the runner would, the matrix values filled in.
    let h = History::new();
    let work = h.home().join("work");
    fs::create_dir_all(work.join("reports")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_keysweep")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let bash = |script: &str, shard: Option<u64>| -> Output {
        let script = script
            .replace(
                "${{ matrix.shard }}",
                &shard.map_or(String::new(), |s| s.to_string()),
            )
            .replace("${{ env.SHARDS }}", &total.to_string());
        Process::new("bash")
            .args(["-e", "-c", &script])
            .current_dir(&work)
            .env("PATH", &path)
            .env("REPO_URL", h.url())
            .env("SHARDS", total.to_string())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", h.home())
            .env("TMPDIR", h.home().join("tmp"))
            .output()
            .unwrap()
    };
    for shard in &shards {
        let out = bash(&scan_run, Some(*shard));
        assert!(out.status.success(), "shard {shard}: {}", stderr(&out));
    }
    // The merge step gathers the uploaded reports (here: already in reports/).
    let out = bash(&merge_run, None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let merged = fs::read_to_string(work.join("keysweep.sarif")).expect("merged SARIF");
    let merged: Value = serde_json::from_str(&merged).unwrap();
    let whole = ks(h.home())
        .args(["git", &h.url(), "--format", "json"])
        .output()
        .unwrap();
    let whole: Vec<Value> = serde_json::from_slice(&whole.stdout).unwrap();
    assert_eq!(
        merged["runs"][0]["results"].as_array().unwrap().len(),
        whole.len()
    );
}
