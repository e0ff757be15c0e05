//! Walking files and directories in parallel with the `ignore` crate.
//!
//! Unlike ripgrep, hidden files and directories are walked (`.env`, `.aws/credentials`,
//! `.npmrc` are where keys live); `.git/` internals are not (history is `keysweep git`'s job).
//! `.gitignore` / `.ignore` / `.git/info/exclude` rules are respected unless `no_ignore`; the
//! user's global gitignore is not consulted, so a scan means the same on every machine.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ignore::{WalkBuilder, WalkState};

use super::InputError;

/// How to walk (non-exhaustive: start from the default).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WalkOptions {
    /// Include files that ignore rules exclude.
    pub no_ignore: bool,
    /// Follow symbolic links (loops are detected and reported, never followed forever).
    pub follow_links: bool,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Paths left out of the walk (`[scan] exclude`): an excluded directory is never read.
    pub exclude: Option<Exclude>,
}

/// Tells which paths a walk leaves out; counts the files and directories it left out (an
/// excluded directory counts once: what it holds is never read).
#[derive(Clone)]
pub struct Exclude {
    matches: Arc<dyn Fn(&Path) -> bool + Send + Sync>,
    count: Arc<AtomicU64>,
}

impl Exclude {
    /// Leaves out the paths (as the walk reaches them from its roots) `matches` is true of.
    pub fn new(matches: impl Fn(&Path) -> bool + Send + Sync + 'static) -> Exclude {
        Exclude {
            matches: Arc::new(matches),
            count: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Files and directories left out so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Exclude {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exclude")
            .field("count", &self.count())
            .finish_non_exhaustive()
    }
}

/// What the walk hands each worker.
pub enum WalkItem {
    File(PathBuf),
    Error(InputError),
    /// Something skipped that loses nothing, e.g. a symbolic link loop (its target is walked
    /// through the real path).
    Warning(InputError),
    /// A FIFO, socket or device met in a walk: not read (a read could block or never end),
    /// counted as not scanned.
    Skipped(InputError),
}

/// A walk of `roots`; `count_excluded` counts what `opts.exclude` leaves out (one of the two
/// walks of a scan does).
fn builder(
    roots: &[PathBuf],
    opts: &WalkOptions,
    respect_ignore: bool,
    count_excluded: bool,
) -> Option<WalkBuilder> {
    let (first, rest) = roots.split_first()?;
    let mut b = WalkBuilder::new(first);
    for root in rest {
        b.add(root);
    }
    b.hidden(false)
        .parents(respect_ignore)
        .ignore(respect_ignore)
        .git_ignore(respect_ignore)
        .git_exclude(respect_ignore)
        .git_global(false)
        .require_git(false)
        .follow_links(opts.follow_links)
        .threads(opts.threads);
    match opts.exclude.clone() {
        // The roots themselves are always walked (the ignore crate does not filter them):
        // a path named on the command line is read, and its findings filtered afterwards.
        Some(exclude) => b.filter_entry(move |entry| {
            if entry.file_name() == ".git" {
                return false;
            }
            let out = (exclude.matches)(entry.path());
            if out && count_excluded {
                exclude.count.fetch_add(1, Ordering::Relaxed);
            }
            !out
        }),
        None => b.filter_entry(|entry| entry.file_name() != ".git"),
    };
    Some(b)
}

fn walk_error(err: ignore::Error) -> InputError {
    // The ignore crate's errors carry the path in their text ("...: No such file ...").
    let (path, mut message) = split_path(&err);
    // Say what to do about the common cases.
    match err.io_error().map(std::io::Error::kind) {
        Some(std::io::ErrorKind::NotFound) => message.push_str(" (check the path)"),
        Some(std::io::ErrorKind::PermissionDenied) => {
            message.push_str(" (check its permissions, or run as a user who can read it)")
        }
        _ => {}
    }
    InputError { path, message }
}

fn is_loop(err: &ignore::Error) -> bool {
    match err {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        _ => false,
    }
}

fn split_path(err: &ignore::Error) -> (String, String) {
    match err {
        ignore::Error::WithPath { path, err } => (path.display().to_string(), err.to_string()),
        ignore::Error::WithDepth { err, .. } => split_path(err),
        ignore::Error::WithLineNumber { err, .. } => split_path(err),
        ignore::Error::Loop { child, ancestor } => (
            child.display().to_string(),
            format!("symbolic link loop back to {}", ancestor.display()),
        ),
        ignore::Error::Io(io) => (String::new(), io.to_string()),
        other => (String::new(), other.to_string()),
    }
}

/// Walks `roots` on `opts.threads` threads; `make_worker` builds one worker per thread,
/// which is handed every file (and every walk error) that thread reaches.
pub fn walk<'s, F>(roots: &[PathBuf], opts: &WalkOptions, make_worker: F)
where
    F: Fn() -> Box<dyn FnMut(WalkItem) + Send + 's> + Sync,
{
    let Some(b) = builder(roots, opts, !opts.no_ignore, true) else {
        return;
    };
    b.build_parallel().run(|| {
        let mut worker = make_worker();
        Box::new(move |entry| {
            match entry {
                Ok(entry) => {
                    let is_file = entry.file_type().is_some_and(|t| t.is_file())
                        || (entry.depth() == 0 && entry.path().is_file());
                    if is_file {
                        worker(WalkItem::File(entry.into_path()));
                    } else if let Some(kind) = entry.file_type().and_then(special_kind) {
                        worker(WalkItem::Skipped(InputError {
                            path: entry.path().display().to_string(),
                            message: format!(
                                "{kind} skipped in a directory walk (name it on the command \
                                 line to read it)"
                            ),
                        }));
                    }
                }
                Err(err) if is_loop(&err) => worker(WalkItem::Warning(walk_error(err))),
                Err(err) => worker(WalkItem::Error(walk_error(err))),
            }
            WalkState::Continue
        })
    });
}

/// Counts the files a walk without ignore rules would reach, to tell how many the rules
/// skipped. Reads directories only, never file contents.
pub fn count_files_without_ignore(roots: &[PathBuf], opts: &WalkOptions) -> u64 {
    let Some(b) = builder(roots, opts, false, false) else {
        return 0;
    };
    let count = AtomicU64::new(0);
    b.build_parallel().run(|| {
        Box::new(|entry| {
            if let Ok(entry) = entry {
                if entry.file_type().is_some_and(|t| t.is_file()) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            WalkState::Continue
        })
    });
    count.into_inner()
}

/// What kind of special file `t` is: FIFO, socket or device (None for files, directories,
/// symbolic links).
fn special_kind(t: std::fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("FIFO");
        }
        if t.is_socket() {
            return Some("socket");
        }
        if t.is_char_device() {
            return Some("character device");
        }
        if t.is_block_device() {
            return Some("block device");
        }
    }
    let _ = t;
    None
}

/// True when `path` (followed through symbolic links) exists and is neither a directory nor
/// a regular file: a FIFO, a device, `/dev/stdin` on a pipe, a process substitution. Such
/// an explicit input is read as a stream.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_dir() && !m.is_file())
}

/// True when `path` names stdin.
pub fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// File names whose presence means a walk may skip files.
const IGNORE_FILES: [&str; 2] = [".gitignore", ".ignore"];

/// True when `path` is an ignore-rules file.
pub fn is_ignore_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| IGNORE_FILES.iter().any(|f| n == *f))
}

/// True when a root or one of its parent directories holds ignore rules (an ignore file, or
/// a git repository with `info/exclude`) that a walk from that root applies.
pub fn ancestors_have_ignore_files(roots: &[PathBuf]) -> bool {
    roots.iter().any(|root| {
        let Ok(abs) = root.canonicalize() else {
            return false;
        };
        abs.ancestors().any(|dir| {
            IGNORE_FILES.iter().any(|f| dir.join(f).is_file())
                || dir.join(".git/info/exclude").is_file()
        })
    })
}
