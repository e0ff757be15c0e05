//! Archives and compressed streams as inputs: zip, tar, gzip, bzip2, xz and zstd, nested up to
//! a depth, recognised by their magic bytes (not by file name).
//!
//! Everything happens in memory while streaming: a member is decompressed into a bounded
//! segment buffer and handed to the same blob scanner a plain file goes to; nothing is ever
//! written to disk. A member's origin keeps the file on disk as `path` and names the chain of
//! members in `archive_member`, joined by `!` (`dump/app.zip` + `inner.tar.gz!x/y.env`).
//!
//! Hostile archives are bounded: every decompressed byte is charged to a budget per top-level
//! archive (total bytes, and the ratio to the archive's size once past [`RATIO_FLOOR`]). Past a
//! limit the rest of that archive is skipped with a warning; findings made before are kept.
//! Corrupt or truncated data is an error naming the file and member, and the scan goes on.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::rc::Rc;

use crate::finding::{self, Finding};
use crate::input::{InputError, Origin};

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
pub const HEAD: usize = 512;

/// How deep and how far archives are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// Nesting levels to open; 0 scans archives as raw bytes.
    pub depth: u32,
    /// Decompressed bytes allowed per top-level archive.
    pub max_bytes: u64,
    /// Decompressed-to-compressed ratio allowed per top-level archive (past [`RATIO_FLOOR`]).
    pub max_ratio: u64,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            depth: DEFAULT_DEPTH,
            max_bytes: DEFAULT_MAX_BYTES,
            max_ratio: DEFAULT_MAX_RATIO,
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

/// What opening one top-level archive produced.
#[derive(Debug, Default)]
pub struct ArchiveReport {
    pub findings: Vec<Finding>,
    /// Limits reached, encrypted members, nesting past the depth: scanned partly or not at all.
    pub warnings: Vec<InputError>,
    /// Corrupt or truncated data.
    pub errors: Vec<InputError>,
    /// Archives and compressed streams opened, nested ones included.
    pub archives: u64,
    /// Bytes decompressed.
    pub decompressed: u64,
}

/// The scanner a member's bytes go to: the plain-file blob scanner.
pub type ScanFn<'a> = dyn FnMut(&[u8], &Origin) -> Vec<Finding> + 'a;

/// Opens `data` (a whole file, whose origin is `origin`) as `format` and scans every member,
/// nested archives included up to `opts.depth` levels. A compressed stream or tar is read
/// front to back, and `release` is told which bytes of `data` are done with (so a mapped
/// file's pages can be dropped); a zip is read by random access. `buf` is the segment buffer
/// (kept by the caller to be reused).
pub fn scan_archive(
    data: &[u8],
    format: Format,
    origin: &Origin,
    opts: &ArchiveOptions,
    scan: &mut ScanFn<'_>,
    release: &mut dyn FnMut(std::ops::Range<usize>),
    buf: &mut Vec<u8>,
) -> ArchiveReport {
    if format == Format::Zip {
        return scan_zip(
            Cursor::new(data),
            data.len() as u64,
            origin,
            opts,
            scan,
            buf,
        );
    }
    let mut reader = Releasing {
        data,
        pos: 0,
        released: 0,
        release,
    };
    scan_archive_stream(
        &mut reader,
        format,
        data.len() as u64,
        origin,
        opts,
        scan,
        buf,
    )
}

/// Opens what `reader` yields (a stream of `input_len` bytes, read front to back: an object
/// being downloaded) as `format`, which must not be zip (see [`scan_zip`]), and scans every
/// member like [`scan_archive`] does.
pub fn scan_archive_stream(
    reader: &mut dyn Read,
    format: Format,
    input_len: u64,
    origin: &Origin,
    opts: &ArchiveOptions,
    scan: &mut ScanFn<'_>,
    buf: &mut Vec<u8>,
) -> ArchiveReport {
    walk(input_len, origin, opts, scan, buf, |walker, chain| {
        walker.open(format, reader, chain, 1)
    })
}

