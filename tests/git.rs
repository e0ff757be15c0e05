//! `keysweep git` on real repositories built with the git CLI in temp dirs, and the
//! pre-commit hook run through the real `pre-commit` framework.

use crate::common;
use crate::common::pytools;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

// Made-up credentials (random base32 / base64), never real keys.
const KEY_A: &str = "AKIAUJZDEGXDNCF32EPF";
const SECRET_A: &str = "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";
const KEY_B: &str = "AKIAH2KVJ72CEUVW75EF";
const SECRET_B: &str = "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";
const KEY_C: &str = "AKIAOA7LQSAJ2XUID5ZZ";
const SECRET_C: &str = "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";
const KEY_D: &str = "AKIA6KBNXJBTFQXKWOVO";
const SECRET_D: &str = "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";
const KEY_E: &str = "AKIAOGFQRCLRI3QZJ7UF";
const SECRET_E: &str = "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";

/// An ini snippet holding a key pair.
fn creds(key: &str, secret: &str) -> String {
    format!("[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
}

/// A repository in a temp dir, driven through the git CLI with no system or user config.
struct Repo {
    tmp: TempDir,
    dir: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("repo");
        fs::create_dir(&dir).unwrap();
        let repo = Repo { tmp, dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Test Author"]);
        repo.git(&["config", "user.email", "author@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    fn home(&self) -> &Path {
        self.tmp.path()
    }

    /// Runs git in `dir`, asserting success; returns stdout.
    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = Process::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home())
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.dir, args)
    }

    fn write(&self, path: &str, text: &str) {
        common::write(&self.dir, path, text);
    }

    /// Stages everything and commits; returns the commit id.
    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn keysweep_in(&self, dir: &Path, args: &[&str]) -> Run {
        let out = Command::cargo_bin("keysweep")
            .unwrap()
            .arg("git")
            .args(args)
            .args(["--format", "json"])
            .current_dir(dir)
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let findings = if stdout.trim().is_empty() {
            Vec::new()
        } else {
            serde_json::from_str::<Vec<Value>>(&stdout)
                .unwrap_or_else(|e| panic!("not a JSON report ({e}): {stdout}"))
        };
        Run {
            code: out.status.code(),
            findings,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `keysweep git ARGS --format json` in the repository.
    fn keysweep(&self, args: &[&str]) -> Run {
        self.keysweep_in(&self.dir, args)
    }
}

#[derive(Debug)]
struct Run {
    code: Option<i32>,
    findings: Vec<Value>,
    stderr: String,
}

impl Run {
    fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .findings
            .iter()
            .filter_map(|f| f["key_id"].as_str().map(str::to_string))
            .collect();
        ids.sort();
        ids
    }

    fn one(&self, key: &str) -> &Value {
        let hits: Vec<&Value> = self
            .findings
            .iter()
            .filter(|f| f["key_id"] == key)
            .collect();
        assert_eq!(hits.len(), 1, "expected one finding of {key}: {self:#?}");
        hits[0]
    }
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn key_added_then_removed_is_found_with_its_commit() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("first");
    repo.write(
        "config/app.ini",
        &format!("# app\n{}", creds(KEY_A, SECRET_A)),
    );
    repo.write("deploy.env", &creds(KEY_B, SECRET_B));
    let second = repo.commit("add config");
    repo.git(&["rm", "-q", "config/app.ini"]);
    repo.commit("remove the key");
    // The kept key's file changes later: still one finding, at its first commit.
    repo.write(
        "deploy.env",
        &format!("# deploy\n{}", creds(KEY_B, SECRET_B)),
    );
    repo.commit("edit deploy.env");

    let run = repo.keysweep(&[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.key_ids(), sorted(&[KEY_A, KEY_B]));

    let removed = &run.one(KEY_A)["location"];
    assert_eq!(removed["path"], "config/app.ini");
    assert_eq!(removed["commit"], second.as_str());
    assert_eq!(removed["author"], "Test Author <author@example.com>");
    assert!(removed["date"].as_str().unwrap().starts_with("20"));
    assert_eq!(removed["present_at_head"], false);
    assert_eq!(removed["line"], 3);
    assert_eq!(run.one(KEY_A)["kind"], "access_key_pair");
    assert!(!run.one(KEY_A)["secret"]
        .as_str()
        .unwrap()
        .contains(SECRET_A));

    let kept = &run.one(KEY_B)["location"];
    assert_eq!(kept["commit"], second.as_str());
    assert_eq!(kept["present_at_head"], true);
    assert_eq!(kept["line"], 2);
}

#[test]
fn every_kind_of_ref_is_scanned() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("first");

    // A key only on a non-default branch.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.ini", &creds(KEY_A, SECRET_A));
    let on_branch = repo.commit("feature work");
    repo.git(&["checkout", "-q", "main"]);

    // A key only reachable from an annotated tag (its branch is gone).
    repo.git(&["checkout", "-q", "-b", "release-tmp"]);
    repo.write("release.ini", &creds(KEY_B, SECRET_B));
    let tagged = repo.commit("release");
    repo.git(&["tag", "-a", "v1.0", "-m", "v1.0"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "release-tmp"]);

    // A key only in a remote-tracking ref.
    repo.git(&["checkout", "-q", "-b", "remote-tmp"]);
    repo.write("remote.ini", &creds(KEY_C, SECRET_C));
    let remote = repo.commit("remote work");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["update-ref", "refs/remotes/origin/topic", &remote]);
    repo.git(&["branch", "-q", "-D", "remote-tmp"]);

    // A key only in a stash (not the newest one: older stashes live in the reflog).
    repo.write("README.md", &format!("hello\n{}", creds(KEY_D, SECRET_D)));
    repo.git(&["stash", "-q"]);
    repo.write("README.md", "hello again\n");
    repo.git(&["stash", "-q"]);

    // A key in a blob that only a lightweight tag names (no commit holds it).
    fs::write(repo.home().join("tagged-blob.ini"), creds(KEY_E, SECRET_E)).unwrap();
    let blob = repo.git(&["hash-object", "-w", "../tagged-blob.ini"]);
    repo.git(&["tag", "blob-tag", &blob]);

    let run = repo.keysweep(&[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.key_ids(), sorted(&[KEY_A, KEY_B, KEY_C, KEY_D, KEY_E]));
    assert_eq!(run.one(KEY_E)["location"]["path"], "refs/tags/blob-tag");
    assert_eq!(run.one(KEY_A)["location"]["commit"], on_branch.as_str());
    assert_eq!(run.one(KEY_A)["location"]["present_at_head"], false);
    assert_eq!(run.one(KEY_B)["location"]["commit"], tagged.as_str());
    assert_eq!(run.one(KEY_C)["location"]["commit"], remote.as_str());
    assert_eq!(run.one(KEY_D)["location"]["path"], "README.md");
}

#[test]
fn documentation_example_keys_in_history_are_not_reported() {
    let repo = Repo::new();
    repo.write(
        "docs/setup.md",
        &creds(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
    );
    repo.commit("docs");
    repo.git(&["rm", "-q", "docs/setup.md"]);
    repo.commit("drop docs");
    let run = repo.keysweep(&[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.findings.is_empty());
}

#[test]
fn range_reports_only_what_the_pull_request_adds() {
    let repo = Repo::new();
    repo.write("settings.ini", &creds(KEY_A, SECRET_A));
    repo.write("old/legacy.ini", &creds(KEY_D, SECRET_D));
    repo.write("other.txt", "untouched\n");
    let base = repo.commit("base with an old key");
    repo.git(&["checkout", "-q", "-b", "pr"]);
    // The PR edits the file that holds the old key, adds a new key to it, and renames the
    // other old key's file.
    repo.write(
        "settings.ini",
        &format!(
            "{}\n[prod]\naws_access_key_id = {KEY_B}\n",
            creds(KEY_A, SECRET_A)
        ),
    );
    let pr_commit = repo.commit("add prod key");
    repo.git(&["mv", "old", "new"]);
    repo.commit("move legacy");

    let run = repo.keysweep(&["--range", &format!("{base}..HEAD")]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.key_ids(), sorted(&[KEY_B]));
    let found = &run.one(KEY_B)["location"];
    assert_eq!(found["commit"], pr_commit.as_str());
    assert_eq!(found["path"], "settings.ini");
    assert_eq!(found["line"], 6);

    let alias = repo.keysweep(&["--since-commit", "main"]);
    assert_eq!(alias.key_ids(), sorted(&[KEY_B]));

    // The base itself: nothing new between main and main.
    let empty = repo.keysweep(&["--range", "main..main"]);
    assert_eq!(empty.code, Some(0), "{}", empty.stderr);

    // The whole history still has all three.
    assert_eq!(repo.keysweep(&[]).key_ids(), sorted(&[KEY_A, KEY_B, KEY_D]));
}

#[test]
fn bad_range_is_a_usage_error() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("one");
    let run = repo.keysweep(&["--range", "no-such-branch..HEAD"]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("no-such-branch"), "{}", run.stderr);
    let run = repo.keysweep(&["--range", "main"]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("BASE..HEAD"), "{}", run.stderr);
}

#[test]
fn staged_blocks_added_lines_only() {
    let repo = Repo::new();
    let old = format!("line 1\n{}line 5\n", creds(KEY_A, SECRET_A));
    repo.write("app.ini", &old);
    repo.write("notes.txt", "notes\n");
    repo.commit("old key already committed");

    // Nothing staged: clean, even though HEAD holds a key.
    let run = repo.keysweep(&["--staged"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);

    // Stage a new key below the old one; leave another key unstaged.
    repo.write(
        "app.ini",
        &format!("{old}line 6\naws_access_key_id = {KEY_B}\n"),
    );
    repo.git(&["add", "app.ini"]);
    repo.write("notes.txt", &format!("notes\n{}", creds(KEY_C, SECRET_C)));

    let run = repo.keysweep(&["--staged"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.key_ids(), sorted(&[KEY_B]));
    let found = &run.one(KEY_B)["location"];
    assert_eq!(found["path"], "app.ini");
    assert_eq!(found["line"], 7);
    assert_eq!(found["column"], 21);

    // Editing the old key's line in place re-adds it: that line is new content.
    repo.git(&["reset", "-q"]);
    repo.write("app.ini", &old.replace("[default]", "[default] # edited"));
    repo.git(&["add", "app.ini"]);
    let run = repo.keysweep(&["--staged"]);
    assert_eq!(run.code, Some(0), "only the header line changed: {run:#?}");
}

#[test]
fn staged_works_without_head() {
    let repo = Repo::new();
    repo.write("a/b/creds.ini", &format!("\n\n{}", creds(KEY_A, SECRET_A)));
    repo.git(&["add", "-A"]);
    let run = repo.keysweep(&["--staged"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.one(KEY_A)["location"]["path"], "a/b/creds.ini");
    assert_eq!(run.one(KEY_A)["location"]["line"], 4);
    // The full history of a repository without commits is empty, not an error.
    let run = repo.keysweep(&[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn staged_rename_of_a_committed_key_does_not_block() {
    let repo = Repo::new();
    repo.write(
        "old.ini",
        &format!("{}# a comment\n", creds(KEY_A, SECRET_A)),
    );
    repo.commit("old");
    repo.git(&["mv", "old.ini", "new.ini"]);
    let run = repo.keysweep(&["--staged"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
}

#[test]
fn merges_are_followed() {
    let repo = Repo::new();
    repo.write("shared.txt", "base\n");
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("side.ini", &creds(KEY_A, SECRET_A));
    repo.write("shared.txt", "side version\n");
    let side = repo.commit("side adds a key");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("shared.txt", "main version\n");
    repo.commit("main edits");
    // A conflicting merge, resolved with a key written in the merge commit itself.
    let merge = Process::new("git")
        .args(["merge", "-q", "side", "-m", "merge"])
        .current_dir(&repo.dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", repo.home())
        .output()
        .unwrap();
    assert!(!merge.status.success(), "the merge should conflict");
    repo.write(
        "shared.txt",
        &format!("resolved\naws_access_key_id = {KEY_B}\n"),
    );
    let merge = repo.commit("merge side");

    let run = repo.keysweep(&[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.key_ids(), sorted(&[KEY_A, KEY_B]));
    assert_eq!(run.one(KEY_A)["location"]["commit"], side.as_str());
    assert_eq!(run.one(KEY_B)["location"]["commit"], merge.as_str());
    assert_eq!(run.one(KEY_B)["location"]["line"], 2);

    // From main's point of view the side commit and the merge are new: both keys.
    let run = repo.keysweep(&["--range", "HEAD~1..HEAD"]);
    assert_eq!(run.key_ids(), sorted(&[KEY_A, KEY_B]));
    // From the side branch's point of view only the merge's own key is new.
    let run = repo.keysweep(&["--range", "side..HEAD"]);
    assert_eq!(run.key_ids(), sorted(&[KEY_B]));
}

#[test]
fn renamed_files_keep_their_first_commit() {
    let repo = Repo::new();
    repo.write("a.ini", &creds(KEY_A, SECRET_A));
    let added = repo.commit("add");
    repo.git(&["mv", "a.ini", "b.ini"]);
    let renamed = repo.commit("rename");
    let run = repo.keysweep(&[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.findings.len(), 1, "{run:#?}");
    let found = &run.one(KEY_A)["location"];
    assert_eq!(found["commit"], added.as_str());
    assert_eq!(found["path"], "a.ini");
    assert_eq!(found["present_at_head"], true);
    // The rename alone adds nothing.
    let run = repo.keysweep(&["--range", &format!("{added}..{renamed}")]);
    assert_eq!(run.code, Some(0), "{run:#?}");
}

#[test]
fn shallow_clone_is_scanned_with_a_warning() {
    let repo = Repo::new();
    repo.write("old.ini", &creds(KEY_A, SECRET_A));
    repo.commit("old key");
    repo.git(&["rm", "-q", "old.ini"]);
    repo.commit("remove it");
    repo.write("new.ini", &creds(KEY_B, SECRET_B));
    let newest = repo.commit("new key");

    let url = format!("file://{}", repo.dir.display());
    repo.git_in(
        repo.home(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = repo.home().join("shallow");
    let run = repo.keysweep_in(&shallow, &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
    assert_eq!(run.key_ids(), sorted(&[KEY_B]));
    assert_eq!(run.one(KEY_B)["location"]["commit"], newest.as_str());
}

#[test]
fn not_a_repository_exits_2() {
    let tmp = TempDir::new().unwrap();
    let out = Command::cargo_bin("keysweep")
        .unwrap()
        .args(["git", &tmp.path().display().to_string()])
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a git repository"), "{stderr}");
    assert!(
        stderr.contains(&tmp.path().display().to_string()),
        "{stderr}"
    );
}

#[test]
fn all_objects_finds_dangling_commits_and_blobs() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("first");
    repo.write("leak.ini", &creds(KEY_A, SECRET_A));
    let dangling = repo.commit("leak");
    // Force the leak out of every ref and reflog, as a force push would.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    // A blob that was staged once and never committed.
    repo.write("staged-once.ini", &creds(KEY_B, SECRET_B));
    repo.git(&["add", "staged-once.ini"]);
    repo.git(&["rm", "-q", "--cached", "staged-once.ini"]);
    fs::remove_file(repo.dir.join("staged-once.ini")).unwrap();
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);

    let run = repo.keysweep(&[]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let run = repo.keysweep(&["--all-objects"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.key_ids(), sorted(&[KEY_A, KEY_B]));
    let leak = &run.one(KEY_A)["location"];
    assert_eq!(leak["commit"], dangling.as_str());
    assert_eq!(leak["path"], "leak.ini");
    assert_eq!(leak["present_at_head"], false);
    let blob = &run.one(KEY_B)["location"];
    assert!(blob["path"].as_str().unwrap().contains("unreachable blob"));
    assert!(blob["commit"].is_null());
}

#[test]
fn packed_history_is_scanned_like_loose_history() {
    let repo = Repo::new();
    for i in 0..30 {
        repo.write(&format!("f{}.txt", i % 7), &format!("version {i}\n"));
        if i == 11 {
            repo.write("keys/k.ini", &creds(KEY_A, SECRET_A));
        }
        if i == 19 {
            repo.git(&["rm", "-q", "keys/k.ini"]);
        }
        repo.commit(&format!("c{i}"));
    }
    let loose = repo.keysweep(&["--threads", "3"]);
    repo.git(&["gc", "-q", "--aggressive"]);
    let packed = repo.keysweep(&["--threads", "3"]);
    assert_eq!(packed.code, Some(1), "{}", packed.stderr);
    assert_eq!(loose.findings, packed.findings);
    assert_eq!(packed.key_ids(), sorted(&[KEY_A]));
    // Every distinct blob is scanned once, though the key's file sits in 8 commits.
    let objects = repo.git(&["rev-list", "--objects", "--all"]);
    let ids: Vec<&str> = objects
        .lines()
        .filter_map(|l| l.split(' ').next())
        .collect();
    let types = Process::new("git")
        .args(["cat-file", "--batch-check=%(objecttype)"])
        .current_dir(&repo.dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(ids.join("\n").as_bytes())?;
            drop(stdin);
            child.wait_with_output()
        })
        .unwrap();
    let blobs = String::from_utf8_lossy(&types.stdout)
        .lines()
        .filter(|t| *t == "blob")
        .count();
    assert!(blobs >= 30, "{blobs}");
    for run in [&loose, &packed] {
        assert!(
            run.stderr.contains(&format!("scanned {blobs} blobs")),
            "{blobs} distinct blobs: {}",
            run.stderr
        );
    }
}

#[test]
fn inline_allow_suppresses_in_scan_and_history() {
    let repo = Repo::new();
    repo.write(
        "allowed.ini",
        &format!(
            "aws_access_key_id = {KEY_A} # keysweep:allow\n\
             aws_secret_access_key = {SECRET_A} # keysweep:allow\n"
        ),
    );
    repo.write(
        "half.ini",
        &format!("# keysweep:allow\naws_access_key_id = {KEY_B}\n"),
    );
    repo.commit("keys");
    let run = repo.keysweep(&[]);
    assert_eq!(run.key_ids(), sorted(&[KEY_B]));
    let out = Command::cargo_bin("keysweep")
        .unwrap()
        .args(["scan", "--format", "json", "allowed.ini", "half.ini"])
        .current_dir(&repo.dir)
        .output()
        .unwrap();
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["key_id"], KEY_B);
}

// ---------------------------------------------------------------------------------------
// The pre-commit hook, through the real pre-commit framework.

/// The shipped hook manifest.
fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml")
}

impl Repo {
    fn pre_commit(&self, args: &[&str]) -> std::process::Output {
        Process::new(pytools::bin("pre-commit"))
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home())
            .env("PRE_COMMIT_HOME", self.home().join("pre-commit-cache"))
            .output()
            .expect("run pre-commit from the test tools' venv")
    }

    /// `git commit` with the installed hook; returns (success, combined output).
    fn try_commit(&self, message: &str) -> (bool, String) {
        let out = Process::new("git")
            .args(["commit", "-m", message])
            .current_dir(&self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home())
            .env("PRE_COMMIT_HOME", self.home().join("pre-commit-cache"))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

#[test]
fn hook_manifest_is_valid() {
    let text = fs::read_to_string(manifest()).unwrap();
    assert!(text.contains("id: keysweep"), "{text}");
    assert!(text.contains("entry: keysweep git --staged"), "{text}");
    assert!(text.contains("pass_filenames: false"), "{text}");
    let repo = Repo::new();
    let out = repo.pre_commit(&["validate-manifest", &manifest().display().to_string()]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pre_commit_hook_refuses_a_key_and_passes_clean_and_allowed_commits() {
    let repo = Repo::new();
    let binary = assert_cmd::cargo::cargo_bin("keysweep");
    // The shipped hook's command, run as a local system hook: nothing is fetched or built.
    let config = format!(
        "repos:\n\
         - repo: local\n  \
           hooks:\n  \
           - id: keysweep\n    \
             name: keysweep\n    \
             entry: \"{} git --staged\"\n    \
             language: system\n    \
             pass_filenames: false\n",
        binary.display()
    );
    repo.write(".pre-commit-config.yaml", &config);
    repo.write("README.md", "hello\n");
    repo.git(&["add", "-A"]);
    let out = repo.pre_commit(&["install"]);
    assert!(out.status.success(), "{out:?}");

    let (ok, text) = repo.try_commit("clean first commit");
    assert!(ok, "a clean commit must pass: {text}");

    repo.write(
        "conf/settings.py",
        &format!("DEBUG = True\n\nAWS_ACCESS_KEY_ID = \"{KEY_A}\"\n"),
    );
    repo.git(&["add", "-A"]);
    let (ok, text) = repo.try_commit("add settings");
    assert!(!ok, "a commit with a key must be refused: {text}");
    assert!(text.contains("conf/settings.py"), "{text}");
    assert!(text.contains(KEY_A), "{text}");
    assert!(text.contains("  3:"), "line 3 must be named: {text}");

    repo.write(
        "conf/settings.py",
        &format!("DEBUG = True\n\nAWS_ACCESS_KEY_ID = \"{KEY_A}\"  # keysweep:allow\n"),
    );
    repo.git(&["add", "-A"]);
    let (ok, text) = repo.try_commit("add settings, key allowed");
    assert!(ok, "an allowed line must pass: {text}");
}

// ---------------------------------------------------------------------------------------------
// Blobs are scanned exactly like files: archives, compression, nesting, encodings.

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zip_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn compressed_blob_in_history_and_range_is_opened() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    let base = repo.commit("first");
    let inner = creds(KEY_A, SECRET_A);
    common::write(&repo.dir, "backup.env.gz", gzip_bytes(inner.as_bytes()));
    let nested = zip_bytes(&[(
        "deep/prod.env",
        gzip_bytes(creds(KEY_B, SECRET_B).as_bytes()).as_slice(),
    )]);
    common::write(&repo.dir, "dump/creds.zip", nested);
    let added = repo.commit("add backups");

    for args in [vec![], vec!["--range".to_string(), format!("{base}..HEAD")]] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = repo.keysweep(&args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert_eq!(run.key_ids(), sorted(&[KEY_A, KEY_B]), "{args:?}");
        let gz = &run.one(KEY_A)["location"];
        assert_eq!(gz["path"], "backup.env.gz");
        assert_eq!(gz["commit"], added.as_str());
        assert_eq!(gz["line"], 2);
        let zip = &run.one(KEY_B)["location"];
        assert_eq!(zip["path"], "dump/creds.zip");
        assert_eq!(zip["archive_member"], "deep/prod.env");
        assert_eq!(zip["commit"], added.as_str());
    }
}

#[test]
fn staged_archive_and_binary_blobs_are_scanned_whole() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("first");
    common::write(
        &repo.dir,
        "creds.zip",
        zip_bytes(&[("prod.env", creds(KEY_A, SECRET_A).as_bytes())]),
    );
    // A binary blob (NUL bytes) with a key in it: no "added lines" to speak of.
    let mut binary = vec![0u8, 1, 2, 3, 0, 0];
    binary.extend_from_slice(creds(KEY_B, SECRET_B).as_bytes());
    binary.extend_from_slice(&[0, 0, 9]);
    common::write(&repo.dir, "cache.bin", &binary);
    repo.git(&["add", "-A"]);
    let run = repo.keysweep(&["--staged"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.key_ids(), sorted(&[KEY_A, KEY_B]));
    assert_eq!(run.one(KEY_A)["location"]["archive_member"], "prod.env");
    repo.commit("commit them");

    // A modified archive: only the credential the old one did not hold is reported.
    common::write(
        &repo.dir,
        "creds.zip",
        zip_bytes(&[
            ("prod.env", creds(KEY_A, SECRET_A).as_bytes()),
            ("new.env", creds(KEY_C, SECRET_C).as_bytes()),
        ]),
    );
    repo.git(&["add", "-A"]);
    let run = repo.keysweep(&["--staged"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.key_ids(), sorted(&[KEY_C]));
    assert_eq!(run.one(KEY_C)["location"]["archive_member"], "new.env");
}

#[test]
fn unscanned_blob_member_makes_a_clean_history_exit_2() {
    let repo = Repo::new();
    // An encrypted zip member cannot be read: nothing found, but not clean either.
    let mut zip = zip_bytes(&[("secret.env", b"nothing here\n".as_slice())]);
    // Set the "encrypted" flag in the local header and the central directory entry.
    for sig in [b"PK\x03\x04".as_slice(), b"PK\x01\x02".as_slice()] {
        let at = zip.windows(4).position(|w| w == sig).unwrap();
        let flag = if sig == b"PK\x03\x04" { at + 6 } else { at + 8 };
        zip[flag] |= 1;
    }
    common::write(&repo.dir, "locked.zip", &zip);
    repo.commit("add a locked zip");
    let run = repo.keysweep(&[]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.findings.is_empty());
    assert!(
        run.stderr.contains("locked.zip!secret.env"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("not scanned"), "{}", run.stderr);
    let run = repo.keysweep(&["--allow-incomplete"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}
