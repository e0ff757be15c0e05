//! Archives and compressed streams as inputs: zip, tar, gzip, bzip2, xz and zstd, nested up to
//! a depth, recognised by their magic bytes (not by file name).
//!
//! Everything happens in memory while streaming: a member is decompressed into a bounded
//! segment buffer and handed to the same blob scanner a plain file goes to; nothing is ever
//! written to disk. A member's origin keeps the file on disk as `path` and names the chain of
//! members in `archive_member`, joined by `!` (`dump/app.zip` + `inner.tar.gz!x/y.env`).
//!
//! Hostile archives are bounded, and nothing skipped goes unsaid: every decompressed byte is
//! charged to a budget per top-level input (`--max-archive-bytes`), each compressed stream and
//! each zip member to its own expansion ratio (`--max-ratio`, past [`RATIO_FLOOR`]); members
//! are counted ([`DEFAULT_MAX_MEMBERS`]); every decoder's window or dictionary is reserved
//! from a memory budget ([`DEFAULT_MAX_MEMORY`]) before it is allocated, and a stream asking
//! for more is refused. A zip member past a limit is skipped alone (zip has random access);
//! in a stream, the rest of the stream is. After corrupt data, the rest of the input is
//! scanned as raw bytes. Everything not scanned is reported ([`FileOutcome::skipped`],
//! [`FileOutcome::errors`]) and counted ([`FileOutcome::unscanned`]), so a scan that
//! missed something never looks clean.

// Without the `archive` feature nothing is unpacked: the limits and decoder plumbing are
// compiled for the one reading path but unused.
#![cfg_attr(not(feature = "archive"), allow(dead_code, clippy::ptr_arg))]

use std::cell::Cell;
use std::fmt;
use std::io::{self, Cursor, Read};
use std::rc::Rc;

use crate::finding::{self, Finding, Origin};
use crate::input::pieces::{self, SegmentFn, Workers};
use crate::input::{FileOutcome, InputError};

/// Nesting levels opened by default (`--archive-depth`).
pub const DEFAULT_DEPTH: u32 = 3;
/// Decompressed bytes allowed per top-level archive by default (`--max-archive-bytes`).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// Decompressed-to-compressed ratio allowed by default (`--max-ratio`).
pub const DEFAULT_MAX_RATIO: u64 = 1000;
/// The ratio is only enforced once an archive has produced this many bytes, so a small,
/// highly compressible file (a log of repeated lines) is never refused.
pub const RATIO_FLOOR: u64 = 8 << 20;
/// A zip nested in another archive is held in memory to be read (its directory is at its
/// end); a larger one is read member by member from its local headers instead.
pub const MAX_NESTED_ZIP: u64 = 128 << 20;
/// Decompressed data is scanned in segments of this size ...
pub const SEGMENT: usize = 16 << 20;
/// ... each starting with this many bytes of the previous one, so a credential across a
/// segment boundary is seen whole (even, so UTF-16 text stays aligned).
pub const SEGMENT_OVERLAP: usize = 64 << 10;
/// Bytes read from a member to recognise its format (a tar header's magic is at 257).
const HEAD: usize = 512;
/// Archive members read per top-level input by default, nested ones included.
pub const DEFAULT_MAX_MEMBERS: u64 = 1_000_000;
/// Decoder memory (zstd windows, xz dictionaries, nested zips held to be read) alive at once
/// per top-level input, by default. A stream whose header asks for more is refused.
pub const DEFAULT_MAX_MEMORY: u64 = 160 << 20;

/// How deep and how far archives are opened (non-exhaustive: start from the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchiveOptions {
    /// Nesting levels to open; 0 scans archives as raw bytes.
    pub depth: u32,
    /// Decompressed bytes allowed per top-level archive.
    pub max_bytes: u64,
    /// Decompressed-to-compressed ratio allowed per compressed stream or zip member (past
    /// [`RATIO_FLOOR`]).
    pub max_ratio: u64,
    /// Members read per top-level input.
    pub max_members: u64,
    /// Decoder memory alive at once per top-level input.
    pub max_memory: u64,
    /// Size of the pieces every input and member is scanned in ([`SEGMENT`]; tests lower
    /// it to exercise piece boundaries).
    pub segment: usize,
}

impl ArchiveOptions {
    /// The size of the segments every input and member is read in (1 KiB at least), and
    /// how many bytes of the previous segment each one starts with (even, so UTF-16 text stays
    /// aligned, and at most a quarter of a segment).
    pub fn segments(&self) -> (usize, usize) {
        let segment = self.segment.max(1024);
        (segment, SEGMENT_OVERLAP.min(segment / 4) & !1)
    }
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            depth: DEFAULT_DEPTH,
            max_bytes: DEFAULT_MAX_BYTES,
            max_ratio: DEFAULT_MAX_RATIO,
            max_members: DEFAULT_MAX_MEMBERS,
            max_memory: DEFAULT_MAX_MEMORY,
            segment: SEGMENT,
        }
    }
}

/// A container or compression format recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Bzip2,
    Xz,
    Zstd,
    Zip,
    Tar,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
            Format::Zip => "zip",
            Format::Tar => "tar",
        }
    }

    /// A compression stream (one blob inside), as opposed to a container of named members.
    fn is_compression(self) -> bool {
        !matches!(self, Format::Zip | Format::Tar)
    }
}

/// The format `head` (the first bytes of a blob, at least 512 for tar) starts with.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Some(Format::Gzip)
    } else if head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || head[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    {
        Some(Format::Bzip2)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Format::Xz)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Format::Zstd)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if is_tar_header(head) {
        Some(Format::Tar)
    } else {
        None
    }
}

/// True when `head` starts with a tar header: the `ustar` magic, or (old v7 archives) a
/// header whose checksum field matches its bytes.
fn is_tar_header(head: &[u8]) -> bool {
    let Some(header) = head.get(..512) else {
        return false;
    };
    if &header[257..262] == b"ustar" {
        return true;
    }
    if header[0] == 0 {
        return false;
    }
    let field = &header[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b))
        .collect();
    if digits.is_empty() {
        return false;
    }
    let Ok(expected) = u32::from_str_radix(&String::from_utf8_lossy(&digits), 8) else {
        return false;
    };
    let sum: u32 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == expected
}

