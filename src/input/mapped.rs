//! A large regular file mapped into memory and read where it lies, without copying it into
//! a buffer first (the copy was a quarter of a big file's scan), guarded against the file
//! shrinking meanwhile.
//!
//! Reading a mapped page past a file's end raises SIGBUS, which kills a process by default:
//! another process truncating a file while it is scanned would lose every finding made so
//! far. So while a [`Mapped`] is alive its address range is registered, and a SIGBUS
//! handler (installed once, before the first mapping) puts anonymous zero pages over the
//! rest of a registered mapping when a read of it faults, and marks the mapping
//! [`Mapped::truncated`]: the read goes on with zeros and the file is reported as changed.
//! A fault anywhere else is handed to the handler that was there before (the standard
//! library's stack-overflow handler, or the default action), so real bugs still crash.
//!
//! The handler does only what is safe in a signal handler: atomic loads and stores and one
//! `mmap` system call.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Mappings alive at once; when all are taken, a file is read instead of mapped.
const SLOTS: usize = 16;

/// One registered mapping: `start..end` (page-rounded); `start` 0 means free.
struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
    truncated: AtomicBool,
}

static REGISTRY: [Slot; SLOTS] = [const {
    Slot {
        start: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
        truncated: AtomicBool::new(false),
    }
}; SLOTS];

/// The SIGBUS action that was there before ours, to hand other faults to.
static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

/// A file's bytes, mapped read-only.
pub struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
    /// The mapped length rounded up to whole pages (what is unmapped).
    span: usize,
    slot: usize,
}

// The mapping is read-only and owned: it can be read from any thread.
unsafe impl Send for Mapped {}
unsafe impl Sync for Mapped {}

impl Mapped {
    /// Maps the first `len` bytes of `file` (its length when opened). None when it cannot
    /// be mapped (or every slot is taken, or the guard could not be installed): the caller
    /// reads the file instead.
    pub fn new(file: &File, len: u64) -> Option<Mapped> {
        let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
        if !guard_installed() {
            return None;
        }
        let page = page_size();
        let span = len.checked_add(page - 1)? & !(page - 1);
        // Claim a slot before mapping, so the range is guarded from its first read.
        let slot = REGISTRY.iter().position(|s| {
            s.end
                .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })?;
        // SAFETY: a new private read-only mapping of an open file; the kernel picks the
        // address. Nothing else refers to it until it is registered below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                span,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        let entry = &REGISTRY[slot];
        if ptr == libc::MAP_FAILED {
            entry.end.store(0, Ordering::Release);
            return None;
        }
        entry.truncated.store(false, Ordering::Relaxed);
        entry.end.store(ptr as usize + span, Ordering::Release);
        entry.start.store(ptr as usize, Ordering::Release);
        Some(Mapped {
            ptr,
            len,
            span,
            slot,
        })
    }

    /// The file's bytes as they were mapped. Bytes past a shrunken file's new end read as
    /// zeros (see [`Self::truncated`]).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr..ptr + len` is mapped readable for as long as `self` lives; a read
        // past the file's end is turned into zeros by the SIGBUS guard instead of a crash.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }

    /// Drops this process's pages of `range` (rounded inward to whole pages) once they are
    /// scanned, so the mapping does not hold the whole file in the resident set (a 4 GB
    /// file: 4.2 GB peak RSS without it). The bytes stay readable: a later read of the
    /// range maps them again from the page cache.
    pub fn release(&self, range: std::ops::Range<usize>) {
        let page = page_size();
        let start = range
            .start
            .checked_add(page - 1)
            .map_or(usize::MAX, |s| s & !(page - 1));
        let end = if range.end >= self.len {
            self.span
        } else {
            range.end & !(page - 1)
        };
        if start >= end {
            return;
        }
        // SAFETY: the range lies inside this mapping, which is private and read-only: its
        // pages are dropped and read again from the file on the next access.
        unsafe {
            libc::madvise(
                self.ptr.cast::<u8>().add(start).cast(),
                end - start,
                libc::MADV_DONTNEED,
            );
        }
    }

