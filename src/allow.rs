//! Inline suppression: a line containing `keysweep:allow` is not reported.
//!
//! [`crate::scan::BlobScanner`] marks the findings of every blob (files, stdin, archive
//! members, git history, staged changes) with [`allowed`]; the binary drops the marked ones
//! before reporting, counts them in the summary, and keeps them with `--no-allow`.
//! Only the lines of the matches are read. A finding behind an encoding (base64, URL, JSON
//! escapes, UTF-16) is allowed by a marker on the line of its encoded text, or on its line in
//! the decoded text (`crate::detect::decode`).

use memchr::memmem;

use crate::detect::Match;

/// The marker that suppresses the findings on its line.
pub const MARKER: &[u8] = b"keysweep:allow";

/// How far from a finding the ends of its line are looked for. A longer line (minified code,
/// binary data) is cut there, so a marker further away than this does not count.
const LINE_REACH: usize = 64 * 1024;

/// True when every part of `m` (key ID, secret, token) stands on a line of `data` that
/// contains the marker. A pair whose secret is on an unmarked line is still reported: the
/// marker allows its own line, not its neighbours.
pub fn allowed(data: &[u8], m: &Match) -> bool {
    let mut spans = [&m.key_id, &m.secret, &m.token]
        .into_iter()
        .flatten()
        .map(|span| span.start)
        .peekable();
    if spans.peek().is_none() {
        return line_has_marker(data, m.offset);
    }
    spans.all(|at| line_has_marker(data, at))
}

/// True when the line holding byte `at` of `data` contains the marker.
pub fn line_has_marker(data: &[u8], at: usize) -> bool {
    let at = at.min(data.len());
    let lo = at.saturating_sub(LINE_REACH);
    let hi = data.len().min(at.saturating_add(LINE_REACH));
    let start = memchr::memrchr(b'\n', &data[lo..at]).map_or(lo, |i| lo + i + 1);
    let end = memchr::memchr(b'\n', &data[at..hi]).map_or(hi, |i| at + i);
    memmem::find(&data[start..end], MARKER).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Span;

    fn span(data: &str, value: &str) -> Option<Span> {
        let start = data.find(value)?;
        Some(Span {
            value: value.to_string(),
            start,
            end: start + value.len(),
        })
    }

    fn pair(data: &str) -> Match {
        let key_id = span(data, "AKIAR7VZ3MOXQ4JTLW2N");
        let offset = key_id.as_ref().map_or(0, |s| s.start);
        Match {
            rule: 0,
            key_id,
            secret: span(data, "Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy"),
            token: None,
            user: None,
            api_key: None,
            offset,
        }
    }

    #[test]
    fn marker_on_the_line_allows() {
        let data = "a\nid = AKIAR7VZ3MOXQ4JTLW2N # keysweep:allow\nb\n";
        assert!(allowed(data.as_bytes(), &pair(data)));
    }

    #[test]
    fn marker_on_another_line_does_not() {
        let data = "# keysweep:allow\nid = AKIAR7VZ3MOXQ4JTLW2N\n";
        assert!(!allowed(data.as_bytes(), &pair(data)));
        let data = "id = AKIAR7VZ3MOXQ4JTLW2N\n# keysweep:allow";
        assert!(!allowed(data.as_bytes(), &pair(data)));
    }

    #[test]
    fn a_pair_needs_the_marker_on_every_part_line() {
        let one = "id = AKIAR7VZ3MOXQ4JTLW2N # keysweep:allow\n\
                   secret = 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\n";
        assert!(!allowed(one.as_bytes(), &pair(one)));
        let both = "id = AKIAR7VZ3MOXQ4JTLW2N # keysweep:allow\n\
                    secret = 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 # keysweep:allow\n";
        assert!(allowed(both.as_bytes(), &pair(both)));
    }
}
