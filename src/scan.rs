//! The scanner, and the wiring of one scan: sources -> scanner (detector and decoders) ->
//! findings, on many threads.
//!
//! Each worker thread owns a [`BlobScanner`] (detector state and read buffer, reused for every
//! file), which is the [`Sink`](crate::input::Sink) the sources hand their blobs to: git and
//! S3 read on their own threads ([`ScanSink`], through [`scan_git`] and [`scan_s3`]); files
//! and stdin are opened and read by [`input::file`](crate::input::file) on the walk's threads
//! ([`scan_paths`]). The scanner never opens anything: it scans what it is handed. Findings
//! and errors are gathered, then sorted, so the output does not depend on the thread count.

use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::allow;
use crate::detect::awscache;
use crate::detect::decode::{self, office, pdf, sqlite, DecodeState};
use crate::detect::encoded::TapKind;
use crate::detect::{Detector, ScanState};
use crate::finding::{self, Finding, KeyType, Origin};
use crate::input::archive::{self, ArchiveOptions, Source};
use crate::input::fs::{self, WalkItem, WalkOptions};
#[cfg(feature = "git")]
use crate::input::git::{self, GitError, GitOptions};
use crate::input::pieces::{self, Workers};
#[cfg(feature = "verify")]
use crate::input::s3::{self, S3Error, Target};
use crate::input::{InputError, Sink};
use crate::shard::Shard;

pub use crate::input::outcome::{FileOutcome, Observer, Outcome, Stats};

/// Largest piece the detector is handed at once within a segment (see [`CACHE_PIECE`]).
pub const CHUNK: usize = 16 * 1024 * 1024;

/// Bytes scanned per detector call: both passes over a piece (keywords, then decoding
/// triggers) read it from cache.
const CACHE_PIECE: usize = 256 * 1024;

/// Options of `keysweep scan`. Non-exhaustive: start from `ScanOptions::default()` and set
/// the fields you need.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScanOptions {
    pub walk: WalkOptions,
    /// Size of the pieces the detector looks at within a segment (tests lower it to exercise
    /// piece boundaries).
    pub chunk: usize,
    /// How archives and compressed files are opened (depth 0: scanned as raw bytes), and the
    /// segment size every input is read in.
    pub archive: ArchiveOptions,
    /// Nesting levels of encodings decoded (`--decode-depth`).
    pub decode_depth: u32,
    /// Told about each file as it is done (the progress bar).
    pub observer: Option<Arc<dyn Observer>>,
    /// The part of the inputs this run scans (`--shard K/N`), by each file's path as reached
    /// from the scan roots (`-` for stdin).
    pub shard: Shard,
    /// Threads that scan the segments of one input larger than a segment (a big file, a
    /// stream, a decompressed dump) while the thread reading it goes on reading: 0 uses
    /// `walk.threads` (one per core when that is 0 too), 1 scans them on the reading thread.
    pub segment_threads: usize,
    /// The one input at a time whose segments are scanned by workers (shared by clones).
    pub pipeline: pieces::PipelineSlot,
}

impl ScanOptions {
    /// Threads scanning the segments of one large input (see [`Self::segment_threads`]).
    fn segment_workers(&self) -> usize {
        match (self.segment_threads, self.walk.threads) {
            (0, 0) => crate::input::cores(),
            (0, n) | (n, _) => n,
        }
    }
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            walk: WalkOptions::default(),
            chunk: CHUNK,
            archive: ArchiveOptions::default(),
            decode_depth: decode::DEFAULT_DEPTH,
            observer: None,
            shard: Shard::all(),
            segment_threads: 0,
            pipeline: pieces::PipelineSlot::default(),
        }
    }
}

/// Scans blobs one after another, reusing its buffers.
pub struct BlobScanner<'d> {
    detector: &'d Detector,
    state: ScanState,
    decode: DecodeState,
    /// Segment buffer for transcoded UTF-16.
    segment: Vec<u8>,
    /// Segment buffer for archive members.
    archive_segment: Vec<u8>,
    /// Offsets of `startUrl` in the blob being scanned (AWS CLI SSO token cache entries).
    sso_hits: Vec<usize>,
    /// What document readers could not scan, for the input's outcome.
    warnings: Vec<InputError>,
    chunk: usize,
    /// Nesting levels of encodings `decode` was built for.
    decode_depth: u32,
}

