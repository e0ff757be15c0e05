//! The CloudTrail window of an investigation, and the leak time it starts at.

use std::time::SystemTime;

use crate::finding::Finding;
use crate::time::{format_utc, parse_date, unix};

/// The CloudTrail time window of the investigation: from the leak (Unix seconds) to whenever
/// the command runs. `start` is `None` when the leak time is unknown: CloudTrail then searches
/// the 90 days its event history keeps. The end is never fixed here, so a report does not
/// depend on when it was made and a command run hours later still covers up to that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Option<i64>,
}

impl Window {
    /// From `leak` (the earliest known time of the leak), never after `now`.
    pub fn new(leak: Option<i64>, now: SystemTime) -> Window {
        let now = unix(now);
        Window {
            start: leak.map(|t| t.min(now)),
        }
    }

    /// ` --start-time 2024-05-01T12:00:00Z`, or nothing when the leak time is unknown.
    pub(super) fn start_arg(self) -> String {
        self.start
            .map(|t| format!(" --start-time {}", format_utc(t)))
            .unwrap_or_default()
    }
}

/// The earliest known time of the leak: the commit date of the finding, else the modification
/// time of the file it was found in (when that file can be read here).
pub fn leak_time(finding: &Finding) -> Option<i64> {
    let origin = &finding.location.origin;
    if let Some(t) = origin.date.as_deref().and_then(parse_date) {
        return Some(t);
    }
    if origin.commit.is_some()
        || origin.path == "-"
        || origin.path.is_empty()
        || crate::config::is_url(&origin.path)
    {
        return None;
    }
    std::fs::metadata(&origin.path)
        .and_then(|m| m.modified())
        .ok()
        .map(unix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn window_is_open_ended_and_never_starts_after_now() {
        let now = UNIX_EPOCH + Duration::from_secs(1_717_243_200);
        assert_eq!(Window::new(None, now).start_arg(), "");
        let w = Window::new(Some(1_800_000_000), now);
        assert_eq!(w.start, Some(1_717_243_200));
        assert_eq!(w.start_arg(), " --start-time 2024-06-01T12:00:00Z");
        let w = Window::new(Some(1_714_564_800), now);
        assert_eq!(w.start_arg(), " --start-time 2024-05-01T12:00:00Z");
    }
}