/// Parses a byte size: a number with an optional K, M, G or T suffix (powers of 1024;
/// `KiB`, `MB` and friends are read the same way).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a size: {text:?} (e.g. 2G, 512M, 1048576)"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("unknown size unit in {text:?} (use K, M, G or T)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("size too large: {text:?}"))
}

/// Human form of a byte count (`1.0 GiB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The scanner a blob's bytes go to: the plain-file blob scanner.
pub type ScanFn<'a> = dyn FnMut(&[u8], &Origin) -> Vec<Finding> + 'a;

/// Where the bytes of one top-level input come from.
pub enum Source<'a> {
    /// Held in memory (a git blob, a test's buffer): a zip is read by random access.
    Bytes(&'a [u8]),
    /// A regular file, read front to back in pieces (a zip by random access).
    File(&'a mut std::fs::File),
    /// Anything else (stdin, a pipe, a device, an object body from the network): read front
    /// to back in pieces; a zip is held in memory up to [`MAX_NESTED_ZIP`], else read from its
    /// local headers.
    Stream(&'a mut dyn Read),
    /// Read front to back in pieces, and reopened by random access when it is a zip (a remote
    /// object: the zip is read by ranges, never held whole).
    Reopenable(&'a mut dyn Reopen),
}

/// An input read front to back that can be opened again by random access (an S3 object read
/// by ranged GETs), so a zip, whose directory is at its end, need not be held in memory.
pub trait Reopen {
    /// The bytes, front to back.
    fn reader(&mut self) -> &mut dyn Read;
    /// The size of the whole input.
    fn size(&self) -> u64;
    /// The same bytes by random access; asked for at most once, after the first bytes were
    /// read from [`Self::reader`].
    fn seekable(&mut self) -> io::Result<Box<dyn ReadSeek + '_>>;
}

/// What a [`Reopen`] input gives for random access.
pub trait ReadSeek: Read + io::Seek {}
impl<T: Read + io::Seek> ReadSeek for T {}

/// Scans one input from `source` (whose origin is `origin`): an archive or compressed stream
/// (by its magic bytes) is opened, members nested up to `opts.depth` levels; every blob (the
/// input itself, or a member) is scanned by `scan` one segment at a time ([`SEGMENT`]s, so
/// memory stays bounded whatever the input's size), or by the `workers` while this thread
/// reads and decompresses (see [`pieces::scan_stream`]). `buf` is the segment buffer (kept
/// by the caller to be reused). What `scan` and the workers note about a segment comes after
/// the input's own warnings.
///
/// This is the one path for every input: files, stdin and other streams, git blobs.
pub fn scan_source(
    source: Source<'_>,
    origin: &Origin,
    opts: &ArchiveOptions,
    scan: &mut SegmentFn<'_>,
    workers: Option<&Workers<'_>>,
    buf: &mut Vec<u8>,
) -> FileOutcome {
    let budget = Rc::new(Budget {
        used: Cell::new(0),
        spent: Cell::new(false),
        max_bytes: opts.max_bytes,
        memory: Cell::new(0),
        max_memory: opts.max_memory,
        members: Cell::new(0),
        max_members: opts.max_members,
    });
    let top = Rc::new(Unit::new(0, opts.max_ratio));
    let mut walker = Walker {
        opts: *opts,
        budget: budget.clone(),
        unit: top.clone(),
        warned_limit: false,
        after_limit: 0,
        scan,
        workers,
        base: origin.clone(),
        report: FileOutcome::default(),
        notes: Vec::new(),
        buf: std::mem::take(buf),
    };
    let mut chain = Vec::new();
    // Without the `archive` feature every input is scanned as raw bytes.
    let open = opts.depth > 0 && cfg!(feature = "archive");
    match source {
        Source::Bytes(data) => {
            top.compressed.set(data.len() as u64);
            walker.report.bytes = data.len() as u64;
            if open && sniff(data) == Some(Format::Zip) {
                walker.report.archives += 1;
                walker.zip(&mut Cursor::new(data), data.len() as u64, &mut chain, 1);
            } else {
                walker.member(&mut &data[..], &mut chain, 0, None);
            }
        }
        Source::File(file) => {
            let mut head = Vec::with_capacity(HEAD);
            match Read::take(&mut *file, HEAD as u64).read_to_end(&mut head) {
                Err(e) => walker.error(&chain, format!("cannot read: {e}")),
                Ok(_) if open && sniff(&head) == Some(Format::Zip) => {
                    let len = file.metadata().map_or(0, |m| m.len());
                    top.compressed.set(len);
                    walker.report.bytes = len;
                    walker.report.archives += 1;
                    match io::Seek::rewind(file) {
                        Ok(()) => walker.zip(&mut io::BufReader::new(file), len, &mut chain, 1),
                        Err(e) => walker.error(&chain, format!("cannot read: {e}")),
                    }
                }
                Ok(_) => {
                    let mut counted = Counted {
                        inner: Cursor::new(head).chain(file),
                        unit: top.clone(),
                    };
                    walker.member(&mut counted, &mut chain, 0, None);
                    walker.report.bytes = top.compressed.get();
                }
            }
        }
        Source::Stream(reader) => {
            let mut counted = Counted {
                inner: reader,
                unit: top.clone(),
            };
            walker.member(&mut counted, &mut chain, 0, None);
            walker.report.bytes = top.compressed.get();
        }
        Source::Reopenable(source) => {
            let mut head = Vec::with_capacity(HEAD);
            let read = Read::take(source.reader(), HEAD as u64).read_to_end(&mut head);
            match read {
                Err(e) => walker.error(&chain, format!("cannot read: {e}")),
                Ok(_) if open && sniff(&head) == Some(Format::Zip) => {
                    let len = source.size();
                    top.compressed.set(len);
                    walker.report.bytes = len;
                    walker.report.archives += 1;
                    match source.seekable() {
                        Ok(mut reader) => walker.zip(&mut reader, len, &mut chain, 1),
                        Err(e) => walker.error(&chain, format!("cannot read the zip: {e}")),
                    }
                }
                Ok(_) => {
                    let mut counted = Counted {
                        inner: Cursor::new(head).chain(source.reader()),
                        unit: top.clone(),
                    };
                    walker.member(&mut counted, &mut chain, 0, None);
                    walker.report.bytes = top.compressed.get();
                }
            }
        }
    }
    if walker.after_limit > 0 {
        let n = walker.after_limit;
        walker.skip(
            &[],
            n,
            format!(
                "{n} more member{} not scanned: the archive's budget was spent",
                if n == 1 { "" } else { "s" }
            ),
        );
    }
    walker.report.decompressed = budget.used.get();
    walker.report.warnings.append(&mut walker.notes);
    *buf = walker.buf;
    walker.report
}

/// Counts the bytes read from a top-level input (the base of its expansion ratio).
struct Counted<R> {
    inner: R,
    unit: Rc<Unit>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let c = &self.unit.compressed;
        c.set(c.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// Which limit stopped a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    /// The top-level input's `--max-archive-bytes`.
    Bytes,
    /// A stream's or zip member's `--max-ratio`.
    Ratio,
    /// A zip member produced more than its header declares.
    Declared,
}

/// What one top-level input may cost: decompressed bytes, decoder memory alive at once,
/// members.
struct Budget {
    used: Cell<u64>,
    spent: Cell<bool>,
    max_bytes: u64,
    /// Decoder windows and dictionaries (and nested zips held in memory) alive now.
    memory: Cell<u64>,
    max_memory: u64,
    members: Cell<u64>,
    max_members: u64,
}

impl Budget {
    /// Charges `n` decompressed bytes; false once the limit is passed.
    fn charge(&self, n: usize) -> bool {
        let used = self.used.get().saturating_add(n as u64);
        self.used.set(used);
        if used > self.max_bytes {
            self.spent.set(true);
        }
        !self.spent.get()
    }

    fn remaining(&self) -> u64 {
        self.max_bytes.saturating_sub(self.used.get())
    }

    fn memory_left(&self) -> u64 {
        self.max_memory.saturating_sub(self.memory.get())
    }

    /// Reserves `n` bytes of decoder memory; false (nothing reserved) when they do not fit.
    fn reserve(&self, n: u64) -> bool {
        if n > self.memory_left() {
            return false;
        }
        self.memory.set(self.memory.get() + n);
        true
    }

    fn release(&self, n: u64) {
        self.memory.set(self.memory.get().saturating_sub(n));
    }

    /// Counts one member; false once past the member limit.
    fn member(&self) -> bool {
        let n = self.members.get() + 1;
        self.members.set(n);
        n <= self.max_members
    }
}

/// What the expansion ratio is measured on: a top-level stream, or one zip member.
struct Unit {
    /// Compressed bytes (for a stream, read so far).
    compressed: Cell<u64>,
    produced: Cell<u64>,
    max_ratio: u64,
    hit: Cell<Option<Limit>>,
}

impl Unit {
    fn new(compressed: u64, max_ratio: u64) -> Unit {
        Unit {
            compressed: Cell::new(compressed),
            produced: Cell::new(0),
            max_ratio,
            hit: Cell::new(None),
        }
    }

    fn charge(&self, n: usize) -> bool {
        let produced = self.produced.get().saturating_add(n as u64);
        self.produced.set(produced);
        if produced > RATIO_FLOOR && produced / self.compressed.get().max(1) > self.max_ratio {
            self.hit.set(Some(Limit::Ratio));
        }
        self.hit.get().is_none()
    }
}

/// The error a metered reader returns once a limit is reached.
#[derive(Debug)]
struct LimitReached;

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("archive limit reached")
    }
}

impl std::error::Error for LimitReached {}

/// A decompressor's output, charged to the budget and its unit as it is read. `failed` is
/// set when the decompressor itself reports an error (corrupt data).
struct Metered<R> {
    inner: R,
    budget: Rc<Budget>,
    unit: Rc<Unit>,
    failed: Rc<Cell<bool>>,
    /// A zip member's uncompressed size as its header declares it: more is refused.
    declared: Option<u64>,
    produced: u64,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.budget.spent.get() || self.unit.hit.get().is_some() {
            return Err(io::Error::other(LimitReached));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                self.failed.set(true);
                return Err(e);
            }
        };
        self.produced = self.produced.saturating_add(n as u64);
        // A little slack: some writers record sizes a few bytes off.
        if self
            .declared
            .is_some_and(|d| self.produced > d.saturating_add(4096))
        {
            self.unit.hit.set(Some(Limit::Declared));
            return Err(io::Error::other(LimitReached));
        }
        // Both are charged: the budget bounds the work, the unit spots a bomb.
        let within_budget = self.budget.charge(n);
        if !(self.unit.charge(n) && within_budget) {
            return Err(io::Error::other(LimitReached));
        }
        Ok(n)
    }
}