impl<'d> BlobScanner<'d> {
    pub fn new(detector: &'d Detector) -> Self {
        BlobScanner {
            detector,
            state: ScanState::default(),
            decode: DecodeState::default(),
            segment: Vec::new(),
            archive_segment: Vec::new(),
            sso_hits: Vec::new(),
            warnings: Vec::new(),
            chunk: CHUNK,
            decode_depth: decode::DEFAULT_DEPTH,
        }
    }

    /// Decodes up to `depth` nested levels of encodings (default [`decode::DEFAULT_DEPTH`]).
    pub fn with_decode_depth(mut self, depth: u32) -> Self {
        self.decode = DecodeState::new(depth);
        self.decode_depth = depth;
        self
    }

    /// Findings in a blob held in memory, including those behind an encoding (UTF-16,
    /// base64, URL-encoding, JSON escapes; see [`crate::detect::decode`]). Archives are not
    /// opened: this is what every blob (file piece, archive member) ends in.
    pub fn scan_bytes(&mut self, data: &[u8], origin: &Origin) -> Vec<Finding> {
        let mut findings = self.scan_pieces(data, origin);
        // A whole blob in memory (a file's segment, an archive member, a git blob): the
        // documents it holds are read too.
        self.scan_document(data, origin, &mut findings);
        if let Some(encoding) = decode::sniff_utf16(data) {
            let origin = Origin {
                decoded_from: Some(encoding.as_str().to_string()),
                ..origin.clone()
            };
            let mut reader = decode::Utf16Reader::new(data, encoding);
            let mut segment = std::mem::take(&mut self.segment);
            let (found, _) = archive::scan_stream(
                &mut reader,
                &origin,
                &mut |d, o| self.scan_pieces(d, o),
                &mut segment,
            );
            self.segment = segment;
            decode::merge_decoded(&mut findings, found);
        }
        findings
    }

    /// Documents that hide text from a plain scan: PDF streams (inflated, and the text they
    /// draw), SQLite tables (row by row), Office/ODF XML parts (runs of a paragraph joined).
    /// Each PDF stream and SQLite table is scanned like an archive member (`report.pdf!stream
    /// 12`, `app.db!table users`); what they reveal is added to `findings`.
    fn scan_document(&mut self, data: &[u8], origin: &Origin, findings: &mut Vec<Finding>) {
        let decoded = |origin: Origin, how: &str| Origin {
            decoded_from: Some(match &origin.decoded_from {
                Some(outer) => format!("{outer}{}{how}", decode::CHAIN_SEPARATOR),
                None => how.to_string(),
            }),
            ..origin
        };
        if pdf::sniff(data) {
            let read = pdf::read(data);
            for part in read.parts {
                let mut o = origin.member(&part.name);
                if part.text {
                    o = decoded(o, "pdf-text");
                }
                let found = self.scan_pieces(&part.bytes, &o);
                decode::merge_decoded(findings, found);
            }
            if !read.not_scanned.is_empty() {
                let path = match &origin.archive_member {
                    Some(m) => format!("{}!{m}", origin.path),
                    None => origin.path.clone(),
                };
                self.warnings.push(InputError {
                    path,
                    message: format!(
                        "PDF streams not scanned (filters keysweep does not decode): {}",
                        read.not_scanned.join(", ")
                    ),
                });
            }
        } else if sqlite::sniff(data) {
            for table in sqlite::read(data) {
                let o = origin.member(&format!("table {}", table.name));
                let found = self.scan_pieces(&table.text, &o);
                decode::merge_decoded(findings, found);
            }
        } else if office::sniff(data) {
            let text = office::text(data);
            let o = decoded(origin.clone(), "office-text");
            let found = self.scan_pieces(&text, &o);
            decode::merge_decoded(findings, found);
        }
    }

