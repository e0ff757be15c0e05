//! Terminal-safe text: what keysweep prints for people (the text report, warnings, errors,
//! the summary) shows control characters escaped, the way `ls -b` does, so that a file name,
//! an archive member, a git author or a rule id from scanned data cannot move the cursor,
//! clear the screen, set the window title (OSC), overwrite a line (CR) or reorder text
//! (Unicode bidi controls).
//!
//! Escaped: C0 controls (`\t`, `\n`, `\r`, others as `\x1b`), DEL (`\x7f`), the backslash
//! itself (`\\`, so escapes are unambiguous), C1 controls (`\u{9b}`), bidi and other
//! invisible format controls (`\u{202e}`), line and paragraph separators, and bytes that are
//! not UTF-8 (`\xff`, see [`escape_bytes`]). JSON and SARIF keep exact values; their own
//! escaping covers them.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for characters a terminal would act on instead of showing.
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f' | '\\'
        | '\u{80}'..='\u{9f}'
        // Bidi embedding, override and isolate controls, and marks.
        | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        // Zero-width characters that hide text, line/paragraph separators, BOM.
        | '\u{200b}'..='\u{200d}' | '\u{2028}' | '\u{2029}' | '\u{2060}' | '\u{feff}'
    )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` with every character a terminal would act on escaped; borrowed when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`escape`] for bytes that may not be UTF-8: each byte of an invalid sequence is
/// written `\xNN`. The result maps back to the exact bytes (see [`unescape_bytes`]).
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// The bytes [`escape_bytes`] (or [`escape`]) was given: `\\`, `\t`, `\n`, `\r`, `\xNN`
/// and `\u{...}` are decoded; `None` when `s` holds another escape.
pub fn unescape_bytes(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next()? {
            '\\' => out.push(b'\\'),
            't' => out.push(b'\t'),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).ok()?);
            }
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let c = char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?;
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return None,
        }
    }
    Some(out)
}

/// [`escape`], then cut to `max` characters (with `…`) for free text such as author names,
/// so that one hostile value cannot flood the screen.
pub fn escape_short(s: &str, max: usize) -> String {
    let escaped = escape(s);
    if escaped.chars().count() <= max {
        return escaped.into_owned();
    }
    let mut cut: String = escaped.chars().take(max).collect();
    cut.push('…');
    cut
}

/// The plural ending of a count: `""` for one, else `"s"`.
pub fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `N what` for each count above zero, in order: the items of a list like `2 unreadable, 1
/// interrupted`. `{s}` in `what` is the plural ending of N (see [`plural`]).
pub fn counts(parts: &[(u64, &str)]) -> Vec<String> {
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|&(n, what)| format!("{n} {}", what.replace("{s}", plural(n))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_like_ls_b() {
        assert_eq!(escape("plain/path.env"), "plain/path.env");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(escape("x\ry\nz\t"), "x\\ry\\nz\\t");
        assert_eq!(escape("\x7f\u{9b}2J"), "\\x7f\\u{9b}2J");
        assert_eq!(escape("evil\u{202e}fdp.env"), "evil\\u{202e}fdp.env");
        assert_eq!(escape("a\\x1b"), "a\\\\x1b");
        assert_eq!(escape("héllo 한국"), "héllo 한국");
    }

    #[test]
    fn bytes_round_trip() {
        for bytes in [
            &b"a\xff.env"[..],
            b"a\xfe.env",
            b"\\xff",
            b"\x1b[2J\r\n",
            "é\u{202e}".as_bytes(),
        ] {
            let shown = escape_bytes(bytes);
            assert!(!shown.chars().any(|c| c.is_control()), "{shown}");
            assert_eq!(unescape_bytes(&shown).as_deref(), Some(bytes), "{shown}");
        }
        assert_ne!(escape_bytes(b"a\xff"), escape_bytes(b"a\xfe"));
    }

    #[test]
    fn short_text_is_cut() {
        assert_eq!(escape_short("abcdef", 3), "abc…");
        assert_eq!(escape_short("ab", 3), "ab");
    }
}
