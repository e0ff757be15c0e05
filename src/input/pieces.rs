//! One large input on every core: the segments of a stream are scanned on worker threads
//! while the thread that owns the input goes on reading it (and decompressing it, for a
//! `.gz`/`.zst`/`.xz`/`.bz2` dump or an archive member); a large regular file has its
//! segments read by the workers themselves ([`scan_file`]). The workers' scanners come from
//! the sink ([`Workers`]); this module only reads and hands out segments.
//!
//! The segments are the same whoever scans them (the reading thread alone, as
//! [`archive::scan_stream`] does, or the workers): the same size, the same overlap, each
//! reporting the same part of its findings ([`archive::keep_own`]). So the findings are the
//! same, and they are put back in segment order. Line numbers are made whole-stream ones:
//! each segment's scanner counts the lines its segment spans ([`Shift::of`]) and the results
//! are joined by a running sum in segment order.
//!
//! Memory stays flat whatever the input's size: at most [`MAX_BUFFERS`] segment buffers
//! exist, and the reading thread waits for a worker to hand one back before reading more.
//! One input at a time runs a pipeline ([`PipelineSlot`]; a walk's other threads scan their
//! files serially meanwhile), so a tree of large files does not multiply the buffers.

use std::any::Any;
use std::io::{self, Read};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::finding::Finding;
use crate::finding::Origin;
use crate::input::archive::{self, Shift};
#[cfg(unix)]
use crate::input::mapped::Mapped;
use crate::input::InputError;

/// Segment buffers alive at once for one pipelined input, the one being read included.
pub const MAX_BUFFERS: usize = 6;

/// Alignment of a segment's first byte in its buffer. The kernel copies file and pipe data
/// into a page-aligned destination about four times faster than into one at the 16-byte
/// offset the allocator gives a large `Vec` (`_copy_to_iter` on this project's machine:
/// 4 GB from the page cache in 0.53 s of system time against 2.04 s).
const ALIGN: usize = 4096;

/// Makes `buf` hold a segment of `segment` bytes from a page-aligned offset (zeroed the
/// first time only: the buffer is kept at that size) and returns the offset.
fn aligned(buf: &mut Vec<u8>, segment: usize) -> usize {
    if buf.len() < segment + ALIGN {
        buf.resize(segment + ALIGN, 0);
    }
    // `align_offset` on a byte pointer always succeeds; `min` keeps the segment in bounds.
    buf.as_ptr().align_offset(ALIGN).min(ALIGN)
}

/// Segment buffers handed back by the inputs scanned so far, for the next ones: a buffer is
/// zeroed (and its pages faulted in) once per process instead of once per input, which was
/// a tenth of a source tree's scan. No more are kept than one pipeline uses at once.
static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A segment buffer from the pool, or a new (empty) one.
fn take_buffer() -> Vec<u8> {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    pool.pop().unwrap_or_default()
}

/// Hands a segment buffer back to the pool (dropped when the pool is full).
fn give_back(buf: Vec<u8>) {
    if buf.capacity() > 0 {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < MAX_BUFFERS {
            pool.push(buf);
        }
    }
}

/// What scanning one segment gives: its findings (lines counted from the segment's start)
/// and the notes the document readers made.
pub type Scanned = (Vec<Finding>, Vec<InputError>);

/// A segment scanner on one thread.
pub type SegmentFn<'w> = dyn FnMut(&[u8], &Origin) -> Scanned + 'w;

/// Builds a segment scanner on each worker thread.
pub type MakeWorker<'w> = dyn Fn() -> Box<SegmentFn<'w>> + Sync + 'w;

/// Scanners for the segments of one large input on other threads, as a sink provides them
/// (see [`crate::input::Sink::workers`]).
pub struct Workers<'w> {
    /// Builds the segment scanner of each worker thread.
    pub make: Box<MakeWorker<'w>>,
    /// How many threads scan the segments of one input; below 2, the reading thread scans
    /// them itself.
    pub threads: usize,
    /// The one input at a time whose segments are scanned by workers.
    pub slot: &'w PipelineSlot,
}

