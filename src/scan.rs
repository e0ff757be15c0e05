//! Wiring of the stages for one scan: inputs -> detector -> findings, on many threads.
//!
//! Each worker thread owns a [`BlobScanner`] (detector state and read buffer, reused for every
//! file); findings and errors are gathered, then sorted, so the output does not depend on the
//! thread count.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::allow;
use crate::detect::awscache;
use crate::detect::encoded::TapKind;
use crate::detect::{Detector, ScanState};
use crate::finding::{self, Finding, KeyType};
use crate::input::archive::{self, ArchiveOptions};
use crate::input::decode::{self, DecodeState};
use crate::input::file::{self, Contents};
use crate::input::fs::{self, WalkItem, WalkOptions};
use crate::input::{office, pdf, sqlite, InputError, Origin};

/// Size of the pieces a mapped file is scanned in; each piece's pages are released after.
pub const CHUNK: usize = 16 * 1024 * 1024;

/// Bytes scanned per detector call: both passes over a piece (keywords, then decoding
/// triggers) read it from cache.
const CACHE_PIECE: usize = 256 * 1024;

/// Options of `keysweep scan`.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub walk: WalkOptions,
    pub mmap_threshold: u64,
    /// Piece size for mapped files (tests lower it to exercise piece boundaries).
    pub chunk: usize,
    /// How archives and compressed files are opened (depth 0: scanned as raw bytes).
    pub archive: ArchiveOptions,
    /// Nesting levels of encodings decoded (`--decode-depth`).
    pub decode_depth: u32,
    /// Told about each file as it is done (the progress bar).
    pub observer: Option<Arc<dyn Observer>>,
}

/// Watches a scan's progress; called from the worker threads.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// One input is done: its size on disk, findings, and archives opened in it.
    fn file_done(&self, bytes: u64, findings: usize, archives: u64);
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            walk: WalkOptions::default(),
            mmap_threshold: file::MMAP_THRESHOLD,
            chunk: CHUNK,
            archive: ArchiveOptions::default(),
            decode_depth: decode::DEFAULT_DEPTH,
            observer: None,
        }
    }
}

/// Counters for the summary line.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Inputs scanned: files, or git blobs when [`Self::blobs`].
    pub files: u64,
    /// The inputs were git blobs (for the summary's wording).
    pub blobs: bool,
    pub bytes: u64,
    /// Files the ignore rules kept out of the scan (None when not counted).
    pub ignored: Option<u64>,
    pub elapsed: Duration,
    /// Archives and compressed streams opened (nested ones included).
    pub archives: u64,
    /// Bytes they decompressed to.
    pub decompressed: u64,
}

/// Everything a scan produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub errors: Vec<InputError>,
    /// Inputs scanned only in part: archive limits reached, encrypted members, ...
    pub warnings: Vec<InputError>,
    pub stats: Stats,
}

/// Everything scanning one input produced.
#[derive(Debug, Default)]
pub struct FileOutcome {
    pub findings: Vec<Finding>,
    /// Size of the input as read.
    pub bytes: u64,
    pub archives: u64,
    pub decompressed: u64,
    pub warnings: Vec<InputError>,
    pub errors: Vec<InputError>,
}

/// Scans blobs one after another, reusing its buffers.
pub struct BlobScanner<'d> {
    detector: &'d Detector,
    state: ScanState,
    decode: DecodeState,
    buf: Vec<u8>,
    /// Segment buffer for transcoded UTF-16.
    segment: Vec<u8>,
    /// Segment buffer for archive members.
    archive_segment: Vec<u8>,
    /// Offsets of `startUrl` in the blob being scanned (AWS CLI SSO token cache entries).
    sso_hits: Vec<usize>,
    /// What document readers could not scan, for the input's outcome.
    warnings: Vec<InputError>,
    chunk: usize,
}

impl<'d> BlobScanner<'d> {
    pub fn new(detector: &'d Detector) -> Self {
        BlobScanner {
            detector,
            state: ScanState::default(),
            decode: DecodeState::default(),
            buf: Vec::new(),
            segment: Vec::new(),
            archive_segment: Vec::new(),
            sso_hits: Vec::new(),
            warnings: Vec::new(),
            chunk: CHUNK,
        }
    }

    /// Decodes up to `depth` nested levels of encodings (default [`decode::DEFAULT_DEPTH`]).
    pub fn with_decode_depth(mut self, depth: u32) -> Self {
        self.decode = DecodeState::new(depth);
        self
    }

    /// Findings in a blob held in memory, including those behind an encoding (UTF-16,
    /// base64, URL-encoding, JSON escapes; see [`crate::input::decode`]).
    pub fn scan_bytes(&mut self, data: &[u8], origin: &Origin) -> Vec<Finding> {
        let chunk = self.chunk;
        self.scan_text(data, origin, chunk, &mut |_| {})
    }

    /// [`Self::scan_pieces`], plus the transcoded text when the blob is UTF-16.
    fn scan_text(
        &mut self,
        data: &[u8],
        origin: &Origin,
        chunk: usize,
        release: &mut dyn FnMut(std::ops::Range<usize>),
    ) -> Vec<Finding> {
        let mut findings = self.scan_pieces(data, origin, chunk, release);
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
                &mut |d, o| self.scan_pieces(d, o, chunk, &mut |_| {}),
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
        let member = |name: &str| Origin {
            archive_member: Some(match &origin.archive_member {
                Some(outer) => format!("{outer}!{name}"),
                None => name.to_string(),
            }),
            ..origin.clone()
        };
        let decoded = |origin: Origin, how: &str| Origin {
            decoded_from: Some(match &origin.decoded_from {
                Some(outer) => format!("{outer}{}{how}", decode::CHAIN_SEPARATOR),
                None => how.to_string(),
            }),
            ..origin
        };
        let chunk = self.chunk;
        if pdf::sniff(data) {
            let read = pdf::read(data);
            for part in read.parts {
                let mut o = member(&part.name);
                if part.text {
                    o = decoded(o, "pdf-text");
                }
                let found = self.scan_pieces(&part.bytes, &o, chunk, &mut |_| {});
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
                let o = member(&format!("table {}", table.name));
                let found = self.scan_pieces(&table.text, &o, chunk, &mut |_| {});
                decode::merge_decoded(findings, found);
            }
        } else if office::sniff(data) {
            let text = office::text(data);
            let o = decoded(origin.clone(), "office-text");
            let found = self.scan_pieces(&text, &o, chunk, &mut |_| {});
            decode::merge_decoded(findings, found);
        }
    }