    /// Findings in a blob, scanned in pieces that stay in cache between the detector's pass
    /// and the decoders' pass.
    fn scan_pieces(&mut self, data: &[u8], origin: &Origin) -> Vec<Finding> {
        let detector = self.detector;
        self.state.clear();
        self.decode.clear();
        self.sso_hits.clear();
        let step = self.chunk.clamp(1, CACHE_PIECE);
        let mut start = 0;
        loop {
            let end = data.len().min(start + step);
            detector.scan_range(data, start..end, &mut self.state);
            self.decode.collect(data, self.state.taps());
            self.sso_hits.extend(
                self.state
                    .taps()
                    .iter()
                    .filter(|t| t.kind == TapKind::SsoCache)
                    .map(|t| t.start),
            );
            self.state.clear_taps();
            if end >= data.len() {
                break;
            }
            start = end;
        }
        let matches = detector.finish(data, &mut self.state);
        let mut findings = Vec::new();
        if !matches.is_empty() {
            // `finish` returns matches in offset order, which `locate` needs.
            let offsets: Vec<usize> = matches.iter().map(|m| m.offset).collect();
            let positions = finding::locate(data, &offsets, |_| {});
            findings = matches
                .iter()
                .zip(positions)
                .map(|(m, position)| {
                    let mut finding =
                        Finding::from_match(detector.rule_id(m.rule), m, origin, position);
                    finding.inline_allowed = allow::allowed(data, m);
                    // Cached temporary credentials say when they expire.
                    if finding.key_type == Some(KeyType::Temporary) {
                        if let Some(expiry) = awscache::expiration_near(data, m.offset) {
                            finding.set_expiry(expiry, unix_now());
                        }
                    }
                    finding
                })
                .collect();
        }
        if !self.sso_hits.is_empty() {
            let tokens = awscache::sso_tokens(data, &self.sso_hits);
            let offsets: Vec<usize> = tokens.iter().map(|t| t.offset).collect();
            let positions = finding::locate(data, &offsets, |_| {});
            findings.extend(
                tokens
                    .iter()
                    .zip(positions)
                    .map(|(t, at)| Finding::from_sso(t, origin, at, unix_now())),
            );
        }
        self.decode.rescan(detector, data, origin, &mut findings);
        findings
    }

    /// Findings in one file (archive warnings and errors are dropped: see [`Self::scan_path`]).
    pub fn scan_file(
        &mut self,
        path: &std::path::Path,
        opts: &ScanOptions,
    ) -> Result<(Vec<Finding>, u64), InputError> {
        let mut out = self.scan_path(path, opts);
        match out.errors.pop() {
            Some(e) if out.bytes == 0 && out.findings.is_empty() => Err(e),
            _ => Ok((out.findings, out.bytes)),
        }
    }

    /// Everything one path yields, read by [`input::file::read_path`](crate::input::file):
    /// a regular file, or anything else that can be opened, read as a stream.
    pub fn scan_path(&mut self, path: &std::path::Path, opts: &ScanOptions) -> FileOutcome {
        crate::input::file::read_path(path, &mut self.sink(opts), &opts.archive)
    }

