//! Where bytes come from: files and directories (walked in parallel, [`fs`]; each file or
//! stdin opened and read, [`file`]), archive members and compressed streams ([`archive`]),
//! git history ([`git`]), S3 buckets ([`s3`]); a large input's segments handed to the
//! sink's worker threads ([`pieces`]), a large regular file mapped where it lies ([`mapped`]).
//!
//! Every source yields blobs of bytes together with an [`Origin`] that says where they came
//! from, and hands them to a [`Sink`]; the detector never sees a path. What the sink returns
//! is gathered into one result type per level ([`outcome`]).

pub mod archive;
pub mod file;
pub mod fs;
#[cfg(feature = "git")]
pub mod git;
#[cfg(unix)]
pub mod mapped;
pub mod outcome;
pub mod pieces;
#[cfg(feature = "git")]
pub mod remote;
#[cfg(feature = "verify")]
pub mod s3;

use serde::Serialize;

use crate::finding::Origin;
pub use outcome::{FileOutcome, Outcome};

/// Where a source hands each blob it produces, with the blob's origin. In a scan this is the
/// scanner (`scan::ScanSink`), which turns the blob into findings: a source reads bytes and
/// says where they came from, and never runs the detector itself.
pub trait Sink {
    /// Everything one input yields: its findings, what in it could not be read, counters.
    fn blob(&mut self, source: archive::Source<'_>, origin: &Origin) -> FileOutcome;

    /// Scanners for worker threads, so that a regular file larger than one segment has its
    /// segments read and scanned on several threads ([`file::read_path`]); None (the
    /// default): every input is handed to [`Self::blob`].
    fn workers(&self) -> Option<pieces::Workers<'_>> {
        None
    }
}

/// The cores this process may run on, asked of the system once: the question reads the
/// cgroup files under `/proc` and `/sys` each time (a dozen system calls), which, asked per
/// file, was a fifth of a source tree's system calls.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Makes one [`Sink`] for each worker thread of a source that reads on several threads.
pub type Sinks<'a> = dyn Fn() -> Box<dyn Sink + 'a> + Sync + 'a;

/// An input that could not be read: reported with its path, and the scan goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    pub path: String,
    pub message: String,
}

/// Shown escaped for the terminal (see [`crate::term`]): the path and the message may both
/// come from scanned data (file and member names, archive library messages).
impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            crate::term::escape(&self.path),
            crate::term::escape(&self.message)
        )
    }
}