    /// Findings in a blob scanned in pieces of `chunk` bytes; `release` is told which bytes
    /// are done with, so mapped pages can be dropped.
    fn scan_pieces(
        &mut self,
        data: &[u8],
        origin: &Origin,
        chunk: usize,
        release: &mut dyn FnMut(std::ops::Range<usize>),
    ) -> Vec<Finding> {
        let detector = self.detector;
        self.state.clear();
        self.decode.clear();
        self.sso_hits.clear();
        // Pieces small enough to stay in cache between the detector's pass and the decoders'
        // pass; mapped pages are released once per `chunk`.
        let step = chunk.clamp(1, CACHE_PIECE);
        let (mut start, mut released) = (0, 0);
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
            // Keep the overlap the next piece looks back into.
            let done = start.saturating_sub(detector.overlap());
            if done >= released + chunk {
                release(released..done);
                released = done;
            }
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
            let positions = finding::locate(data, &offsets, release);
            findings = matches
                .iter()
                .zip(positions)
                .map(|(m, position)| {
                    let mut finding = Finding::from_match(detector, m, origin, position);
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

    /// Everything one file yields: opened as an archive when it is one, else scanned as a
    /// blob (with its encodings).
    pub fn scan_path(&mut self, path: &std::path::Path, opts: &ScanOptions) -> FileOutcome {
        let origin = Origin::file(path.display().to_string());
        let mut buf = std::mem::take(&mut self.buf);
        let out = match file::load(path, &mut buf, opts.mmap_threshold) {
            Ok(Contents::Buffer(data)) => self.scan_input(data, &origin, opts, &mut |_| {}),
            Ok(Contents::Mapped(map)) => {
                self.scan_input(&map, &origin, opts, &mut |r| file::release(&map, r))
            }
            Err(e) => FileOutcome {
                errors: vec![InputError {
                    path: origin.path.clone(),
                    message: e.to_string(),
                }],
                ..FileOutcome::default()
            },
        };
        self.buf = buf;
        out
    }

    /// One whole input held in memory (a file's contents, stdin).
    pub fn scan_input(
        &mut self,
        data: &[u8],
        origin: &Origin,
        opts: &ScanOptions,
        release: &mut dyn FnMut(std::ops::Range<usize>),
    ) -> FileOutcome {
        let bytes = data.len() as u64;
        if opts.archive.depth > 0 {
            if let Some(format) = archive::sniff(data) {
                let mut segment = std::mem::take(&mut self.archive_segment);
                let report = archive::scan_archive(
                    data,
                    format,
                    origin,
                    &opts.archive,
                    &mut |d, o| self.scan_bytes(d, o),
                    release,
                    &mut segment,
                );
                self.archive_segment = segment;
                let mut warnings = report.warnings;
                warnings.append(&mut self.warnings);
                return FileOutcome {
                    findings: report.findings,
                    bytes,
                    archives: report.archives,
                    decompressed: report.decompressed,
                    warnings,
                    errors: report.errors,
                };
            }
        }
        let findings = self.scan_text(data, origin, opts.chunk, release);
        FileOutcome {
            findings,
            bytes,
            warnings: std::mem::take(&mut self.warnings),
            ..FileOutcome::default()
        }
    }
}

/// Scans files and directories (`-` is stdin).
pub fn scan_paths(detector: &Detector, roots: &[PathBuf], opts: &ScanOptions) -> Outcome {
    let started = Instant::now();
    let totals = Totals::default();
    // Files the walk reached, scanned or not: compared with an ignore-free walk.
    let reached = AtomicU64::new(0);

    let (stdin, paths): (Vec<&PathBuf>, Vec<&PathBuf>) =
        roots.iter().partition(|p| fs::is_stdin(p));
    if !stdin.is_empty() {
        let mut scanner = BlobScanner::new(detector).with_decode_depth(opts.decode_depth);
        let mut buf = Vec::new();
        match file::read_stdin(&mut buf) {
            Ok(()) => {
                let out = scanner.scan_input(&buf, &Origin::file("-"), opts, &mut |_| {});
                totals.add(out, opts);
            }
            Err(e) => lock(&totals.errors).push(InputError {
                path: "-".into(),
                message: e.to_string(),
            }),
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
                    totals.add(scanner.scan_path(&path, opts), opts);
                }
                WalkItem::Error(e) => lock(&totals.errors).push(e),
                WalkItem::Warning(w) => lock(&totals.warnings).push(w),
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
        stats: Stats {
            files: totals.files.into_inner(),
            bytes: totals.bytes.into_inner(),
            ignored,
            elapsed: started.elapsed(),
            archives: totals.archives.into_inner(),
            decompressed: totals.decompressed.into_inner(),
            blobs: false,
        },
    }
}

/// What the worker threads gather.
#[derive(Default)]
struct Totals {
    findings: Mutex<Vec<Finding>>,
    errors: Mutex<Vec<InputError>>,
    warnings: Mutex<Vec<InputError>>,
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