/// Opens a zip read by random access through `reader` (`input_len` bytes: a file in memory,
/// or a remote object read in ranges) and scans every member like [`scan_archive`] does.
pub fn scan_zip<R: Read + Seek>(
    mut reader: R,
    input_len: u64,
    origin: &Origin,
    opts: &ArchiveOptions,
    scan: &mut ScanFn<'_>,
    buf: &mut Vec<u8>,
) -> ArchiveReport {
    walk(input_len, origin, opts, scan, buf, |walker, chain| {
        walker.report.archives += 1;
        walker.zip(&mut reader, chain, 1);
    })
}

/// Runs `body` with a walker charged to a fresh budget for one top-level archive.
fn walk(
    input_len: u64,
    origin: &Origin,
    opts: &ArchiveOptions,
    scan: &mut ScanFn<'_>,
    buf: &mut Vec<u8>,
    body: impl FnOnce(&mut Walker<'_, '_>, &mut Vec<String>),
) -> ArchiveReport {
    let budget = Rc::new(Budget {
        used: Cell::new(0),
        hit: Cell::new(None),
        max_bytes: opts.max_bytes,
        max_ratio: opts.max_ratio,
        input_len,
    });
    let mut walker = Walker {
        depth_limit: opts.depth,
        budget: budget.clone(),
        warned_limit: false,
        scan,
        base: origin.clone(),
        report: ArchiveReport::default(),
        buf: std::mem::take(buf),
    };
    let mut chain = Vec::new();
    body(&mut walker, &mut chain);
    walker.report.decompressed = budget.used.get();
    *buf = walker.buf;
    walker.report
}

/// Reads a byte slice front to back, releasing what lies well behind.
struct Releasing<'d, 'r> {
    data: &'d [u8],
    pos: usize,
    released: usize,
    release: &'r mut dyn FnMut(std::ops::Range<usize>),
}

impl Read for Releasing<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        const STEP: usize = 32 << 20;
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos >= self.released + 2 * STEP {
            let upto = self.pos - STEP;
            (self.release)(self.released..upto);
            self.released = upto;
        }
        Ok(n)
    }
}

/// Which limit stopped an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Bytes,
    Ratio,
}

/// Decompressed bytes charged against one top-level archive's limits.
struct Budget {
    used: Cell<u64>,
    hit: Cell<Option<Limit>>,
    max_bytes: u64,
    max_ratio: u64,
    input_len: u64,
}

impl Budget {
    /// Charges `n` bytes; false once a limit is passed.
    fn charge(&self, n: usize) -> bool {
        if self.hit.get().is_some() {
            return false;
        }
        let used = self.used.get().saturating_add(n as u64);
        self.used.set(used);
        if used > self.max_bytes {
            self.hit.set(Some(Limit::Bytes));
        } else if used > RATIO_FLOOR && used / self.input_len.max(1) > self.max_ratio {
            self.hit.set(Some(Limit::Ratio));
        }
        self.hit.get().is_none()
    }

    fn stopped(&self) -> bool {
        self.hit.get().is_some()
    }
}

/// The error a metered reader returns once the budget is spent.
#[derive(Debug)]
struct LimitReached;

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("archive limit reached")
    }
}

impl std::error::Error for LimitReached {}

/// A decompressor's output, charged to the budget as it is read.
struct Metered<R> {
    inner: R,
    budget: Rc<Budget>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.budget.stopped() {
            return Err(io::Error::other(LimitReached));
        }
        let n = self.inner.read(buf)?;
        if !self.budget.charge(n) {
            return Err(io::Error::other(LimitReached));
        }
        Ok(n)
    }
}

/// Walks one top-level archive depth-first.
struct Walker<'a, 's> {
    depth_limit: u32,
    budget: Rc<Budget>,
    warned_limit: bool,
    scan: &'a mut ScanFn<'s>,
    base: Origin,
    report: ArchiveReport,
    /// Segment buffer, reused for every member.
    buf: Vec<u8>,
}