    /// This scanner with the options of one scan, as the [`Sink`] a source hands its blobs
    /// to (without a panic guard: its caller holds one, see [`Self::guarded`]).
    fn sink<'s>(&'s mut self, opts: &'s ScanOptions) -> Scanning<'s, 'd> {
        Scanning {
            scanner: self,
            opts,
        }
    }

    /// Everything a stream of bytes yields (stdin, a pipe, an object body fetched from
    /// storage): read in bounded pieces, opened as an archive or compressed stream when its
    /// magic bytes say so, with every limit of [`ArchiveOptions`]. The reusable entry point
    /// for sources that produce bytes one read at a time.
    pub fn scan_reader(
        &mut self,
        reader: &mut dyn Read,
        origin: &Origin,
        opts: &ScanOptions,
    ) -> FileOutcome {
        self.scan_source(Source::Stream(reader), origin, opts)
    }

    /// Everything one input yields, whatever it comes from (file, stream, git blob held in
    /// memory): the one path every input takes, so they cannot drift apart.
    pub fn scan_source(
        &mut self,
        source: Source<'_>,
        origin: &Origin,
        opts: &ScanOptions,
    ) -> FileOutcome {
        self.chunk = opts.chunk;
        if self.decode_depth != opts.decode_depth {
            self.decode = DecodeState::new(opts.decode_depth);
            self.decode_depth = opts.decode_depth;
        }
        let mut segment = std::mem::take(&mut self.archive_segment);
        let workers = workers(self.detector, opts);
        // Each segment's findings, and what document readers could not scan in it (PDF
        // streams with unknown filters).
        let mut scan = |data: &[u8], origin: &Origin| {
            let found = self.scan_bytes(data, origin);
            (found, std::mem::take(&mut self.warnings))
        };
        let out = archive::scan_source(
            source,
            origin,
            &opts.archive,
            &mut scan,
            Some(&workers),
            &mut segment,
        );
        self.archive_segment = segment;
        out
    }

    /// Runs `scan` on this scanner; a panic in it (a bug) becomes an error naming `name`,
    /// and the scanner is rebuilt so the next input starts clean.
    pub fn guarded(
        &mut self,
        name: &str,
        scan: impl FnOnce(&mut BlobScanner<'d>) -> FileOutcome,
    ) -> FileOutcome {
        let run = AssertUnwindSafe(|| {
            if test_panic().is_some_and(|p| name.ends_with(p)) {
                panic!("KEYSWEEP_TEST_PANIC names this input");
            }
            scan(self)
        });
        match panic::catch_unwind(run) {
            Ok(out) => out,
            Err(payload) => {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                *self = BlobScanner::new(self.detector)
                    .with_chunk(self.chunk)
                    .with_decode_depth(self.decode_depth);
                FileOutcome::failed(
                    name,
                    format!(
                        "internal error while scanning this input ({what}); it was not scanned \
                         completely, the rest of the scan went on. Please report this bug."
                    ),
                )
            }
        }
    }

    /// Sets the detector's piece size.
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk;
        self
    }
}

/// The scanners of the worker threads that scan the segments of one large input (see
/// [`pieces`]): each built like the calling one (`detector`, piece size, decoding depth of
/// `opts`), handing back its findings and document notes per segment.
fn workers<'w>(detector: &'w Detector, opts: &'w ScanOptions) -> Workers<'w> {
    let (chunk, depth) = (opts.chunk, opts.decode_depth);
    Workers {
        make: Box::new(move || -> Box<pieces::SegmentFn<'w>> {
            let mut scanner = BlobScanner::new(detector)
                .with_chunk(chunk)
                .with_decode_depth(depth);
            Box::new(move |data: &[u8], origin: &Origin| {
                let found = scanner.scan_bytes(data, origin);
                (found, std::mem::take(&mut scanner.warnings))
            })
        }),
        threads: opts.segment_workers(),
        slot: &opts.pipeline,
    }
}

/// A [`BlobScanner`] with the options of one scan, as the [`Sink`] of a source that reads on
/// the scanner's thread (the file source): no panic guard of its own.
struct Scanning<'s, 'd> {
    scanner: &'s mut BlobScanner<'d>,
    opts: &'s ScanOptions,
}

impl Sink for Scanning<'_, '_> {
    fn blob(&mut self, source: Source<'_>, origin: &Origin) -> FileOutcome {
        self.scanner.scan_source(source, origin, self.opts)
    }

    fn workers(&self) -> Option<Workers<'_>> {
        Some(workers(self.scanner.detector, self.opts))
    }
}

