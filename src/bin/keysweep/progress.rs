//! The progress line on stderr during long scans: bytes and files done, findings so far,
//! throughput. main.rs creates it only when stderr is a terminal (and not `--no-progress` or
//! `--quiet`); it never writes to stdout, and it erases itself before the report is written.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use keysweep::scan::Observer;
use keysweep::term::plural;

/// Scans shorter than this never show the line.
pub const SHOW_AFTER: Duration = Duration::from_millis(800);
/// Redraws per second.
const HZ: u8 = 4;

/// Counters behind the progress line, updated by the worker threads.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    shown: AtomicBool,
    files: AtomicU64,
    findings: AtomicU64,
    archives: AtomicU64,
    /// Milliseconds since start at the last message update.
    last_message: AtomicU64,
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("files", &self.files)
            .field("findings", &self.findings)
            .finish_non_exhaustive()
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// A progress line, hidden until the scan has run for [`SHOW_AFTER`].
    pub fn new() -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {bytes} scanned, {msg} ({binary_bytes_per_sec}, {elapsed})",
        ) {
            bar.set_style(style);
        }
        Progress {
            bar,
            started: Instant::now(),
            shown: AtomicBool::new(false),
            files: AtomicU64::new(0),
            findings: AtomicU64::new(0),
            archives: AtomicU64::new(0),
            last_message: AtomicU64::new(0),
        }
    }

    /// Erases the line (before the report and summary are written).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn message(&self) -> String {
        let files = self.files.load(Ordering::Relaxed);
        let findings = self.findings.load(Ordering::Relaxed);
        let archives = self.archives.load(Ordering::Relaxed);
        let mut msg = format!(
            "{files} file{}, {findings} finding{}",
            plural(files),
            plural(findings)
        );
        if archives > 0 {
            msg.push_str(&format!(", {archives} archive{}", plural(archives)));
        }
        msg
    }
}

impl Observer for Progress {
    fn file_done(&self, bytes: u64, findings: usize, archives: u64) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.findings.fetch_add(findings as u64, Ordering::Relaxed);
        self.archives.fetch_add(archives, Ordering::Relaxed);
        self.bar.inc(bytes);
        let now = self.started.elapsed();
        if now < SHOW_AFTER {
            return;
        }
        if !self.shown.load(Ordering::Relaxed)
            && self
                .shown
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.bar
                .set_draw_target(ProgressDrawTarget::stderr_with_hz(HZ));
            self.bar
                .enable_steady_tick(Duration::from_millis(1000 / u64::from(HZ)));
        }
        // Building the message takes a lock inside the bar: a few times a second is enough.
        let ms = now.as_millis() as u64;
        let last = self.last_message.load(Ordering::Relaxed);
        if ms >= last + 1000 / u64::from(HZ)
            && self
                .last_message
                .compare_exchange(last, ms, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.bar.set_message(self.message());
        }
    }
}