impl Walker<'_, '_> {
    /// `path!member!member` for messages.
    fn name(&self, chain: &[String]) -> String {
        let mut name = self.base.path.clone();
        for member in chain {
            name.push('!');
            name.push_str(member);
        }
        if let Some(version) = &self.base.version_id {
            name.push_str(" @ version ");
            name.push_str(version);
        }
        name
    }

    fn warn(&mut self, chain: &[String], message: String) {
        let path = self.name(chain);
        self.report.warnings.push(InputError { path, message });
    }

    fn error(&mut self, chain: &[String], message: String) {
        let path = self.name(chain);
        self.report.errors.push(InputError { path, message });
    }

    fn metered<R: Read>(&self, inner: R) -> Metered<R> {
        Metered {
            inner,
            budget: self.budget.clone(),
        }
    }

    /// Reports a failed read: the limit warning (once), or the corruption error.
    fn read_failed(&mut self, chain: &[String], within: Option<Format>, err: &io::Error) {
        if let Some(limit) = self.budget.hit.get() {
            if !self.warned_limit {
                self.warned_limit = true;
                let message = match limit {
                    Limit::Bytes => format!(
                        "archive decompresses past {} (--max-archive-bytes raises the limit); \
                         the rest of the archive is skipped",
                        human_bytes(self.budget.max_bytes)
                    ),
                    Limit::Ratio => format!(
                        "archive expands more than {}x its size (a decompression bomb?; \
                         --max-ratio raises the limit); the rest of the archive is skipped",
                        self.budget.max_ratio
                    ),
                };
                // Name the top-level archive and the member being read.
                self.warn(chain, message);
            }
            return;
        }
        let what = match within {
            Some(f) => format!("corrupt or truncated {} data", f.as_str()),
            None => "cannot read".to_string(),
        };
        self.error(chain, format!("{what}: {err}"));
    }

