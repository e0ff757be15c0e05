//! `keysweep git URL`: a remote repository, cloned bare with every ref (`git clone --mirror`)
//! into a temporary directory, scanned like a local one, then removed.
//!
//! The clone runs the real `git`, so private repositories work the way they do for the user:
//! credential helpers, the ssh agent, `~/.ssh/config`, `url.*.insteadOf`. What keysweep adds
//! is a fence around what the URL may make git do:
//! - only `https`, `http`, `ssh`, `git` and `file` transports (`GIT_ALLOW_PROTOCOL`), so
//!   `ext::` (which runs a command) and other remote helpers are refused by git itself, and
//!   keysweep rejects a `transport::address` URL before git sees it;
//! - the URL is passed after `--` and may not start with `-`, nor may its host or path, so it
//!   can never be read as an option (of git or of ssh);
//! - a bare clone checks nothing out: no filters, hooks or submodules of the cloned
//!   repository run;
//! - without a terminal, git does not wait for a password prompt (`GIT_TERMINAL_PROMPT=0`);
//! - git's messages (which relay the server's) are captured and shown escaped, and a password
//!   in the URL is never printed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Transports a URL may use (git's names, for `GIT_ALLOW_PROTOCOL`).
const ALLOWED_PROTOCOLS: &str = "file:git:http:https:ssh";

/// URL schemes recognised as remote repositories.
const SCHEMES: [&str; 7] = [
    "https://",
    "http://",
    "ssh://",
    "git://",
    "file://",
    "git+ssh://",
    "ssh+git://",
];

/// Errors that stop a remote scan before it starts.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("refusing repository URL {url}: {reason}")]
    BadUrl { url: String, reason: &'static str },
    #[error("cannot run git (needed to clone {url}): {source}")]
    Spawn { url: String, source: std::io::Error },
    #[error("git could not clone {url}:\n{message}")]
    Clone { url: String, message: String },
    #[error("cannot create a directory for the clone of {url}: {source}")]
    TempDir { url: String, source: std::io::Error },
}

/// True when `spec` names a remote repository rather than a local directory: a URL with one
/// of [`SCHEMES`], a `transport::address` form (rejected later), or scp-like `user@host:path`
/// when no such local path exists.
pub fn is_remote(spec: &str) -> bool {
    let lower = spec.to_ascii_lowercase();
    if SCHEMES.iter().any(|s| lower.starts_with(s)) || transport_prefix(spec).is_some() {
        return true;
    }
    scp_like(spec) && !Path::new(spec).exists()
}

/// `user@host:path`, git's scp-like ssh syntax: an `@` and then a `:` before any `/`.
fn scp_like(spec: &str) -> bool {
    match spec.find(':') {
        Some(colon) => {
            let head = &spec[..colon];
            head.contains('@') && !head.contains('/') && !head.starts_with('@')
        }
        None => false,
    }
}

/// The `transport` of git's `transport::address` remote-helper syntax (`ext::cmd`, ...).
fn transport_prefix(spec: &str) -> Option<&str> {
    let (head, _) = spec.split_once("::")?;
    (!head.is_empty()
        && head
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b)))
    .then_some(head)
}

/// Checks that `url` can be given to `git clone` without being read as anything but a URL.
pub fn validate_url(url: &str) -> Result<(), RemoteError> {
    let bad = |reason| RemoteError::BadUrl {
        url: display_url(url),
        reason,
    };
    if url.is_empty() {
        return Err(bad("it is empty"));
    }
    if url.starts_with('-') {
        return Err(bad("it starts with '-' and would be read as an option"));
    }
    if url.chars().any(char::is_control) {
        return Err(bad("it contains control characters"));
    }
    if let Some(transport) = transport_prefix(url) {
        return Err(if transport.eq_ignore_ascii_case("ext") {
            bad("the ext:: transport runs commands")
        } else {
            bad("remote helpers (transport::address) are not supported")
        });
    }
    let lower = url.to_ascii_lowercase();
    let rest = match SCHEMES.iter().find(|s| lower.starts_with(*s)) {
        Some(scheme) => &url[scheme.len()..],
        None if scp_like(url) => url,
        None => {
            return Err(bad(
                "expected https://, ssh://, git://, file:// or user@host:path",
            ))
        }
    };
    // Host, user and path: none may look like an option to git or to ssh.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let user = authority.rsplit_once('@').map(|(u, _)| u);
    if host.starts_with('-') || user.is_some_and(|u| u.starts_with('-')) {
        return Err(bad("its host or user starts with '-'"));
    }
    if let Some((_, path)) = rest.split_once(':').filter(|_| scp_like(url)) {
        if path.starts_with('-') {
            return Err(bad("its path starts with '-'"));
        }
    }
    Ok(())
}

