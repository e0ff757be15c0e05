//! What scanning produced, one type per level: [`FileOutcome`] for one input (a file, a
//! stream, a git blob, an S3 object, with everything in it when it is an archive), and
//! [`Outcome`] with its [`Stats`] for a whole scan. Every source returns these, whatever it
//! reads from.

use std::time::Duration;

use super::InputError;
use crate::finding::Finding;

/// Counters for the summary line.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Inputs scanned: files, or git blobs when [`Self::blobs`].
    pub files: u64,
    /// The inputs were git blobs (for the summary's wording).
    pub blobs: bool,
    pub bytes: u64,
    /// Files the ignore rules kept out of the scan (None when not counted).
    pub ignored: Option<u64>,
    /// Files and directories `[scan] exclude` kept out of the walk (a directory counts once:
    /// it is never read).
    pub excluded: u64,
    pub elapsed: Duration,
    /// Archives and compressed streams opened (nested ones included).
    pub archives: u64,
    /// Bytes they decompressed to.
    pub decompressed: u64,
    /// Things not scanned, or not completely: inputs that could not be read, members past a
    /// limit, encrypted or unsupported members, refused streams, special files skipped in a
    /// walk, corrupt data. Any makes a scan without findings exit 2.
    pub unscanned: u64,
    /// What the S3 part of the scan did (requests, bytes downloaded, objects not scanned).
    pub s3: Option<S3Stats>,
}

/// What the S3 part of a scan did, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3Stats {
    /// ListObjectsV2 / ListObjectVersions requests.
    pub list_requests: u64,
    /// GetObject requests (ranged reads of zips included).
    pub get_requests: u64,
    /// HeadBucket and GetBucketLocation requests (finding regions).
    pub other_requests: u64,
    /// Body bytes downloaded.
    pub bytes_read: u64,
    /// Objects (or versions) scanned.
    pub objects: u64,
    /// Objects in Glacier / Deep Archive storage: not scanned.
    pub archived: u64,
    /// Keys left out by `--include` / `--exclude` (or the shard).
    pub filtered: u64,
    /// Objects that could not be read (each one is an error).
    pub failed: u64,
    /// Listed objects not scanned because the run was interrupted.
    pub interrupted: u64,
    /// The run was interrupted (Ctrl-C).
    pub was_interrupted: bool,
}

impl S3Stats {
    /// Objects listed for scanning that were not scanned.
    pub fn not_scanned(&self) -> u64 {
        self.archived + self.failed + self.interrupted
    }
}

/// Everything a scan produced.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub errors: Vec<InputError>,
    /// Notes that lose nothing (a symbolic link loop, ...).
    pub warnings: Vec<InputError>,
    /// What was not scanned, and why (counted in [`Stats::unscanned`] with the errors).
    pub skipped: Vec<InputError>,
    /// Notes about the source as a whole rather than one input in it (a shallow git clone,
    /// a reference that points nowhere), shown before everything else.
    pub notes: Vec<String>,
    pub stats: Stats,
}

impl Outcome {
    /// True when something was not scanned (completely).
    pub fn incomplete(&self) -> bool {
        self.stats.unscanned > 0 || !self.errors.is_empty() || !self.skipped.is_empty()
    }

    /// Adds the outcome of another part of the same scan (local paths and S3 objects), keeping
    /// findings and errors in report order.
    pub fn merge(&mut self, other: Outcome) {
        self.findings.extend(other.findings);
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        for (mine, theirs) in [
            (&mut self.errors, other.errors),
            (&mut self.warnings, other.warnings),
            (&mut self.skipped, other.skipped),
        ] {
            mine.extend(theirs);
            mine.sort_by(|a, b| a.path.cmp(&b.path));
        }
        self.notes.extend(other.notes);
        let (s, o) = (&mut self.stats, other.stats);
        s.files += o.files;
        s.bytes += o.bytes;
        s.ignored = match (s.ignored, o.ignored) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        s.excluded += o.excluded;
        s.elapsed = s.elapsed.max(o.elapsed);
        s.archives += o.archives;
        s.decompressed += o.decompressed;
        s.unscanned += o.unscanned;
        if o.s3.is_some() {
            s.s3 = o.s3;
        }
    }

    /// Takes in what one input left besides its findings (errors, notes, what was not
    /// scanned, archive counters) and returns its findings. The input itself is counted
    /// (files, bytes) by the caller, which knows what it read.
    pub fn absorb(&mut self, input: FileOutcome) -> Vec<Finding> {
        self.errors.extend(input.errors);
        self.warnings.extend(input.warnings);
        self.skipped.extend(input.skipped);
        self.stats.unscanned += input.unscanned;
        self.stats.archives += input.archives;
        self.stats.decompressed += input.decompressed;
        input.findings
    }

    /// Sorts findings, and errors, warnings and what was skipped by path: the order of a
    /// report, whatever order threads finished in.
    pub fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.errors.sort_by(|a, b| a.path.cmp(&b.path));
        self.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        self.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    }
}

/// Everything scanning one input produced, nested archive members included.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct FileOutcome {
    pub findings: Vec<Finding>,
    /// Bytes read from the input itself.
    pub bytes: u64,
    /// Archives and compressed streams opened, nested ones included.
    pub archives: u64,
    /// Bytes decompressed.
    pub decompressed: u64,
    /// Notes that lose nothing (a nested zip read from its local headers, ...).
    pub warnings: Vec<InputError>,
    /// What was not scanned, and why: limits reached, encrypted or unsupported members,
    /// refused decoder windows, nesting past the depth.
    pub skipped: Vec<InputError>,
    /// How many things [`Self::skipped`] and [`Self::errors`] stand for (one warning may name
    /// many members past a limit; see [`Stats::unscanned`]).
    pub unscanned: u64,
    /// Inputs that could not be read, corrupt or truncated data.
    pub errors: Vec<InputError>,
}

impl FileOutcome {
    /// An input that could not be read at all.
    pub fn failed(path: &str, message: String) -> FileOutcome {
        FileOutcome {
            errors: vec![InputError {
                path: path.to_string(),
                message,
            }],
            unscanned: 1,
            ..FileOutcome::default()
        }
    }
}

/// Watches a scan's progress; called from the worker threads.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// One input is done: its size on disk, findings, and archives opened in it.
    fn file_done(&self, bytes: u64, findings: usize, archives: u64);
}