/// The one pipeline a scan runs at a time, shared by the clones of its options: while one
/// input has its segments scanned by workers, the other threads' large inputs are scanned
/// on those threads alone, so a tree of large files does not multiply the buffers.
#[derive(Debug, Clone, Default)]
pub struct PipelineSlot(Arc<AtomicBool>);

/// Held while this input runs the pipeline.
struct Pipeline<'a>(&'a AtomicBool);

impl<'a> Pipeline<'a> {
    fn start(slot: &'a PipelineSlot) -> Option<Pipeline<'a>> {
        slot.0
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Pipeline(&slot.0))
    }
}

impl Drop for Pipeline<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// One segment to scan, in a buffer.
struct Job {
    part: Part,
    /// The segment is `buf[at..at + len]` (`at` page-aligned; the rest is the last
    /// segment's bytes, kept initialized so the buffer is not zeroed again).
    buf: Vec<u8>,
    at: usize,
    len: usize,
}

/// Where a segment stands among the others.
struct Part {
    index: usize,
    /// It reports the findings that start in `own_from..own_to` (see [`archive::keep_own`]).
    own_from: usize,
    own_to: usize,
    /// Another segment follows, which starts at the segment's byte `cut`.
    more: bool,
    cut: usize,
}

impl Part {
    /// Segment `index`, `len` bytes long, of segments overlapping by `overlap`; `more`: a
    /// segment follows it (it was full and the input goes on).
    fn of(index: usize, len: usize, more: bool, overlap: usize) -> Part {
        Part {
            index,
            own_from: if index == 0 { 0 } else { overlap / 2 },
            own_to: if more { len - overlap / 2 } else { len },
            more,
            cut: if more { len - overlap } else { len },
        }
    }
}

/// A scanned segment.
struct Done {
    index: usize,
    buf: Vec<u8>,
    found: Vec<Finding>,
    warnings: Vec<InputError>,
    /// The lines and columns the segment's first `cut` bytes span (what the next segment is
    /// shifted by).
    span: Shift,
    /// The scan panicked (a bug): raised again on the reading thread once the workers stop.
    panic: Option<Box<dyn Any + Send>>,
}

fn run(job: Job, origin: &Origin, scan: &mut SegmentFn<'_>) -> Done {
    let Job { part, buf, at, len } = job;
    let mut d = scan_part(&buf[at..at + len], &part, origin, scan);
    d.buf = buf;
    d
}

/// Scans one segment's bytes (`data`), catching a panic; the [`Done`] has no buffer.
fn scan_part(data: &[u8], part: &Part, origin: &Origin, scan: &mut SegmentFn<'_>) -> Done {
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let (mut found, warnings) = scan(data, origin);
        archive::keep_own(&mut found, data, part.own_from, part.own_to, part.more);
        let span = if part.more {
            Shift::of(&data[..part.cut])
        } else {
            Shift::default()
        };
        (found, warnings, span)
    }));
    let (found, warnings, span, panic) = match result {
        Ok((found, warnings, span)) => (found, warnings, span, None),
        Err(payload) => (Vec::new(), Vec::new(), Shift::default(), Some(payload)),
    };
    Done {
        index: part.index,
        buf: Vec::new(),
        found,
        warnings,
        span,
        panic,
    }
}

