//! Memory-mapped files: only git pack files are mapped (by `input::git`); every scanned
//! input is read in pieces (see `input::archive::scan_source`), so a file truncated while it
//! is scanned ends early instead of raising SIGBUS.

use memmap2::Mmap;

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