/// Keeps the last [`TAIL`] bytes a decompressor read, so that after corrupt data the bytes
/// it had read ahead are scanned too.
struct Recorder<'r> {
    inner: &'r mut dyn Read,
    tail: Vec<u8>,
}

/// Read-ahead of the decompressors (zstd's input buffer is 128 KiB).
const TAIL: usize = 256 << 10;

impl Read for Recorder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tail.extend_from_slice(&buf[..n]);
        if self.tail.len() > 2 * TAIL {
            let cut = self.tail.len() - TAIL;
            self.tail.drain(..cut);
        }
        Ok(n)
    }
}

/// True when `err` is a decoder refusing data that needs more memory than it was allowed.
fn is_memory_refusal(err: &io::Error) -> bool {
    #[cfg(feature = "archive")]
    if let Some(inner) = err.get_ref() {
        if let Some(liblzma::stream::Error::MemLimit) = inner.downcast_ref() {
            return true;
        }
    }
    let text = err.to_string();
    text.contains("too much memory") || text.contains("memory limit reached")
}

#[cfg(feature = "archive")]
/// The window size a zstd frame header asks for, when `head` holds one.
fn zstd_window(head: &[u8]) -> Option<u64> {
    let descriptor = *head.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    if !single_segment {
        let w = *head.get(5)?;
        let exponent = u64::from(w >> 3);
        let base = 1u64 << (10 + exponent);
        return Some(base + base / 8 * u64::from(w & 7));
    }
    // Single segment: the window is the content size.
    let dict_id_bytes = [0usize, 1, 2, 4][usize::from(descriptor & 3)];
    let fcs_bytes = [1usize, 2, 4, 8][usize::from(descriptor >> 6)];
    let at = 5 + dict_id_bytes;
    let field = head.get(at..at + fcs_bytes)?;
    let mut le = [0u8; 8];
    le[..fcs_bytes].copy_from_slice(field);
    let size = u64::from_le_bytes(le);
    Some(if fcs_bytes == 2 { size + 256 } else { size })
}