/// `url` with the password of its user-info (`https://user:token@host/...`) masked.
pub fn display_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return escape(url);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let masked = match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!(
                "{}{user}{hidden}@{host}{}",
                &url[..scheme_end],
                &rest[authority_end..]
            )
        }
        None => url.to_string(),
    };
    escape(&masked)
}

/// Text from git or a server, safe for a terminal: control characters (escape sequences,
/// carriage returns) are shown escaped; line breaks are kept.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A bare clone on disk; removed on drop unless it was asked to be kept.
#[derive(Debug)]
pub struct Clone {
    dir: PathBuf,
    keep: bool,
}

impl Clone {
    /// The clone's git directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Clone {
    fn drop(&mut self) {
        if !self.keep {
            // Best effort: a leftover temporary directory is not worth failing the scan for.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A fresh, private directory under the system's temporary directory.
fn temp_dir() -> std::io::Result<PathBuf> {
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for attempt in 0..100u32 {
        let dir = base.join(format!(
            "keysweep-clone-{}-{nanos:08x}-{attempt}",
            std::process::id()
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary directory name")))
}

/// Clones `url` bare with all its refs (`git clone --mirror`) into `keep` (kept afterwards;
/// git requires it to be missing or empty) or into a temporary directory (removed when the
/// returned [`Clone`] drops).
pub fn clone(url: &str, keep: Option<&Path>) -> Result<Clone, RemoteError> {
    validate_url(url)?;
    let shown = display_url(url);
    let (dir, keep) = match keep {
        Some(dir) => (dir.to_path_buf(), true),
        None => (
            temp_dir().map_err(|source| RemoteError::TempDir {
                url: shown.clone(),
                source,
            })?,
            false,
        ),
    };
    // From here on the directory is cleaned up on every return path (unless kept).
    let clone = Clone { dir, keep };
    let mut cmd = Command::new("git");
    cmd.args([
        "-c",
        "protocol.ext.allow=never",
        "clone",
        "--mirror",
        "--quiet",
        "--",
        url,
    ])
    .arg(&clone.dir)
    .env("GIT_ALLOW_PROTOCOL", ALLOWED_PROTOCOLS)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    if !std::io::stdin().is_terminal() {
        // Nobody could answer a password prompt: fail instead of waiting for one.
        cmd.env("GIT_TERMINAL_PROMPT", "0");
    }
    let out = cmd.output().map_err(|source| RemoteError::Spawn {
        url: shown.clone(),
        source,
    })?;
    if !out.status.success() {
        let message = escape(String::from_utf8_lossy(&out.stderr).trim_end());
        return Err(RemoteError::Clone {
            url: shown,
            message: if message.is_empty() {
                format!("git exited with {}", out.status)
            } else {
                message
            },
        });
    }
    Ok(clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_specs_are_recognised() {
        for url in [
            "https://example.invalid/org/repo.git",
            "ssh://git@example.invalid/org/repo.git",
            "file:///srv/repo.git",
            "git@example.invalid:org/repo.git",
            "ext::sh -c touch% /tmp/pwned",
        ] {
            assert!(is_remote(url), "{url}");
        }
        for local in [".", "repo", "/tmp/x", "dir/with:colon"] {
            assert!(!is_remote(local), "{local}");
        }
    }

    #[test]
    fn option_and_command_urls_are_refused() {
        for url in [
            "--upload-pack=touch /tmp/pwned",
            "-u",
            "ext::sh -c touch% /tmp/pwned",
            "fd::17",
            "ssh://-oProxyCommand=touch%20pwned/repo",
            "ssh://-user@example.invalid/repo",
            "git@-oProxyCommand=x:repo",
            "git@example.invalid:-repo",
            "https://example.invalid/repo\n--upload-pack=x",
            "",
            "/just/a/path",
        ] {
            assert!(validate_url(url).is_err(), "{url:?}");
        }
        for url in [
            "https://example.invalid/org/repo.git",
            "file:///srv/repo.git",
            "git@example.invalid:org/repo.git",
            "ssh://git@example.invalid:2222/org/repo.git",
        ] {
            assert!(validate_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            display_url("https://bot:ghp_secret@example.invalid/org/repo.git"),
            "https://bot:***@example.invalid/org/repo.git"
        );
        assert_eq!(
            display_url("https://example.invalid/a\x1b[31m"),
            "https://example.invalid/a\\u{1b}[31m"
        );
    }
}
