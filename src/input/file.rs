//! Files and stdin as a source: a path is opened and told apart (a regular file, or anything
//! else that can be read, which is read as a stream), handed to the sink with its
//! [`Origin`], and checked for changes made while it was read.
//!
//! Inputs are read in pieces (see [`archive::scan_source`]), except a regular file larger
//! than one segment, which is mapped where the system allows it ([`super::mapped`]), guarded
//! so that a file truncated while it is read is an error for that file, not a SIGBUS that
//! ends the scan. (Git pack files are mapped too, in `input::git`.)

use std::fs::File;
use std::io;
use std::path::Path;

use super::archive::{self, ArchiveOptions, Source};
use super::{fs, pieces, FileOutcome, InputError, Sink};
use crate::finding::Origin;

/// Everything an input named on the command line yields: `-` is stdin, read as a stream;
/// anything else is a path (see [`read_path`]).
pub fn read_named(path: &Path, sink: &mut dyn Sink, opts: &ArchiveOptions) -> FileOutcome {
    if fs::is_stdin(path) {
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        sink.blob(Source::Stream(&mut lock), &Origin::file("-"))
    } else {
        read_path(path, sink, opts)
    }
}

/// Everything one path yields. A regular file is read front to back in pieces, or, when it
/// is larger than one segment and not an archive, mapped and scanned where it lies by the
/// sink's workers (see [`Sink::workers`], [`pieces::scan_file`]); it is an error when it
/// changed while being read (the findings made are kept). Anything else that can be opened (a FIFO, a device, `/dev/stdin`, a process
/// substitution) is handed over as a stream.
pub fn read_path(path: &Path, sink: &mut dyn Sink, opts: &ArchiveOptions) -> FileOutcome {
    // Lossless when the path is not UTF-8 (see `Origin::from_path`).
    let origin = Origin::from_path(path);
    let name = origin.path.clone();
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return FileOutcome::failed(&name, e.to_string()),
    };
    let before = match file.metadata() {
        Ok(m) => m,
        Err(e) => return FileOutcome::failed(&name, e.to_string()),
    };
    if !before.is_file() {
        return sink.blob(Source::Stream(&mut file), &origin);
    }
    let (mut out, shrank) = match read_large(&file, before.len(), &origin, &*sink, opts) {
        Some(large) => large,
        None => (sink.blob(Source::File(&mut file), &origin), false),
    };
    let after = file.metadata().ok();
    // Size and modification time as when it was opened. (The bytes read are not
    // compared: a refused stream or a limit stops reading early, and says so itself.)
    let same = after
        .as_ref()
        .is_some_and(|a| a.len() == before.len() && a.modified().ok() == before.modified().ok());
    if shrank {
        out.errors.push(InputError {
            path: name,
            message: SHRANK.to_string(),
        });
        out.unscanned += 1;
    } else if !same {
        let now = after.map_or(out.bytes, |a| a.len());
        out.errors.push(InputError {
            path: name,
            message: format!(
                "changed while being read ({} bytes when opened, {now} now): the findings \
                 made in it are kept; scan it again",
                before.len(),
            ),
        });
        out.unscanned += 1;
    }
    out
}

/// The error of a mapped file that shrank while it was scanned (see
/// [`super::mapped::Mapped::truncated`]).
const SHRANK: &str = "changed while being read: it shrank, and the bytes past its new end were \
                      read as zeros; the findings made in it are kept; scan it again";

/// A regular file (`len` bytes when opened) larger than one segment that is not an archive or
/// a compressed stream (nor a format keysweep names but cannot unpack): mapped (or read by
/// positioned reads) and scanned by the sink's workers (see [`pieces::scan_file`]), with the
/// findings,
/// notes and errors reading it front to back gives, and whether it shrank while mapped. None
/// when it is not such a file or the workers are not available: the caller hands it to the
/// sink to be read front to back.
#[cfg(unix)]
fn read_large(
    file: &File,
    len: u64,
    origin: &Origin,
    sink: &dyn Sink,
    opts: &ArchiveOptions,
) -> Option<(FileOutcome, bool)> {
    use std::os::unix::fs::FileExt;
    let (segment, overlap) = opts.segments();
    if len <= segment as u64 {
        return None;
    }
    let mut head = vec![0; 512];
    let n = file.read_at(&mut head, 0).ok()?;
    head.truncate(n);
    if opts.depth > 0 && (archive::sniff(&head).is_some() || archive::unsupported(&head).is_some())
    {
        return None;
    }
    let workers = sink.workers()?;
    let scanned = pieces::scan_file(file, len, origin, &workers, (segment, overlap))?;
    let mut out = FileOutcome {
        findings: scanned.findings,
        bytes: scanned.bytes,
        warnings: scanned.warnings,
        ..FileOutcome::default()
    };
    if let Err(e) = scanned.result {
        out.errors.push(InputError {
            path: origin.name(),
            message: format!("cannot read: {e}"),
        });
        out.unscanned += 1;
    }
    Some((out, scanned.shrank))
}

#[cfg(not(unix))]
fn read_large(
    _: &File,
    _: u64,
    _: &Origin,
    _: &dyn Sink,
    _: &ArchiveOptions,
) -> Option<(FileOutcome, bool)> {
    None
}