/// Scans everything `reader` yields as one blob from `origin`, in segments of `segment`
/// bytes overlapping by `overlap`, so memory stays bounded whatever the stream's length:
/// on the calling thread with
/// `main` while the input fits one segment (or there are no `workers`, or fewer than 2, or
/// another input runs the pipeline in their slot), else on the workers, while this thread
/// reads.
/// Returns the findings in stream order, the document readers' notes of every segment in
/// stream order, and the read error that ended the stream, if any (the bytes read before it
/// are scanned). `buf` is the caller's segment buffer, used and handed back.
pub fn scan_stream(
    reader: &mut dyn Read,
    origin: &Origin,
    main: &mut SegmentFn<'_>,
    workers: Option<&Workers<'_>>,
    buf: &mut Vec<u8>,
    (segment, overlap): (usize, usize),
) -> (Vec<Finding>, Vec<InputError>, io::Result<()>) {
    let mut done: Vec<Done> = Vec::new();
    let mut current = std::mem::take(buf);
    let mut tail: Vec<u8> = Vec::with_capacity(overlap);
    let mut panicked: Option<Box<dyn Any + Send>> = None;
    let result = std::thread::scope(|scope| {
        // The channels to the workers, once started.
        let mut lanes: Option<(mpsc::SyncSender<Job>, mpsc::Receiver<Done>, Pipeline)> = None;
        let mut allocated = 1;
        let mut free: Vec<Vec<u8>> = Vec::new();
        let mut index = 0;
        let result = loop {
            let (at, len, result) = fill(&mut *reader, &mut current, &tail, segment);
            let part = Part::of(index, len, result.is_ok() && len >= segment, overlap);
            let more = part.more;
            if more {
                tail.clear();
                tail.extend_from_slice(&current[at + part.cut..at + len]);
            }
            let job = Job {
                part,
                at,
                len,
                buf: std::mem::take(&mut current),
            };
            let idle = workers.filter(|w| lanes.is_none() && more && w.threads > 1);
            if let Some(w) = idle {
                lanes = Pipeline::start(w.slot).map(|pipeline| {
                    let (jobs, inbox) = mpsc::sync_channel::<Job>(MAX_BUFFERS);
                    let (results, outbox) = mpsc::channel::<Done>();
                    let inbox = Arc::new(Mutex::new(inbox));
                    for _ in 0..w.threads.min(MAX_BUFFERS - 1) {
                        let (inbox, results) = (inbox.clone(), results.clone());
                        let make = &*w.make;
                        scope.spawn(move || work(&inbox, &results, origin, make));
                    }
                    (jobs, outbox, pipeline)
                });
            }
            let Some((jobs, outbox, _)) = &lanes else {
                let mut d = run(job, origin, main);
                if let Some(p) = d.panic.take() {
                    panic::resume_unwind(p);
                }
                current = std::mem::take(&mut d.buf);
                done.push(d);
                if result.is_err() || !more {
                    break result;
                }
                index += 1;
                continue;
            };
            if jobs.send(job).is_err() {
                // Every worker stopped: only after a panic, raised below.
                break result;
            }
            if result.is_err() || !more {
                break result;
            }
            index += 1;
            current = match free.pop() {
                Some(b) => b,
                None if allocated < MAX_BUFFERS => {
                    allocated += 1;
                    take_buffer()
                }
                None => match outbox.recv() {
                    Ok(mut d) => {
                        if let Some(p) = d.panic.take() {
                            panicked.get_or_insert(p);
                        }
                        let b = std::mem::take(&mut d.buf);
                        done.push(d);
                        b
                    }
                    Err(_) => break result,
                },
            };
            if panicked.is_some() {
                break result;
            }
        };
        if let Some((jobs, outbox, pipeline)) = lanes {
            drop(jobs);
            // Every worker ends once the queue is empty; their results come first.
            for mut d in outbox {
                if let Some(p) = d.panic.take() {
                    panicked.get_or_insert(p);
                }
                free.push(std::mem::take(&mut d.buf));
                done.push(d);
            }
            drop(pipeline);
        }
        if current.capacity() == 0 {
            current = free.pop().unwrap_or_default();
        }
        free.into_iter().for_each(give_back);
        result
    });
    if let Some(p) = panicked {
        panic::resume_unwind(p);
    }
    *buf = current;
    done.sort_by_key(|d| d.index);
    let mut shift = Shift::default();
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    for d in done {
        for mut f in d.found {
            shift.apply(&mut f);
            findings.push(f);
        }
        warnings.extend(d.warnings);
        shift.then(d.span);
    }
    (findings, warnings, result)
}

/// What a buffer new to [`fill`] starts at: a small input never has a whole segment's
/// buffer zeroed for it.
const FIRST_FILL: usize = 1 << 20;

