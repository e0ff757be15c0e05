//! Reading one file: small files into a reused buffer, large ones memory-mapped.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use memmap2::Mmap;

/// Files at least this large are memory-mapped instead of read. Below it a `read` into the
/// thread's reused buffer is cheaper than setting up and tearing down a mapping.
pub const MMAP_THRESHOLD: u64 = 8 * 1024 * 1024;

/// The bytes of one file.
pub enum Contents<'a> {
    /// Read whole into the caller's buffer.
    Buffer(&'a [u8]),
    /// Mapped; scan it piece by piece and release what was scanned (see [`release`]).
    Mapped(Mmap),
}

/// Opens and loads `path`, reading into `buf` (cleared first) or mapping it.
pub fn load<'a>(
    path: &Path,
    buf: &'a mut Vec<u8>,
    mmap_threshold: u64,
) -> io::Result<Contents<'a>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len >= mmap_threshold {
        // SAFETY: the mapping is read-only and private to this process. If another process
        // truncates the file while it is mapped, reading the vanished pages raises SIGBUS;
        // that is the accepted risk of every mmap-based scanner (ripgrep's too), taken only
        // for large files where mapping saves a copy.
        match unsafe { Mmap::map(&file) } {
            Ok(map) => {
                let _ = map.advise(memmap2::Advice::Sequential);
                return Ok(Contents::Mapped(map));
            }
            Err(_) => { /* fall back to read below */ }
        }
    }
    buf.clear();
    buf.reserve(len as usize);
    file.read_to_end(buf)?;
    Ok(Contents::Buffer(buf))
}

/// Reads all of stdin into `buf`.
pub fn read_stdin(buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    io::stdin().lock().read_to_end(buf)?;
    Ok(())
}

/// Tells the kernel the pages of `map[range]` are no longer needed, so scanning a file far
/// larger than memory keeps a small resident set. The pages are re-read if touched again.
pub fn release(map: &Mmap, range: std::ops::Range<usize>) {
    // SAFETY: `map` is a read-only file mapping; MADV_DONTNEED on it only drops the cached
    // page-table entries, and later reads fault the unchanged file contents back in. No
    // reference into the range is held across this call by the scanner.
    let _ = unsafe {
        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, range.start, range.len())
    };
}