#[cfg(feature = "archive")]
/// The LZMA2 dictionary size the first block of an xz stream asks for, when `head` holds
/// its header.
fn xz_dictionary(head: &[u8]) -> Option<u64> {
    let size = usize::from(*head.get(12)?);
    if size == 0 {
        return Some(0); // no block: an empty stream
    }
    let header = head.get(12..12 + (size + 1) * 4)?;
    let flags = *header.get(1)?;
    let mut pos = 2;
    let varint = |pos: &mut usize| -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..63).step_by(7) {
            let b = *header.get(*pos)?;
            *pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    };
    if flags & 0x40 != 0 {
        varint(&mut pos)?;
    }
    if flags & 0x80 != 0 {
        varint(&mut pos)?;
    }
    for _ in 0..=(flags & 3) {
        let id = varint(&mut pos)?;
        let props = usize::try_from(varint(&mut pos)?).ok()?;
        if id == 0x21 {
            let bits = u32::from(*header.get(pos)? & 0x3f);
            if bits > 40 {
                return None;
            }
            return Some(if bits == 40 {
                u64::from(u32::MAX)
            } else {
                (2 | u64::from(bits & 1)) << (bits / 2 + 11)
            });
        }
        pos += props;
    }
    None
}

#[cfg(feature = "archive")]
/// Decoder memory beyond the window (buffers, tables).
const DECODER_OVERHEAD: u64 = 1 << 20;

#[cfg(feature = "archive")]
/// Reads the end-of-central-directory record of a zip: how many entries its directory says
/// it has (zip64 included).
fn zip_entry_count<R: Read + io::Seek>(reader: &mut R, len: u64) -> Option<u64> {
    use io::SeekFrom;
    const EOCD: &[u8] = b"PK\x05\x06";
    let tail_len = len.min(22 + 65_535);
    reader.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = Vec::new();
    Read::take(&mut *reader, tail_len)
        .read_to_end(&mut tail)
        .ok()?;
    let at = memchr::memmem::rfind(&tail, EOCD)?;
    let rec = tail.get(at..at + 22)?;
    let count = u64::from(u16::from_le_bytes([rec[10], rec[11]]));
    if count != 0xffff {
        return Some(count);
    }
    // Zip64: the locator sits just before, and points at the zip64 record.
    let loc = tail.get(at.checked_sub(20)?..at)?;
    if &loc[..4] != b"PK\x06\x07" {
        return Some(count);
    }
    let mut off = [0u8; 8];
    off.copy_from_slice(&loc[8..16]);
    reader.seek(SeekFrom::Start(u64::from_le_bytes(off))).ok()?;
    let mut rec = [0u8; 40];
    reader.read_exact(&mut rec).ok()?;
    if &rec[..4] != b"PK\x06\x06" {
        return Some(count);
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&rec[32..40]);
    Some(u64::from_le_bytes(n))
}

#[cfg(feature = "archive")]
/// Most central-directory entries held in memory at once (each costs some hundreds of bytes
/// in the zip reader); a zip with more is read from its local headers, front to back.
const MAX_DIRECTORY: u64 = 65_536;

/// Walks one top-level input depth-first.
struct Walker<'a, 's, 'w> {
    opts: ArchiveOptions,
    budget: Rc<Budget>,
    /// What the ratio is measured on now: the top-level stream, or the zip member being read.
    unit: Rc<Unit>,
    warned_limit: bool,
    /// Members skipped because the budget was spent after the limit warning.
    after_limit: u64,
    scan: &'a mut SegmentFn<'s>,
    workers: Option<&'a Workers<'w>>,
    base: Origin,
    report: FileOutcome,
    /// What the scanner noted about the segments (document streams it could not read).
    notes: Vec<InputError>,
    /// Segment buffer, reused for every member.
    buf: Vec<u8>,
}