    /// Whether a read ran past the file's end: the file shrank while mapped, and the bytes
    /// from the faulting page on were read as zeros.
    pub fn truncated(&self) -> bool {
        REGISTRY[self.slot].truncated.load(Ordering::Acquire)
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        let entry = &REGISTRY[self.slot];
        // Unregister first: no read of the range can fault once it is unmapped.
        entry.start.store(0, Ordering::Release);
        // SAFETY: unmaps exactly what `new` mapped; no slice of it outlives `self`.
        unsafe {
            libc::munmap(self.ptr, self.span);
        }
        entry.end.store(0, Ordering::Release);
    }
}

fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page)
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096)
    })
}

/// Installs the SIGBUS handler once; false when that failed (nothing is mapped then).
fn guard_installed() -> bool {
    PREVIOUS
        .get_or_init(|| {
            page_size();
            // SAFETY: a zeroed sigaction is a valid starting point; the handler has the
            // SA_SIGINFO signature and the mask is emptied before use.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                (libc::sigaction(libc::SIGBUS, &action, &mut previous) == 0).then_some(previous)
            }
        })
        .is_some()
}

/// The SIGBUS handler: zero pages over the rest of the registered mapping the fault is in,
/// or the previous handler for any other fault.
extern "C" fn on_sigbus(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    for entry in &REGISTRY {
        let start = entry.start.load(Ordering::Acquire);
        let end = entry.end.load(Ordering::Acquire);
        if start == 0 || addr < start || addr >= end {
            continue;
        }
        let page = addr & !(page_size() - 1);
        // SAFETY: replaces pages of a mapping this process owns and keeps alive (it is
        // registered) with anonymous zero pages of the same protection.
        let done = unsafe {
            libc::mmap(
                page as *mut libc::c_void,
                end - page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if done != libc::MAP_FAILED {
            entry.truncated.store(true, Ordering::Release);
            return;
        }
    }
    // Not ours (or the zero pages could not be put there): what happened without us.
    match PREVIOUS.get().copied().flatten() {
        Some(previous)
            if previous.sa_sigaction != libc::SIG_DFL && previous.sa_sigaction != libc::SIG_IGN =>
        {
            // SAFETY: calls the handler that was installed before, with its own signature.
            unsafe {
                if previous.sa_flags & libc::SA_SIGINFO != 0 {
                    let handler: extern "C" fn(
                        libc::c_int,
                        *mut libc::siginfo_t,
                        *mut libc::c_void,
                    ) = std::mem::transmute(previous.sa_sigaction);
                    handler(signal, info, context);
                } else {
                    let handler: extern "C" fn(libc::c_int) =
                        std::mem::transmute(previous.sa_sigaction);
                    handler(signal);
                }
            }
        }
        _ => {
            // The default action: returning re-runs the faulting read, which now kills.
            // SAFETY: resets the disposition of SIGBUS; allowed in a signal handler.
            unsafe {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_mapped_file_reads_its_bytes() {
        let mut file = tempfile();
        file.write_all(b"aws_access_key_id = AKIA...\n").unwrap();
        let map = Mapped::new(&file, 28).unwrap();
        assert_eq!(map.bytes(), b"aws_access_key_id = AKIA...\n");
        assert!(!map.truncated());
    }

    #[test]
    fn a_file_shrinking_while_mapped_reads_as_zeros_and_is_marked() {
        let page = page_size();
        let mut file = tempfile();
        file.write_all(&vec![b'x'; 4 * page]).unwrap();
        let map = Mapped::new(&file, 4 * page as u64).unwrap();
        file.set_len(page as u64).unwrap();
        let bytes = map.bytes();
        // The page still in the file reads as before; past the new end, zeros instead of
        // SIGBUS.
        assert_eq!(bytes[page - 1], b'x');
        assert_eq!(bytes[2 * page], 0);
        assert!(bytes[2 * page..].iter().all(|&b| b == 0));
        assert!(map.truncated());
        drop(map);
        // The slot is free again and a new mapping starts unmarked.
        file.set_len(2 * page as u64).unwrap();
        let again = Mapped::new(&file, 2 * page as u64).unwrap();
        assert!(!again.truncated());
    }

    #[test]
    fn an_empty_file_is_not_mapped() {
        let file = tempfile();
        assert!(Mapped::new(&file, 0).is_none());
    }

    fn tempfile() -> File {
        let dir = std::env::temp_dir();
        let path = dir.join(format!(
            "keysweep-mapped-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let _ = std::fs::remove_file(&path);
        file
    }
}
