//! Git as an input: the whole history, a pull request's range, or the staged changes.
//!
//! History is scanned blob by blob, not commit by commit: the trees of every commit reachable
//! from any ref (branches, tags, remote refs, the stash and its reflog, HEAD) are walked once,
//! oldest commit first, remembering for each blob id the first commit and path it appeared
//! at ([`catalog`]). Every distinct blob is then read once, in the order it is stored in its
//! pack (delta bases before their deltas, so libgit2's base cache hits: [`pack`]), and scanned
//! on all cores ([`pool`]). Findings get their provenance from that first appearance, and one
//! finding is kept per fingerprint (credential and path), the oldest ([`provenance`]).
//!
//! `--range BASE..HEAD` scans only the blobs the commits in the range wrote, and drops a
//! credential that the blobs those commits replaced or deleted already held ([`range`]).
//! `--staged` scans only the lines the index adds to HEAD, with their real line numbers
//! ([`staged`]).

mod catalog;
mod history;
mod pack;
mod pool;
mod provenance;
mod range;
mod staged;

use std::path::Path;
use std::sync::Once;
use std::time::Instant;

use git2::Repository;

use crate::input::archive::ArchiveOptions;
use crate::input::{Outcome, Sinks};
use crate::shard::Shard;

pub use pack::{pack_delta_families, pack_index_entries};

/// Errors that stop a git scan (a single unreadable blob does not: it becomes an
/// [`InputError`](crate::input::InputError) and the scan goes on).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "{path}: not a git repository ({message}): run it inside a git work tree or pass the \
         repository's path; `keysweep scan {path}` scans files that are not in git"
    )]
    NotARepository { path: String, message: String },
    #[error("{context}: {}", err.message())]
    Git { context: String, err: git2::Error },
    #[error("invalid range {0:?}: expected BASE..HEAD (HEAD may be left out)")]
    BadRange(String),
}

fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let context = context.into();
    move |err| GitError::Git { context, err }
}

/// What part of the repository to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every blob reachable from any ref; with `all_objects`, every blob in the object
    /// database, reachable or not.
    History { all_objects: bool },
    /// The blobs written by the commits in `base..head`.
    Range { base: String, head: String },
    /// The lines the index adds to HEAD.
    Staged,
}

/// Options of `keysweep git`: [`GitOptions::new`] with fields set.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GitOptions {
    pub selection: Selection,
    /// Scanning threads; 0 means one per core.
    pub threads: usize,
    /// How archives and compressed blobs are opened: exactly as for files (by the sink).
    pub archive: ArchiveOptions,
    /// The part of the blobs this run scans (`--shard K/N`), by the path each blob first
    /// appeared at: every version of a file falls in one part, so the oldest commit that
    /// introduced a credential at a path is found within one part and merged reports equal
    /// an unsharded one.
    pub shard: Shard,
    /// Nesting levels of encodings decoded (`--decode-depth`).
    pub decode_depth: u32,
}

impl GitOptions {
    /// The defaults for `selection`: one thread per core, archives opened as for files, the
    /// whole history (no shard), encodings decoded to the default depth.
    pub fn new(selection: Selection) -> GitOptions {
        GitOptions {
            selection,
            threads: 0,
            archive: ArchiveOptions::default(),
            shard: Shard::all(),
            decode_depth: crate::detect::decode::DEFAULT_DEPTH,
        }
    }
}

/// Splits `BASE..HEAD` (an empty HEAD means `HEAD`).
pub fn parse_range(range: &str) -> Result<(String, String), GitError> {
    let bad = || GitError::BadRange(range.to_string());
    let (base, head) = range.split_once("..").ok_or_else(bad)?;
    if base.is_empty() || head.starts_with('.') || head.contains("..") {
        return Err(bad());
    }
    let head = if head.is_empty() { "HEAD" } else { head };
    Ok((base.to_string(), head.to_string()))
}

/// Reads the repository at or above `path` and hands every blob `opts` selects to a sink
/// made by `sinks` (one per thread). Repository-wide warnings (a shallow clone, unreadable
/// refs) are the outcome's [`Outcome::notes`].
pub fn scan(sinks: &Sinks<'_>, path: &Path, opts: &GitOptions) -> Result<Outcome, GitError> {
    let started = Instant::now();
    tune_libgit2();
    let repo = Repository::discover(path).map_err(|e| GitError::NotARepository {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })?;
    let mut warnings = Vec::new();
    if repo.is_shallow() && opts.selection != Selection::Staged {
        warnings.push(format!(
            "{} is a shallow clone: commits before the shallow boundary are not in it and \
             were not scanned (`git fetch --unshallow` fetches them)",
            display_repo(&repo)
        ));
    }
    let mut out = match &opts.selection {
        Selection::History { all_objects } => {
            history::scan_history(sinks, &repo, *all_objects, opts, &mut warnings)?
        }
        Selection::Range { base, head } => {
            range::scan_range(sinks, &repo, base, head, opts, &mut warnings)?
        }
        Selection::Staged => staged::scan_staged(sinks, &repo, opts)?,
    };
    out.sort();
    out.stats.elapsed = started.elapsed();
    out.stats.blobs = true;
    out.notes = warnings;
    Ok(out)
}

/// The work tree (or, for a bare repository, the git directory) for messages.
fn display_repo(repo: &Repository) -> String {
    repo.workdir()
        .unwrap_or_else(|| repo.path())
        .display()
        .to_string()
}

/// Sets libgit2's process-wide options: no hash check on read, no object cache, and a bound
/// on the pack windows it maps.
/// Mapped pack pages count in the resident set, and libgit2's default (8 GiB of windows)
/// would let a large history's packs become resident whole.
fn tune_libgit2() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Reading does not re-hash objects (git's own readers do not either): hashing every
        // blob with collision detection cost a third of the scan time.
        git2::opts::strict_hash_verification(false);
        // The object cache keeps parsed trees (several times their packed size) and is no
        // use here: every tree is read once (see `Catalog::seen_trees`).
        git2::opts::enable_caching(false);
        // SAFETY: these calls set libgit2's global options; they must not race with other
        // libgit2 calls. They run once, before this module opens its first repository, and
        // the binary makes no libgit2 call from another thread before that point.
        unsafe {
            let _ = git2::opts::set_mwindow_size(32 * 1024 * 1024);
            let _ = git2::opts::set_mwindow_mapped_limit(128 * 1024 * 1024);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(
            parse_range("main..feature").unwrap(),
            ("main".to_string(), "feature".to_string())
        );
        assert_eq!(
            parse_range("abc123..").unwrap(),
            ("abc123".to_string(), "HEAD".to_string())
        );
        assert!(parse_range("main").is_err());
        assert!(parse_range("..x").is_err());
        assert!(parse_range("a...b").is_err());
    }
}