impl Walker<'_, '_, '_> {
    /// The origin of the member `chain` names (the input itself when it is empty): what its
    /// findings carry, made before it is scanned.
    fn origin(&self, chain: &[String]) -> Origin {
        match chain {
            [] => self.base.clone(),
            _ => self.base.member(&chain.join("!")),
        }
    }

    /// `path!member!member` for messages.
    fn name(&self, chain: &[String]) -> String {
        self.origin(chain).name()
    }

    fn warn(&mut self, chain: &[String], message: String) {
        let path = self.name(chain);
        self.report.warnings.push(InputError { path, message });
    }

    /// Records something not scanned (`count` things: members, streams).
    fn skip(&mut self, chain: &[String], count: u64, message: String) {
        let path = self.name(chain);
        self.report.unscanned += count;
        self.report.skipped.push(InputError { path, message });
    }

    fn error(&mut self, chain: &[String], message: String) {
        let path = self.name(chain);
        self.report.unscanned += 1;
        self.report.errors.push(InputError { path, message });
    }

    fn metered<R: Read>(&self, inner: R) -> Metered<R> {
        Metered {
            inner,
            budget: self.budget.clone(),
            unit: self.unit.clone(),
            failed: Rc::new(Cell::new(false)),
            declared: None,
            produced: 0,
        }
    }

    /// True once the whole input's budget is spent.
    fn spent(&self) -> bool {
        self.budget.spent.get()
    }

    /// Reports a failed read: a limit (the bytes limit once), a refused decoder, or the
    /// corruption error.
    fn read_failed(&mut self, chain: &[String], within: Option<Format>, err: &io::Error) {
        if let Some(limit) = self.unit.hit.get() {
            let message = match limit {
                Limit::Declared => "member is larger than its zip header declares (a \
                                    decompression bomb?); the rest of it is not scanned"
                    .to_string(),
                _ => format!(
                    "expands more than {}x its size (a decompression bomb?; --max-ratio \
                     raises the limit); the rest of it is not scanned",
                    self.unit.max_ratio
                ),
            };
            // One warning per unit: the member (or stream) it happened in.
            self.unit.hit.set(Some(Limit::Bytes));
            if limit != Limit::Bytes {
                self.skip(chain, 1, message);
            }
            return;
        }
        if self.spent() {
            if !self.warned_limit {
                self.warned_limit = true;
                let message = format!(
                    "archive decompresses past {} (--max-archive-bytes raises the limit); \
                     the rest of the archive is not scanned",
                    human_bytes(self.budget.max_bytes)
                );
                // Name the top-level archive and the member being read.
                self.skip(chain, 1, message);
            }
            return;
        }
        if is_memory_refusal(err) {
            let what = within.map_or("data", Format::as_str);
            self.skip(
                chain,
                1,
                format!(
                    "{what} data needs more decoder memory than the {} left of the limit \
                     ({err}); the rest of it is not scanned",
                    human_bytes(self.budget.memory_left())
                ),
            );
            return;
        }
        let what = match within {
            Some(f) => format!("corrupt or truncated {} data", f.as_str()),
            None => "cannot read".to_string(),
        };
        self.error(chain, format!("{what}: {err}"));
    }

    #[cfg(feature = "archive")]
    /// Opens `reader` as `format`; `depth` is the nesting level this archive sits at.
    fn open(&mut self, format: Format, reader: &mut dyn Read, chain: &mut Vec<String>, depth: u32) {
        match format {
            Format::Tar => {
                self.report.archives += 1;
                self.tar(reader, chain, depth);
            }
            Format::Zip => {
                self.report.archives += 1;
                self.zip_in_stream(reader, chain, depth);
            }
            _ => self.decompress(format, reader, chain, depth),
        }
    }

    #[cfg(feature = "archive")]
    /// Decompresses `input` (a `format` stream) and scans what comes out as one member. The
    /// decoder's window is reserved from the memory budget first (refused with a warning when
    /// it does not fit); after corrupt data, the rest of the input is scanned as raw bytes.
    fn decompress(
        &mut self,
        format: Format,
        input: &mut dyn Read,
        chain: &mut Vec<String>,
        depth: u32,
    ) {
        self.report.archives += 1;
        let mut head = Vec::with_capacity(64);
        if let Err(e) = Read::take(&mut *input, 64).read_to_end(&mut head) {
            self.read_failed(chain, Some(format), &e);
            return;
        }
        let left = self.budget.memory_left();
        // The memory this decoder may use, and the cap given to it.
        let need = match format {
            Format::Zstd => {
                let window = zstd_window(&head).unwrap_or(8 << 20).max(1 << 10);
                // Room for the usual windows when it fits, so later frames of a stream
                // (concatenated files) are not refused for being a little larger.
                let window = if window < 8 << 20 && left >= 8 << 20 {
                    8 << 20
                } else {
                    window
                };
                // Every frame of the stream is held to the first one's window (rounded up
                // to a power of two), so what is reserved is what it may use.
                let log = 64 - (window - 1).leading_zeros();
                Some((1u64 << log.min(31), log.min(31)))
            }
            Format::Xz => {
                let dict = xz_dictionary(&head).unwrap_or(64 << 20);
                Some((dict.saturating_add(DECODER_OVERHEAD), 0))
            }
            // Small, fixed: 32 KiB (gzip), under 4 MiB (bzip2).
            _ => None,
        };
        let reserved = need.map_or(0, |(n, _)| n);
        if !self.budget.reserve(reserved) {
            self.skip(
                chain,
                1,
                format!(
                    "{} stream needs a {} window, more than the {} of decoder memory left \
                     (a hostile header?); not scanned",
                    format.as_str(),
                    human_bytes(reserved),
                    human_bytes(left)
                ),
            );
            return;
        }
        let mut recorder = Recorder {
            inner: input,
            tail: Vec::new(),
        };
        let failed;
        {
            let mut source = Cursor::new(head).chain(&mut recorder);
            let decoder: io::Result<Box<dyn Read + '_>> = match format {
                Format::Gzip => Ok(Box::new(flate2::read::MultiGzDecoder::new(&mut source))),
                Format::Bzip2 => Ok(Box::new(bzip2::read::MultiBzDecoder::new(&mut source))),
                Format::Xz => liblzma::stream::Stream::new_stream_decoder(
                    reserved,
                    liblzma::stream::CONCATENATED,
                )
                .map_err(io::Error::other)
                .map(|stream| {
                    Box::new(liblzma::read::XzDecoder::new_stream(&mut source, stream))
                        as Box<dyn Read>
                }),
                _ => zstd::stream::read::Decoder::new(&mut source).and_then(|mut d| {
                    d.window_log_max(need.map_or(27, |(_, log)| log.max(10)))?;
                    Ok(Box::new(d) as Box<dyn Read>)
                }),
            };
            match decoder {
                Ok(decoder) => {
                    let mut r = self.metered(decoder);
                    failed = r.failed.clone();
                    self.member(&mut r, chain, depth, Some(format));
                }
                Err(e) => {
                    self.budget.release(reserved);
                    self.read_failed(chain, Some(format), &e);
                    return;
                }
            }
        }
        self.budget.release(reserved);
        if failed.get() && !self.spent() && self.unit.hit.get().is_none() {
            // Whatever follows the corrupt spot is still read, as raw bytes.
            let Recorder { inner, tail } = recorder;
            let mut rest = Cursor::new(tail).chain(inner);
            chain.push(format!("(bytes after corrupt {} data)", format.as_str()));
            let _ = self.leaf(&mut rest, chain);
            chain.pop();
        }
    }

    /// Scans what `reader` yields for the member `chain`: opened as an archive when it is one
    /// (and the depth allows), else scanned as a blob. `within` is the format it came out of
    /// (None for a top-level input, at depth 0).
    fn member(
        &mut self,
        reader: &mut dyn Read,
        chain: &mut Vec<String>,
        depth: u32,
        within: Option<Format>,
    ) {
        let mut head = Vec::with_capacity(HEAD);
        if let Err(e) = Read::take(&mut *reader, HEAD as u64).read_to_end(&mut head) {
            // Scan what came out before the failure, then report it.
            // Reading a cursor cannot fail.
            let _ = self.leaf(&mut Cursor::new(head), chain);
            self.read_failed(chain, within, &e);
            return;
        }
        let format = if self.opts.depth == 0 || !cfg!(feature = "archive") {
            None
        } else {
            sniff(&head)
        };
        let mut whole = Cursor::new(head).chain(reader);
        match format {
            Some(format) => {
                // A tar straight out of a compression stream (.tar.gz) is one level, not two.
                let level = if format == Format::Tar && within.is_some_and(Format::is_compression) {
                    depth
                } else {
                    depth + 1
                };
                if level <= self.opts.depth {
                    self.open(format, &mut whole, chain, level);
                    return;
                }
                self.skip(
                    chain,
                    1,
                    format!(
                        "{} archive nested deeper than --archive-depth {}: scanned as raw bytes \
                         only",
                        format.as_str(),
                        self.opts.depth
                    ),
                );
                self.leaf_checked(&mut whole, chain, within);
            }
            None => {
                let unpackable = self.opts.depth > 0;
                if let Some(name) = unsupported(whole.get_ref().0.get_ref()).filter(|_| unpackable)
                {
                    self.skip(
                        chain,
                        1,
                        format!(
                            "{name} data cannot be unpacked by keysweep: scanned as raw bytes only"
                        ),
                    );
                }
                self.leaf_checked(&mut whole, chain, within)
            }
        }
    }

    fn leaf_checked(&mut self, reader: &mut dyn Read, chain: &[String], within: Option<Format>) {
        if let Err(e) = self.leaf(reader, chain) {
            self.read_failed(chain, within, &e);
        }
    }

    /// Scans a member's bytes as a blob; findings made before a read error are kept.
    fn leaf(&mut self, reader: &mut dyn Read, chain: &[String]) -> io::Result<()> {
        let origin = self.origin(chain);
        let (found, notes, result) = pieces::scan_stream(
            reader,
            &origin,
            self.scan,
            self.workers,
            &mut self.buf,
            self.opts.segments(),
        );
        self.report.findings.extend(found);
        self.notes.extend(notes);
        result
    }

    /// Counts one member against the member limit; past it, warns once and returns false.
    fn count_member(&mut self, chain: &[String]) -> bool {
        if self.budget.member() {
            return true;
        }
        if self.budget.members.get() == self.budget.max_members + 1 {
            let message = format!(
                "more than {} archive members: the rest are not scanned",
                self.budget.max_members
            );
            self.skip(chain, 1, message);
        }
        false
    }

    #[cfg(feature = "archive")]
    fn tar(&mut self, reader: &mut dyn Read, chain: &mut Vec<String>, depth: u32) {
        let mut archive = tar::Archive::new(reader);
        let mut broken = false;
        match archive.entries() {
            Err(e) => {
                self.read_failed(chain, Some(Format::Tar), &e);
                broken = true;
            }
            Ok(entries) => {
                let mut last: Option<String> = None;
                for entry in entries {
                    let mut entry = match entry {
                        Ok(entry) => entry,
                        Err(e) => {
                            if self.spent() || self.unit.hit.get().is_some() {
                                self.read_failed(chain, Some(Format::Tar), &e);
                            } else {
                                // Name the member after which the archive broke.
                                let after = last
                                    .map(|m| format!(" (after member {m})"))
                                    .unwrap_or_default();
                                self.error(
                                    chain,
                                    format!(
                                        "corrupt or truncated tar data{after}: {e}; the rest is \
                                         scanned as raw bytes"
                                    ),
                                );
                                broken = true;
                            }
                            break;
                        }
                    };
                    let kind = entry.header().entry_type();
                    if !(kind.is_file() || kind == tar::EntryType::Continuous) {
                        continue;
                    }
                    // The name exactly as stored (`../x`, `/etc/x` included): nothing is
                    // written, so it is only a name.
                    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                    last = Some(name.clone());
                    chain.push(name);
                    if !self.count_member(chain) {
                        chain.pop();
                        return;
                    }
                    self.member(&mut entry, chain, depth, Some(Format::Tar));
                    chain.pop();
                    if self.spent() || self.unit.hit.get().is_some() {
                        return;
                    }
                }
            }
        }
        if self.spent() || self.unit.hit.get().is_some() {
            return;
        }
        // What follows the corrupt spot, or the end-of-archive blocks (padding, or data
        // appended to the tar), is scanned as raw bytes.
        let mut rest = archive.into_inner();
        chain.push(if broken {
            "(bytes after corrupt tar data)".to_string()
        } else {
            "(bytes after the end of the tar archive)".to_string()
        });
        if let Err(e) = self.leaf(&mut rest, chain) {
            chain.pop();
            self.read_failed(chain, Some(Format::Tar), &e);
            return;
        }
        chain.pop();
    }

    #[cfg(feature = "archive")]
    /// A zip read from a stream: held in memory when it fits (its directory is at its end),
    /// else read member by member from its local headers.
    fn zip_in_stream(&mut self, reader: &mut dyn Read, chain: &mut Vec<String>, depth: u32) {
        let cap = MAX_NESTED_ZIP.min(self.budget.memory_left());
        let mut bytes = Vec::new();
        match Read::take(&mut *reader, cap + 1).read_to_end(&mut bytes) {
            Ok(_) if bytes.len() as u64 > cap => {
                self.warn(
                    chain,
                    format!(
                        "zip larger than {} inside a stream: read member by member from its \
                         local headers",
                        human_bytes(cap)
                    ),
                );
                self.zip_stream(&mut Cursor::new(bytes).chain(reader), chain, depth, None);
            }
            Ok(_) => {
                let held = bytes.len() as u64;
                self.budget.reserve(held);
                self.zip(&mut Cursor::new(&bytes[..]), held, chain, depth);
                self.budget.release(held);
            }
            Err(e) => {
                // What was read is scanned as raw bytes.
                let _ = self.leaf(&mut Cursor::new(bytes), chain);
                self.read_failed(chain, Some(Format::Zip), &e);
            }
        }
    }

    #[cfg(feature = "archive")]
    /// Reads a zip by random access: by its central directory, or, when that is broken or
    /// too large to hold, by walking the members' local headers from the start. A member
    /// past a limit is skipped alone; the members after it are still read.
    fn zip<R: Read + io::Seek>(
        &mut self,
        reader: &mut R,
        len: u64,
        chain: &mut Vec<String>,
        depth: u32,
    ) {
        let entries = zip_entry_count(reader, len);
        if let Some(n) = entries.filter(|&n| n > MAX_DIRECTORY) {
            self.warn(
                chain,
                format!(
                    "zip directory lists {n} members: read from their local headers instead \
                     of holding the directory"
                ),
            );
            if io::Seek::rewind(reader).is_ok() {
                self.zip_stream(reader, chain, depth, Some(n));
            }
            return;
        }
        if io::Seek::rewind(reader).is_err() {
            self.error(chain, "cannot read zip".to_string());
            return;
        }
        let mut archive = match zip::ZipArchive::new(&mut *reader) {
            Ok(archive) => archive,
            Err(e) => {
                self.error(
                    chain,
                    format!(
                        "corrupt zip (central directory: {e}); members read from their local \
                         headers instead"
                    ),
                );
                if io::Seek::rewind(reader).is_ok() {
                    self.zip_stream(reader, chain, depth, None);
                }
                return;
            }
        };
        let total = archive.len();
        for index in 0..total {
            let (name, encrypted, is_dir, method, size, packed) = match archive.by_index_raw(index)
            {
                Ok(file) => (
                    file.name().to_string(),
                    file.encrypted(),
                    file.is_dir(),
                    file.compression(),
                    file.size(),
                    file.compressed_size(),
                ),
                Err(e) => {
                    self.error(chain, format!("corrupt zip member #{index}: {e}"));
                    continue;
                }
            };
            if is_dir {
                continue;
            }
            chain.push(name);
            if !self.count_member(chain) {
                chain.pop();
                let left = (total - index) as u64;
                self.report.unscanned += left.saturating_sub(1);
                return;
            }
            if self.spent() {
                self.after_limit += 1;
            } else if encrypted {
                self.skip(chain, 1, "encrypted zip member: not scanned".to_string());
            } else if size > self.budget.remaining() {
                self.skip(
                    chain,
                    1,
                    format!(
                        "zip member decompresses to {}, past the {} left of --max-archive-bytes: \
                         not scanned (later members are)",
                        human_bytes(size),
                        human_bytes(self.budget.remaining())
                    ),
                );
            } else {
                let unit = Rc::new(Unit::new(packed, self.opts.max_ratio));
                let outer = std::mem::replace(&mut self.unit, unit);
                // Zstd and xz members are decoded here, with the memory caps.
                let own = match method {
                    zip::CompressionMethod::Zstd => Some(Format::Zstd),
                    zip::CompressionMethod::Xz => Some(Format::Xz),
                    _ => None,
                };
                let opened = match own {
                    Some(format) => archive.by_index_raw(index).map(|raw| {
                        let mut raw = raw;
                        self.decompress(format, &mut raw, chain, depth);
                    }),
                    None => archive.by_index(index).map(|file| {
                        let mut reader = self.metered(file);
                        reader.declared = Some(size);
                        self.member(&mut reader, chain, depth, Some(Format::Zip));
                    }),
                };
                self.unit = outer;
                match opened {
                    Ok(()) => {}
                    // A method or feature this build cannot read: not damage.
                    Err(zip::result::ZipError::UnsupportedArchive(what)) => {
                        self.skip(chain, 1, format!("zip member not scanned: {what}"))
                    }
                    Err(e) => self.error(chain, format!("cannot open zip member: {e}")),
                }
            }
            chain.pop();
        }
    }

    #[cfg(feature = "archive")]
    /// Members of a zip from their local headers, front to back: for a broken or huge
    /// central directory, or a zip too large to hold in memory. `listed` is how many members
    /// the directory says there are, when known.
    fn zip_stream(
        &mut self,
        mut reader: &mut dyn Read,
        chain: &mut Vec<String>,
        depth: u32,
        listed: Option<u64>,
    ) {
        let mut seen = 0u64;
        let broken = loop {
            let file = match zip::read::read_zipfile_from_stream(&mut reader) {
                Ok(Some(file)) => file,
                // The directory starts: every member was read.
                Ok(None) => return,
                Err(e) => break e.to_string(),
            };
            seen += 1;
            if file.is_dir() {
                continue;
            }
            chain.push(file.name().to_string());
            if !self.count_member(chain) {
                chain.pop();
                if let Some(n) = listed {
                    self.report.unscanned += n.saturating_sub(seen);
                }
                return;
            }
            if self.spent() {
                self.after_limit += 1;
            } else if file.encrypted() {
                self.skip(chain, 1, "encrypted zip member: not scanned".to_string());
            } else {
                let unit = Rc::new(Unit::new(file.compressed_size(), self.opts.max_ratio));
                let outer = std::mem::replace(&mut self.unit, unit);
                let declared = Some(file.size()).filter(|&s| s > 0);
                let mut reader = self.metered(file);
                reader.declared = declared;
                self.member(&mut reader, chain, depth, Some(Format::Zip));
                self.unit = outer;
            }
            chain.pop();
        };
        let left = listed.map(|n| n.saturating_sub(seen));
        self.error(
            chain,
            format!(
                "zip member cannot be read from its local header ({broken}){}; the rest is \
                 scanned as raw bytes",
                left.map(|n| format!(", {n} listed members left"))
                    .unwrap_or_default()
            ),
        );
        chain.push("(bytes after an unreadable zip member)".to_string());
        let _ = self.leaf(&mut reader, chain);
        chain.pop();
    }
}