/// Reads the next segment into `buf` at the offset [`aligned`] gives: `tail` (the end of the
/// segment before), then up to `segment` bytes in all; returns the offset and how many.
/// Like `read_to_end` on a `take`, but into a buffer that is kept: it grows by doubling up to
/// `segment` and is zeroed only where it grows, not for every segment or input.
fn fill(
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
    tail: &[u8],
    segment: usize,
) -> (usize, usize, io::Result<()>) {
    let mut size = buf
        .len()
        .saturating_sub(ALIGN)
        .clamp(FIRST_FILL.min(segment), segment)
        .max(tail.len());
    let mut at = aligned(buf, size);
    buf[at..at + tail.len()].copy_from_slice(tail);
    let mut filled = tail.len();
    while filled < segment {
        if filled == size {
            let before = at;
            size = (size * 2).min(segment);
            // Growing may move the buffer, and with it the aligned offset.
            at = aligned(buf, size);
            if at != before {
                buf.copy_within(before..before + filled, at);
            }
        }
        match reader.read(&mut buf[at + filled..at + size]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (at, filled, Err(e)),
        }
    }
    (at, filled, Ok(()))
}

/// A worker: scans the segments it takes from `inbox` until the reading thread closes it.
fn work(
    inbox: &Mutex<mpsc::Receiver<Job>>,
    results: &mpsc::Sender<Done>,
    origin: &Origin,
    make_worker: &MakeWorker<'_>,
) {
    let mut scan = make_worker();
    loop {
        let job = match inbox.lock() {
            Ok(inbox) => inbox.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        let d = run(job, origin, &mut *scan);
        let stop = d.panic.is_some();
        if results.send(d).is_err() || stop {
            return;
        }
    }
}

/// What [`scan_file`] gives.
pub struct FileScanned {
    /// The findings, in file order.
    pub findings: Vec<Finding>,
    /// The document readers' notes.
    pub warnings: Vec<InputError>,
    /// Bytes scanned.
    pub bytes: u64,
    /// The read error that ended the file early, if any.
    pub result: io::Result<()>,
    /// The mapped file shrank while it was scanned: the bytes past its new end were read as
    /// zeros ([`Mapped::truncated`]).
    pub shrank: bool,
}

/// Scans a regular file larger than one segment (`len` bytes when opened) on every worker:
/// mapped ([`Mapped`]), each worker scans its segments where they lie; else each reads its
/// own segments by positioned reads (`pread`), so the copy from the page cache is spread
/// over the threads too. The segments are those of [`scan_stream`]: segment `k` holds the
/// bytes from `k * (segment - overlap)`, up to `segment` of them, and the file ends with the
/// first one that is not full. None (nothing read) when there are fewer than 2 workers or
/// another input runs the pipeline: the caller reads the file front to back instead.
///
/// Only the `len` bytes there were when the file was opened are scanned; a file that shrank
/// meanwhile has the bytes past its new end read as zeros and is an error.
#[cfg(unix)]
pub fn scan_file(
    file: &std::fs::File,
    len: u64,
    origin: &Origin,
    workers: &Workers<'_>,
    (segment, overlap): (usize, usize),
) -> Option<FileScanned> {
    use std::sync::atomic::AtomicUsize;
    let Workers {
        make,
        threads,
        slot,
    } = workers;
    if *threads < 2 || segment <= overlap {
        return None;
    }
    let pipeline = Pipeline::start(slot)?;
    let mapped = (len >= segment as u64)
        .then(|| Mapped::new(file, len))
        .flatten();
    // Mapped, a segment needs no buffer: a small one keeps its bytes in the core's cache
    // from the detector's pass to the line count that follows it.
    let segment = match mapped {
        Some(_) => segment.min(MAPPED_SEGMENT).max(overlap * 2),
        None => segment,
    };
    let step = segment - overlap;
    let next = AtomicUsize::new(0);
    // Index of the last segment (the first one not full), once known: from the length when
    // the file is mapped, else when a read comes up short.
    let last = AtomicUsize::new(match &mapped {
        Some(map) => (map.bytes().len() - segment) / step + 1,
        None => usize::MAX,
    });
    let (results, outbox) = mpsc::channel::<(Done, u64, Option<io::Error>)>();
    std::thread::scope(|scope| {
        for _ in 0..(*threads).min(MAX_BUFFERS) {
            let results = results.clone();
            let (next, last, mapped) = (&next, &last, &mapped);
            scope.spawn(move || {
                let mut scan = make();
                let mut buf = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index > last.load(Ordering::Acquire) {
                        break;
                    }
                    let start = index * step;
                    let (d, len, error) = match mapped {
                        Some(map) => {
                            let bytes = map.bytes();
                            let end = bytes.len().min(start + segment);
                            // Full, it has a successor (as `last` counts them).
                            let part =
                                Part::of(index, end - start, end - start == segment, overlap);
                            let d = scan_part(&bytes[start..end], &part, origin, &mut *scan);
                            map.release(start..end);
                            (d, end - start, None)
                        }
                        None => {
                            if buf.capacity() == 0 {
                                buf = take_buffer();
                            }
                            let (at, len, result) = fill_at(file, &mut buf, start as u64, segment);
                            // A read error ends the file here.
                            let more = result.is_ok() && len >= segment;
                            if !more {
                                last.fetch_min(index, Ordering::AcqRel);
                            }
                            let part = Part::of(index, len, more, overlap);
                            let d = scan_part(&buf[at..at + len], &part, origin, &mut *scan);
                            (d, len, result.err())
                        }
                    };
                    let stop = d.panic.is_some();
                    let end = (start + len) as u64;
                    if results.send((d, end, error)).is_err() || stop {
                        break;
                    }
                }
                give_back(buf);
            });
        }
    });
    drop(results);
    drop(pipeline);
    let last = last.into_inner();
    let mut done: Vec<(Done, u64, Option<io::Error>)> = outbox
        .into_iter()
        .filter(|(d, _, _)| d.index <= last)
        .collect();
    done.sort_by_key(|(d, _, _)| d.index);
    let mut shift = Shift::default();
    let (mut findings, mut warnings) = (Vec::new(), Vec::new());
    let (mut bytes, mut result) = (0, Ok(()));
    for (d, end, error) in done {
        if let Some(p) = d.panic {
            panic::resume_unwind(p);
        }
        for mut f in d.found {
            shift.apply(&mut f);
            findings.push(f);
        }
        warnings.extend(d.warnings);
        shift.then(d.span);
        bytes = end;
        if let Some(e) = error {
            result = Err(e);
        }
    }
    let shrank = mapped.as_ref().is_some_and(Mapped::truncated);
    Some(FileScanned {
        findings,
        warnings,
        bytes,
        result,
        shrank,
    })
}

/// The segment size of a mapped file: a segment's bytes are read twice (the detector, then
/// the line count, [`Shift::of`]), the second time from the core's cache when the segment
/// fits it. On a 4 GB file (2 threads): 1.45 s of user time in 16 MiB segments, 1.37 s in
/// 2 MiB, 1.29 s in 1 MiB (the 64 KiB overlap, scanned twice, costs 6% there).
const MAPPED_SEGMENT: usize = 1 << 20;

/// Reads up to `segment` bytes of `file` from `start` into `buf` (kept at full size) at the
/// offset [`aligned`] gives, as many as there are; returns the offset and how many.
#[cfg(unix)]
fn fill_at(
    file: &std::fs::File,
    buf: &mut Vec<u8>,
    start: u64,
    segment: usize,
) -> (usize, usize, io::Result<()>) {
    use std::os::unix::fs::FileExt;
    let at = aligned(buf, segment);
    let seg = &mut buf[at..at + segment];
    let mut filled = 0;
    while filled < segment {
        match file.read_at(&mut seg[filled..], start + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (at, filled, Err(e)),
        }
    }
    (at, filled, Ok(()))
}