/// The input name suffix `KEYSWEEP_TEST_PANIC` names: scanning it panics, so the tests can
/// show a bug in one input costs only that input. Set by the operator, never by scanned data.
fn test_panic() -> Option<&'static str> {
    static VALUE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    VALUE
        .get_or_init(|| {
            std::env::var("KEYSWEEP_TEST_PANIC")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .as_deref()
}

/// Scans files and directories (`-` is stdin). Every explicit input is read: a path that
/// is neither a directory nor a regular file (a FIFO, a device, `/dev/stdin`, `<(cmd)`) is
/// read as a stream. In a directory walk, FIFOs, sockets and devices are skipped (a read
/// could hang or never end) and counted as not scanned.
pub fn scan_paths(detector: &Detector, roots: &[PathBuf], opts: &ScanOptions) -> Outcome {
    let started = Instant::now();
    let totals = Totals::default();
    // Files the walk reached, scanned or not: compared with an ignore-free walk.
    let reached = AtomicU64::new(0);

    let (streams, paths): (Vec<&PathBuf>, Vec<&PathBuf>) = roots
        .iter()
        .partition(|p| fs::is_stdin(p) || fs::is_special(p));
    // A shard takes a stream by its name as reported ("-" for stdin), like a file.
    let streams: Vec<&PathBuf> = streams
        .into_iter()
        .filter(|p| {
            let name = if fs::is_stdin(p) {
                &b"-"[..]
            } else {
                p.as_os_str().as_encoded_bytes()
            };
            opts.shard.contains(name)
        })
        .collect();
    if !streams.is_empty() {
        let mut scanner = BlobScanner::new(detector);
        for path in streams {
            let name = path.display().to_string();
            let out = scanner.guarded(&name, |scanner| {
                crate::input::file::read_named(path, &mut scanner.sink(opts), &opts.archive)
            });
            totals.add(out, opts);
        }
    }
    let paths: Vec<PathBuf> = paths.into_iter().cloned().collect();
    let mut ignored = None;
    if !paths.is_empty() {
        let saw_ignore_file = AtomicBool::new(fs::ancestors_have_ignore_files(&paths));
        fs::walk(&paths, &opts.walk, || {
            let mut scanner = BlobScanner::new(detector).with_decode_depth(opts.decode_depth);
            let (totals, reached, saw_ignore_file) = (&totals, &reached, &saw_ignore_file);
            Box::new(move |item| match item {
                WalkItem::File(path) => {
                    reached.fetch_add(1, Ordering::Relaxed);
                    if fs::is_ignore_file(&path) {
                        saw_ignore_file.store(true, Ordering::Relaxed);
                    }
                    if opts.shard.contains(path.as_os_str().as_encoded_bytes()) {
                        let name = path.display().to_string();
                        let out = scanner.guarded(&name, |s| s.scan_path(&path, opts));
                        totals.add(out, opts);
                    }
                }
                WalkItem::Error(e) => {
                    totals.unscanned.fetch_add(1, Ordering::Relaxed);
                    lock(&totals.errors).push(e)
                }
                WalkItem::Warning(w) => lock(&totals.warnings).push(w),
                WalkItem::Skipped(w) => {
                    totals.unscanned.fetch_add(1, Ordering::Relaxed);
                    lock(&totals.skipped).push(w)
                }
            })
        });
        // Only a tree with ignore files can have ignored files: count them with a second,
        // directory-only walk, and only then.
        if !opts.walk.no_ignore {
            ignored = Some(if saw_ignore_file.into_inner() {
                let all = fs::count_files_without_ignore(&paths, &opts.walk);
                all.saturating_sub(reached.load(Ordering::Relaxed))
            } else {
                0
            });
        }
    }
    let by_path = |v: Mutex<Vec<InputError>>| {
        let mut v = v.into_inner().unwrap_or_else(|p| p.into_inner());
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    };
    let mut findings = totals
        .findings
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Outcome {
        findings,
        errors: by_path(totals.errors),
        warnings: by_path(totals.warnings),
        skipped: by_path(totals.skipped),
        stats: Stats {
            files: totals.files.into_inner(),
            bytes: totals.bytes.into_inner(),
            ignored,
            excluded: opts.walk.exclude.as_ref().map_or(0, |e| e.count()),
            elapsed: started.elapsed(),
            archives: totals.archives.into_inner(),
            decompressed: totals.decompressed.into_inner(),
            unscanned: totals.unscanned.into_inner(),
            blobs: false,
            s3: None,
        },
        notes: Vec::new(),
    }
}

/// A [`BlobScanner`] as the [`Sink`] sources hand their blobs to: each blob is scanned as a
/// file with the same bytes is (archives, compression, nesting, limits, encodings), and a
/// panic in it costs only that blob.
pub struct ScanSink<'d, 'o> {
    scanner: BlobScanner<'d>,
    opts: &'o ScanOptions,
}

impl<'d, 'o> ScanSink<'d, 'o> {
    pub fn new(detector: &'d Detector, opts: &'o ScanOptions) -> Self {
        ScanSink {
            scanner: BlobScanner::new(detector),
            opts,
        }
    }
}

impl Sink for ScanSink<'_, '_> {
    fn blob(&mut self, source: Source<'_>, origin: &Origin) -> FileOutcome {
        let opts = self.opts;
        self.scanner
            .guarded(&origin.name(), |s| s.scan_source(source, origin, opts))
    }
}

/// Scans the git repository at or above `path` (its history, a range or the staged changes:
/// see [`git`]), each blob read once and scanned like a file.
#[cfg(feature = "git")]
pub fn scan_git(
    detector: &Detector,
    path: &std::path::Path,
    opts: &GitOptions,
) -> Result<Outcome, GitError> {
    let scan_opts = ScanOptions {
        archive: opts.archive,
        decode_depth: opts.decode_depth,
        ..ScanOptions::default()
    };
    let sinks = || Box::new(ScanSink::new(detector, &scan_opts)) as Box<dyn Sink + '_>;
    git::scan(&sinks, path, opts)
}

/// Scans S3 objects (see [`s3`]), each read as a stream and scanned like a file: findings
/// sorted, one error per object or bucket that could not be read.
#[cfg(feature = "verify")]
pub fn scan_s3(
    detector: &Detector,
    targets: &[Target],
    opts: &ScanOptions,
    s3_opts: &s3::Options,
) -> Result<Outcome, S3Error> {
    let sinks = || Box::new(ScanSink::new(detector, opts)) as Box<dyn Sink + '_>;
    s3::scan(
        &sinks,
        targets,
        opts.shard,
        opts.observer.as_deref(),
        s3_opts,
    )
}

/// What the worker threads gather.
#[derive(Default)]
struct Totals {
    findings: Mutex<Vec<Finding>>,
    errors: Mutex<Vec<InputError>>,
    warnings: Mutex<Vec<InputError>>,
    skipped: Mutex<Vec<InputError>>,
    unscanned: AtomicU64,
    files: AtomicU64,
    bytes: AtomicU64,
    archives: AtomicU64,
    decompressed: AtomicU64,
}

impl Totals {
    fn add(&self, out: FileOutcome, opts: &ScanOptions) {
        // An input that could not be read at all is an error, not a scanned file.
        if !(out.bytes == 0 && out.findings.is_empty() && !out.errors.is_empty()) {
            self.files.fetch_add(1, Ordering::Relaxed);
        }
        self.bytes.fetch_add(out.bytes, Ordering::Relaxed);
        self.archives.fetch_add(out.archives, Ordering::Relaxed);
        self.decompressed
            .fetch_add(out.decompressed, Ordering::Relaxed);
        self.unscanned.fetch_add(out.unscanned, Ordering::Relaxed);
        if let Some(observer) = &opts.observer {
            observer.file_done(out.bytes, out.findings.len(), out.archives);
        }
        if !out.findings.is_empty() {
            lock(&self.findings).extend(out.findings);
        }
        if !out.errors.is_empty() {
            lock(&self.errors).extend(out.errors);
        }
        if !out.warnings.is_empty() {
            lock(&self.warnings).extend(out.warnings);
        }
        if !out.skipped.is_empty() {
            lock(&self.skipped).extend(out.skipped);
        }
    }
}

/// The current time in Unix seconds (expiry of cached credentials is judged against it).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