/// Without the `archive` feature nothing is opened (`scan_source` and `member` never sniff a
/// format), so these are never reached; they scan what they are given as raw bytes.
#[cfg(not(feature = "archive"))]
impl Walker<'_, '_, '_> {
    fn open(&mut self, _: Format, reader: &mut dyn Read, chain: &mut Vec<String>, _: u32) {
        self.leaf_checked(reader, chain, None);
    }

    fn zip<R: Read + io::Seek>(&mut self, reader: &mut R, _: u64, chain: &mut Vec<String>, _: u32) {
        self.leaf_checked(reader, chain, None);
    }
}

/// Formats keysweep recognises but cannot unpack: their contents are only scanned as raw
/// bytes, which is counted as not scanned.
pub(crate) fn unsupported(head: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 7] = [
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"Rar!\x1a\x07", "rar"),
        (b"\x04\x22\x4d\x18", "lz4"),
        (b"LZIP", "lzip"),
        (b"\x89LZO\x00\r\n\x1a\n", "lzop"),
        (b"\x1f\x9d", "compress (.Z)"),
        (b"MSCF\x00\x00\x00\x00", "cab"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, name)| *name)
}

/// Lines and columns that come before a segment's first byte in the whole stream.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Shift {
    lines: usize,
    /// Code points between the last newline before the segment and its start.
    columns: usize,
}