    /// Opens `reader` as `format`; `depth` is the nesting level this archive sits at.
    fn open(&mut self, format: Format, reader: &mut dyn Read, chain: &mut Vec<String>, depth: u32) {
        self.report.archives += 1;
        let result = match format {
            Format::Gzip => {
                let mut r = self.metered(flate2::read::MultiGzDecoder::new(reader));
                self.member(&mut r, chain, depth, Some(format));
                Ok(())
            }
            Format::Bzip2 => {
                let mut r = self.metered(bzip2::read::MultiBzDecoder::new(reader));
                self.member(&mut r, chain, depth, Some(format));
                Ok(())
            }
            Format::Xz => {
                let mut r = self.metered(liblzma::read::XzDecoder::new_multi_decoder(reader));
                self.member(&mut r, chain, depth, Some(format));
                Ok(())
            }
            Format::Zstd => zstd::stream::read::Decoder::new(reader).map(|d| {
                let mut r = self.metered(d);
                self.member(&mut r, chain, depth, Some(format));
            }),
            Format::Tar => {
                self.tar(reader, chain, depth);
                Ok(())
            }
            Format::Zip => {
                let mut bytes = Vec::new();
                match Read::take(&mut *reader, MAX_NESTED_ZIP + 1).read_to_end(&mut bytes) {
                    Ok(_) if bytes.len() as u64 > MAX_NESTED_ZIP => {
                        self.warn(
                            chain,
                            format!(
                                "nested zip larger than {}: read member by member from its \
                                 local headers (members stored with data descriptors are skipped)",
                                human_bytes(MAX_NESTED_ZIP)
                            ),
                        );
                        self.zip_stream(&mut Cursor::new(bytes).chain(reader), chain, depth);
                        Ok(())
                    }
                    Ok(_) => {
                        self.zip(&mut Cursor::new(&bytes[..]), chain, depth);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
        };
        if let Err(e) = result {
            self.read_failed(chain, Some(format), &e);
        }
    }

    /// Scans what `reader` yields for the member `chain`: opened as an archive when it is one
    /// (and the depth allows), else scanned as a blob. `within` is the format it came out of.
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
        let mut whole = Cursor::new(head).chain(reader);
        match sniff(whole.get_ref().0.get_ref()) {
            Some(format) => {
                // A tar straight out of a compression stream (.tar.gz) is one level, not two.
                let level = if format == Format::Tar && within.is_some_and(Format::is_compression) {
                    depth
                } else {
                    depth + 1
                };
                if level <= self.depth_limit {
                    self.open(format, &mut whole, chain, level);
                    return;
                }
                self.warn(
                    chain,
                    format!(
                        "{} archive nested deeper than --archive-depth {}: scanned as raw bytes",
                        format.as_str(),
                        self.depth_limit
                    ),
                );
                self.leaf_checked(&mut whole, chain, within);
            }
            None => self.leaf_checked(&mut whole, chain, within),
        }
    }

    fn leaf_checked(&mut self, reader: &mut dyn Read, chain: &[String], within: Option<Format>) {
        if let Err(e) = self.leaf(reader, chain) {
            self.read_failed(chain, within, &e);
        }
    }

    /// Scans a member's bytes as a blob; findings made before a read error are kept.
    fn leaf(&mut self, reader: &mut dyn Read, chain: &[String]) -> io::Result<()> {
        let origin = Origin {
            archive_member: (!chain.is_empty()).then(|| chain.join("!")),
            ..self.base.clone()
        };
        let (found, result) = scan_stream(reader, &origin, &mut *self.scan, &mut self.buf);
        self.report.findings.extend(found);
        result
    }

    fn tar(&mut self, reader: &mut dyn Read, chain: &mut Vec<String>, depth: u32) {
        let mut archive = tar::Archive::new(reader);
        let entries = match archive.entries() {
            Ok(entries) => entries,
            Err(e) => {
                self.read_failed(chain, Some(Format::Tar), &e);
                return;
            }
        };
        let mut last: Option<String> = None;
        for entry in entries {
            let mut entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    if !self.budget.stopped() {
                        // Name the member after which the archive broke.
                        let after = last
                            .map(|m| format!(" (after member {m})"))
                            .unwrap_or_default();
                        self.error(chain, format!("corrupt or truncated tar data{after}: {e}"));
                    } else {
                        self.read_failed(chain, Some(Format::Tar), &e);
                    }
                    return;
                }
            };
            let kind = entry.header().entry_type();
            if !(kind.is_file() || kind == tar::EntryType::Continuous) {
                continue;
            }
            // The name exactly as stored (`../x`, `/etc/x` included): nothing is written, so
            // it is only a name.
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            last = Some(name.clone());
            chain.push(name);
            self.member(&mut entry, chain, depth, Some(Format::Tar));
            chain.pop();
            if self.budget.stopped() {
                return;
            }
        }
    }

