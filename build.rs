//! Names the build in `keysweep --version`: the crate version, plus the git commit and its
//! date when the crate is built from a git checkout of its own (a bug report then says which
//! build it was). Built from a tarball or a registry copy, or without `git` on PATH, the
//! version is the crate version alone.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let full = match commit(&dir) {
        Some((id, date)) => format!("{version} (commit {id}, {date})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=KEYSWEEP_VERSION={full}");
    println!("cargo:rerun-if-changed=build.rs");
}

/// `git` in `dir`, its stdout trimmed when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// The abbreviated commit id and commit date of HEAD, when `dir` is the top of a git work tree
/// (not a tarball unpacked inside some other repository); asks cargo to run this again when
/// HEAD moves.
fn commit(dir: &Path) -> Option<(String, String)> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(Path::new(&top), dir) {
        return None;
    }
    // HEAD, the branch it points to, and packed-refs: any of them changes when HEAD moves.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in &watched {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", name]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let id = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    let date = git(dir, &["show", "-s", "--format=%cs", "HEAD"])?;
    Some((id, date))
}