impl Shift {
    /// The lines and columns `bytes` span: what the shift of the segment after them grows by
    /// (see [`Self::then`]). Segments' spans can be counted apart, on several threads.
    pub(crate) fn of(bytes: &[u8]) -> Shift {
        // Bytes that do not continue a UTF-8 character, counted with SIMD: a file without a
        // newline has its whole length counted here.
        let code_points = bytecount::num_chars;
        match memchr::memrchr(b'\n', bytes) {
            Some(last) => Shift {
                // SIMD counting: a pass over every byte of a large input, as fast again as
                // counting matches one by one.
                lines: bytecount::count(bytes, b'\n'),
                columns: code_points(&bytes[last + 1..]),
            },
            None => Shift {
                lines: 0,
                columns: code_points(bytes),
            },
        }
    }

    /// Moves past bytes spanning `next` (from [`Self::of`]).
    pub(crate) fn then(&mut self, next: Shift) {
        if next.lines > 0 {
            self.lines += next.lines;
            self.columns = next.columns;
        } else {
            self.columns += next.columns;
        }
    }

    pub(crate) fn apply(&self, finding: &mut Finding) {
        let loc = &mut finding.location;
        if loc.line == 1 {
            loc.column += self.columns;
        }
        loc.line += self.lines;
    }
}