    /// Reads a zip by random access: by its central directory, or, when that is broken, by
    /// walking the members' local headers from the start.
    fn zip<R: Read + Seek>(&mut self, reader: &mut R, chain: &mut Vec<String>, depth: u32) {
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
                match reader.seek(SeekFrom::Start(0)) {
                    Ok(_) => self.zip_stream(reader, chain, depth),
                    Err(e) => self.read_failed(chain, Some(Format::Zip), &e),
                }
                return;
            }
        };
        for index in 0..archive.len() {
            let (name, encrypted, is_dir) = match archive.by_index_raw(index) {
                Ok(file) => (file.name().to_string(), file.encrypted(), file.is_dir()),
                Err(e) => {
                    self.error(chain, format!("corrupt zip member #{index}: {e}"));
                    continue;
                }
            };
            if is_dir {
                continue;
            }
            chain.push(name);
            if encrypted {
                self.warn(chain, "encrypted zip member: not scanned".to_string());
            } else {
                match archive.by_index(index) {
                    Ok(file) => {
                        let mut reader = self.metered(file);
                        self.member(&mut reader, chain, depth, Some(Format::Zip));
                    }
                    // A method or feature this build cannot read: not damage.
                    Err(zip::result::ZipError::UnsupportedArchive(what)) => {
                        self.warn(chain, format!("zip member not scanned: {what}"))
                    }
                    Err(e) => self.error(chain, format!("cannot open zip member: {e}")),
                }
            }
            chain.pop();
            if self.budget.stopped() {
                return;
            }
        }
    }

    /// Members of a zip from their local headers, front to back: for a broken central
    /// directory, or a nested zip too large to hold in memory.
    fn zip_stream(&mut self, mut reader: &mut dyn Read, chain: &mut Vec<String>, depth: u32) {
        loop {
            let file = match zip::read::read_zipfile_from_stream(&mut reader) {
                Ok(Some(file)) => file,
                // The directory starts, or the broken part is reached: stop there.
                Ok(None) | Err(_) => return,
            };
            if file.is_dir() {
                continue;
            }
            chain.push(file.name().to_string());
            if file.encrypted() {
                self.warn(chain, "encrypted zip member: not scanned".to_string());
            } else {
                let mut reader = self.metered(file);
                self.member(&mut reader, chain, depth, Some(Format::Zip));
            }
            chain.pop();
            if self.budget.stopped() {
                return;
            }
        }
    }
}

/// Lines and columns that come before a segment's first byte in the whole stream.
#[derive(Debug, Clone, Copy, Default)]
struct Shift {
    lines: usize,
    /// Code points between the last newline before the segment and its start.
    columns: usize,
}

impl Shift {
    fn advance(&mut self, bytes: &[u8]) {
        let code_points = |b: &[u8]| b.iter().filter(|&&c| (c & 0xC0) != 0x80).count();
        match memchr::memrchr(b'\n', bytes) {
            Some(last) => {
                self.lines += memchr::memchr_iter(b'\n', bytes).count();
                self.columns = code_points(&bytes[last + 1..]);
            }
            None => self.columns += code_points(bytes),
        }
    }

    fn apply(&self, finding: &mut Finding) {
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
    scan_stream_sized(reader, origin, scan, buf, SEGMENT, SEGMENT_OVERLAP)
}

fn scan_stream_sized(
    reader: &mut dyn Read,
    origin: &Origin,
    scan: &mut ScanFn<'_>,
    buf: &mut Vec<u8>,
    segment: usize,
    overlap: usize,
) -> (Vec<Finding>, io::Result<()>) {
    let mut out = Vec::new();
    buf.clear();
    let mut shift = Shift::default();
    // Offset in `buf` from which this segment reports findings (the ones before were the
    // previous segment's).
    let mut own_from = 0;
    loop {
        let want = (segment - buf.len()) as u64;
        let result = Read::take(&mut *reader, want).read_to_end(buf);
        let more = result.is_ok() && buf.len() >= segment;
        // A segment followed by another reports only what starts before its last half-overlap;
        // the next one (which starts `overlap` bytes back) reports the rest.
        let own_to = if more {
            buf.len() - overlap / 2
        } else {
            buf.len()
        };
        let mut found = scan(buf, origin);
        if own_from > 0 || more {
            let bounds = finding::locate(buf, &[own_from, own_to], |_| {});
            let (lo, hi) = (bounds[0], bounds[1]);
            found.retain(|f| {
                let at = (f.location.line, f.location.column);
                at >= lo && (!more || at < hi)
            });
        }
        for f in &mut found {
            shift.apply(f);
        }
        out.extend(found);
        if let Err(e) = result {
            return (out, Err(e));
        }
        if !more {
            return (out, Ok(()));
        }
        let cut = buf.len() - overlap;
        shift.advance(&buf[..cut]);
        buf.drain(..cut);
        own_from = overlap / 2;
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
        let (parts, result) = scan_stream_sized(
            &mut Cursor::new(text.as_bytes()),
            &Origin::file("t"),
            &mut |d, o| scanner.scan_bytes(d, o),
            &mut buf,
            1024,
            256,
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
