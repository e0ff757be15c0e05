//! Wiring of the stages for one scan: inputs -> detector -> findings, on many threads.
//!
//! Each worker thread owns a [`BlobScanner`] (detector state and read buffer, reused for every
//! file); findings and errors are gathered, then sorted, so the output does not depend on the
//! thread count.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::allow;
use crate::detect::{Detector, ScanState};
use crate::finding::{self, Finding};
use crate::input::file::{self, Contents};
use crate::input::fs::{self, WalkItem, WalkOptions};
use crate::input::{InputError, Origin};

/// Size of the pieces a mapped file is scanned in; each piece's pages are released after.
pub const CHUNK: usize = 16 * 1024 * 1024;

/// Options of `keysweep scan`.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub walk: WalkOptions,
    pub mmap_threshold: u64,
    /// Piece size for mapped files (tests lower it to exercise piece boundaries).
    pub chunk: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            walk: WalkOptions::default(),
            mmap_threshold: file::MMAP_THRESHOLD,
            chunk: CHUNK,
        }
    }
}

/// Counters for the summary line.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub files: u64,
    pub bytes: u64,
    /// Files the ignore rules kept out of the scan (None when not counted).
    pub ignored: Option<u64>,
    pub elapsed: Duration,
}

/// Everything a scan produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub errors: Vec<InputError>,
    pub stats: Stats,
}

/// Scans blobs one after another, reusing its buffers.
pub struct BlobScanner<'d> {
    detector: &'d Detector,
    state: ScanState,
    buf: Vec<u8>,
    chunk: usize,
}

impl<'d> BlobScanner<'d> {
    pub fn new(detector: &'d Detector) -> Self {
        BlobScanner {
            detector,
            state: ScanState::default(),
            buf: Vec::new(),
            chunk: CHUNK,
        }
    }

    /// Findings in a blob held in memory.
    pub fn scan_bytes(&mut self, data: &[u8], origin: &Origin) -> Vec<Finding> {
        self.scan_pieces(data, origin, self.chunk, &mut |_| {})
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
        let mut start = 0;
        loop {
            let end = data.len().min(start + chunk.max(1));
            detector.scan_range(data, start..end, &mut self.state);
            // Keep the overlap the next piece looks back into.
            let done = start.saturating_sub(detector.overlap());
            if done > 0 {
                release(0..done);
            }
            if end >= data.len() {
                break;
            }
            start = end;
        }
        let mut matches = detector.finish(data, &mut self.state);
        allow::retain_reported(data, &mut matches);
        if matches.is_empty() {
            return Vec::new();
        }
        let offsets: Vec<usize> = matches.iter().map(|m| m.offset).collect();
        let mut sorted = offsets.clone();
        sorted.sort_unstable();
        let positions = finding::locate(data, &sorted, release);
        matches
            .iter()
            .map(|m| {
                let at = sorted.partition_point(|&o| o < m.offset);
                Finding::from_match(detector, m, origin, positions[at])
            })
            .collect()
    }

    /// Findings in one file.
    pub fn scan_file(
        &mut self,
        path: &std::path::Path,
        opts: &ScanOptions,
    ) -> Result<(Vec<Finding>, u64), InputError> {
        let origin = Origin::file(path.display().to_string());
        let fail = |e: std::io::Error| InputError {
            path: origin.path.clone(),
            message: e.to_string(),
        };
        let mut buf = std::mem::take(&mut self.buf);
        let result = match file::load(path, &mut buf, opts.mmap_threshold).map_err(fail) {
            Ok(Contents::Buffer(data)) => {
                let n = data.len() as u64;
                Ok((self.scan_pieces(data, &origin, opts.chunk, &mut |_| {}), n))
            }
            Ok(Contents::Mapped(map)) => {
                let n = map.len() as u64;
                let findings =
                    self.scan_pieces(&map, &origin, opts.chunk, &mut |r| file::release(&map, r));
                Ok((findings, n))
            }
            Err(e) => Err(e),
        };
        self.buf = buf;
        result
    }
}

/// Scans files and directories (`-` is stdin).
pub fn scan_paths(detector: &Detector, roots: &[PathBuf], opts: &ScanOptions) -> Outcome {
    let started = Instant::now();
    let findings = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let files = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    // Files the walk reached, scanned or not: compared with an ignore-free walk.
    let reached = AtomicU64::new(0);

    let (stdin, paths): (Vec<&PathBuf>, Vec<&PathBuf>) =
        roots.iter().partition(|p| fs::is_stdin(p));
    if !stdin.is_empty() {
        let mut scanner = BlobScanner::new(detector);
        let mut buf = Vec::new();
        match file::read_stdin(&mut buf) {
            Ok(()) => {
                files.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
                let found = scanner.scan_bytes(&buf, &Origin::file("-"));
                lock(&findings).extend(found);
            }
            Err(e) => lock(&errors).push(InputError {
                path: "-".into(),
                message: e.to_string(),
            }),
        }
    }
    let paths: Vec<PathBuf> = paths.into_iter().cloned().collect();
    let mut ignored = None;
    if !paths.is_empty() {
        let saw_ignore_file = AtomicBool::new(fs::ancestors_have_ignore_files(&paths));
        {
            fs::walk(&paths, &opts.walk, || {
                let mut scanner = BlobScanner::new(detector);
                let (findings, errors, files, bytes) = (&findings, &errors, &files, &bytes);
                let (reached, saw_ignore_file) = (&reached, &saw_ignore_file);
                Box::new(move |item| match item {
                    WalkItem::File(path) => {
                        reached.fetch_add(1, Ordering::Relaxed);
                        if fs::is_ignore_file(&path) {
                            saw_ignore_file.store(true, Ordering::Relaxed);
                        }
                        match scanner.scan_file(&path, opts) {
                            Ok((found, n)) => {
                                files.fetch_add(1, Ordering::Relaxed);
                                bytes.fetch_add(n, Ordering::Relaxed);
                                if !found.is_empty() {
                                    lock(findings).extend(found);
                                }
                            }
                            Err(e) => lock(errors).push(e),
                        }
                    }
                    WalkItem::Error(e) => lock(errors).push(e),
                })
            });
        }
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
    let mut findings = findings.into_inner().unwrap_or_else(|p| p.into_inner());
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Outcome {
        findings,
        errors,
        stats: Stats {
            files: files.into_inner(),
            bytes: bytes.into_inner(),
            ignored,
            elapsed: started.elapsed(),
        },
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