/// Scans everything `reader` yields as one blob from `origin`, in segments of [`SEGMENT`]
/// bytes that overlap by [`SEGMENT_OVERLAP`], so memory stays bounded whatever the stream's
/// length. Line and column are those in the whole stream. On a read error the bytes read
/// before it are scanned and the error returned with the findings.
pub fn scan_stream(
    reader: &mut dyn Read,
    origin: &Origin,
    scan: &mut ScanFn<'_>,
    buf: &mut Vec<u8>,
) -> (Vec<Finding>, io::Result<()>) {
    let (found, _, result) = pieces::scan_stream(
        reader,
        origin,
        &mut |data: &[u8], origin: &Origin| (scan(data, origin), Vec::new()),
        None,
        buf,
        (SEGMENT, SEGMENT_OVERLAP),
    );
    (found, result)
}

/// Keeps the findings of one segment that it reports itself: those that start in
/// `own_from..own_to` (to its end when it is the last, `!more`); the overlap's other half
/// belongs to the segment before or after.
pub(crate) fn keep_own(
    found: &mut Vec<Finding>,
    buf: &[u8],
    own_from: usize,
    own_to: usize,
    more: bool,
) {
    // Bounds only matter for findings (rare): walking 16 MiB for them costs more than the
    // scan of a clean segment.
    if (own_from > 0 || more) && !found.is_empty() {
        let bounds = finding::locate(buf, &[own_from, own_to], |_| {});
        let (lo, hi) = (bounds[0], bounds[1]);
        found.retain(|f| {
            let at = (f.location.line, f.location.column);
            at >= lo && (!more || at < hi)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert!(parse_size("lots").is_err());
        assert_eq!(human_bytes(1 << 30), "1.0 GiB");
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(sniff(&[0x1f, 0x8b, 0x08, 0]), Some(Format::Gzip));
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Format::Zip));
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd, 1]), Some(Format::Zstd));
        assert_eq!(sniff(b"plain text"), None);
        let mut tar = vec![0u8; 512];
        tar[..5].copy_from_slice(b"a.txt");
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), Some(Format::Tar));
    }

    /// A stream scanned in tiny segments reports each line once, at its place in the whole.
    #[test]
    fn segments_report_each_finding_once_in_place() {
        use crate::detect::Detector;
        use crate::scan::BlobScanner;
        let detector = Detector::new(crate::rules::builtin()).unwrap();
        let mut scanner = BlobScanner::new(&detector);
        let mut text = String::new();
        for i in 0..400 {
            if i % 37 == 5 {
                text.push_str("x = AKIAR7VZ3MOXQ4JTLW2N\n");
            } else {
                text.push_str("nothing to see on this line at all\n");
            }
        }
        let whole = scanner.scan_bytes(text.as_bytes(), &Origin::file("t"));
        let mut buf = Vec::new();
        let (parts, _, result) = pieces::scan_stream(
            &mut Cursor::new(text.as_bytes()),
            &Origin::file("t"),
            &mut |d: &[u8], o: &Origin| (scanner.scan_bytes(d, o), Vec::new()),
            None,
            &mut buf,
            (1024, 256),
        );
        assert!(result.is_ok());
        let at = |v: &[Finding]| {
            v.iter()
                .map(|f| (f.location.line, f.location.column))
                .collect::<Vec<_>>()
        };
        assert_eq!(whole.len(), 11);
        assert_eq!(at(&whole), at(&parts));
    }
}
