//! Format checks applied to every captured credential part, whichever rule captured it.
//!
//! A regex only says "this looks like 20 base32 characters"; these checks reject what a leak
//! scanner must stay quiet about: tokens that are part of longer runs, AWS documentation
//! example keys, placeholders, hex digests and low-entropy strings.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use super::{glue, placeholder};

/// Bytes of an alphanumeric run: a key ID inside one is not a key ID.
fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Bytes of a base64 run: a secret or token inside a longer one is not a secret.
fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Words that mark a key ID as a placeholder or documentation value, not a real key.
/// A random 16-character base32 body contains one of these with probability ~1e-5.
/// `IOSFODNN7` and `I44QH8DHB` are the bodies of AWS's documentation keys, which test suites
/// mutate (`AKIAIOSFODNN7EXAMPLF`).
const KEY_ID_PLACEHOLDER_WORDS: [&str; 13] = [
    "EXAMPL",
    "IOSFODNN7",
    "I44QH8DHB",
    "FAKE",
    "DUMMY",
    "SAMPLE",
    "TEST",
    "YOUR",
    "REPLACE",
    "ACCESSKEY",
    "SECRET",
    "PLACEHOLDER",
    "REDACTED",
];

/// Words (matched case-insensitively) that mark a secret as a placeholder, and the heads of
/// AWS's documentation secrets (`wJalrXUtnFEMI/...`, `je7MtGbClwBF/...`), which test suites
/// mutate.
const SECRET_PLACEHOLDER_WORDS: [&str; 9] = [
    "exampl",
    "placeholder",
    "redacted",
    "yoursecret",
    "secretkey",
    "changeme",
    "dummy",
    "wjalrxutnfemi",
    "je7mtgbclwbf",
];

/// One automaton per word list, built once: a credential is checked in one short pass
/// instead of one substring search per word.
fn placeholder_words(secret: bool) -> &'static AhoCorasick {
    static KEY_ID: OnceLock<AhoCorasick> = OnceLock::new();
    static SECRET: OnceLock<AhoCorasick> = OnceLock::new();
    let (cell, words, fold): (_, &[&str], _) = if secret {
        (&SECRET, &SECRET_PLACEHOLDER_WORDS, true)
    } else {
        (&KEY_ID, &KEY_ID_PLACEHOLDER_WORDS, false)
    };
    cell.get_or_init(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(fold)
            .build(words)
            // A fixed list of short ASCII words always builds.
            .unwrap_or_else(|e| unreachable!("placeholder automaton: {e}"))
    })
}

/// The longest run of one repeated byte, or of bytes each one above the previous
/// (`ABCDE`, `23456`), that random keys practically never contain (p < 1e-5).
const MAX_RUN: usize = 4;

fn has_placeholder_run(s: &[u8]) -> bool {
    let (mut same, mut ascending) = (1, 1);
    for w in s.windows(2) {
        same = if w[1] == w[0] { same + 1 } else { 1 };
        ascending = if w[1] == w[0].wrapping_add(1) {
            ascending + 1
        } else {
            1
        };
        if same > MAX_RUN || ascending > MAX_RUN {
            return true;
        }
    }
    false
}

/// True when `data[start..end]` is not glued to a neighbouring run of `class` bytes.
pub(crate) fn bounded(data: &[u8], start: usize, end: usize, class: fn(u8) -> bool) -> bool {
    let before_ok = start == 0 || !class(data[start - 1]);
    let after_ok = end >= data.len() || !class(data[end]);
    before_ok && after_ok
}

/// Checks a key ID candidate at `data[start..end]`.
pub(crate) fn key_id(data: &[u8], start: usize, end: usize) -> bool {
    if !bounded(data, start, end, is_alnum) && !glue::delimited(data, start, end) {
        return false;
    }
    let Some(id) = data.get(start..end) else {
        return false;
    };
    let Some(body) = id.get(4..) else {
        return false;
    };
    if has_placeholder_run(body) || placeholder::key_id_body(body) {
        return false;
    }
    !placeholder_words(false).is_match(id)
}

/// Removes JSON's optional `\/` escaping from a captured secret or token.
pub(crate) fn unescape(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        if b != b'\\' {
            out.push(b as char);
        }
    }
    out
}

/// True when the byte right after `end` continues a base64 value (also `\/` and `=`), so
/// the capture is only a piece of something longer.
fn continues_base64(data: &[u8], end: usize) -> bool {
    match data.get(end) {
        Some(&b) if is_base64(b) || b == b'=' => true,
        Some(b'\\') => data.get(end + 1) == Some(&b'/'),
        _ => false,
    }
}

/// Checks a secret access key candidate at `data[start..end]` (possibly with `\/` escapes);
/// returns the unescaped secret when it passes.
pub(crate) fn secret(data: &[u8], start: usize, end: usize, entropy_min: f32) -> Option<String> {
    if (start > 0 && is_base64(data[start - 1]) || continues_base64(data, end))
        && !glue::delimited(data, start, end)
    {
        return None;
    }
    let value = unescape(&data[start..end]);
    let bytes = value.as_bytes();
    if bytes.len() != 40 {
        return None;
    }
    // A 40-character hex string is a SHA-1 or git object id, not a secret.
    if bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    // Real secrets are random base64: they mix upper and lower case and carry a digit or
    // one of `+` `/` (a random one lacks these with probability < 1e-3).
    let upper = bytes.iter().any(u8::is_ascii_uppercase);
    let lower = bytes.iter().any(u8::is_ascii_lowercase);
    let other = bytes
        .iter()
        .any(|&b| b.is_ascii_digit() || b == b'+' || b == b'/');
    if !(upper && lower && other) {
        return None;
    }
    // Paths and identifiers (`src/main/java/...`) carry many slashes; random secrets do not.
    if bytes.iter().filter(|&&b| b == b'/').count() > 5 {
        return None;
    }
    if has_placeholder_run(bytes) {
        return None;
    }
    if placeholder_words(true).is_match(bytes) || placeholder::secret(bytes) {
        return None;
    }
    if entropy::shannon_entropy(bytes) < entropy_min {
        return None;
    }
    Some(value)
}

/// Checks a session token candidate at `data[start..end]`; returns it unescaped.
pub(crate) fn session_token(
    data: &[u8],
    start: usize,
    end: usize,
    entropy_min: f32,
) -> Option<String> {
    if start > 0 && is_base64(data[start - 1]) {
        return None;
    }
    if matches!(data.get(end), Some(&b) if is_base64(b)) {
        return None;
    }
    let value = unescape(&data[start..end]);
    // Every STS token carries one of these base64 markers ("aws", "origin_ec").
    if !(value.contains("YXdz") || value.contains("b3JpZ2luX2Vj")) {
        return None;
    }
    if value.contains("EXAMPLE") || entropy::shannon_entropy(value.as_bytes()) < entropy_min {
        return None;
    }
    Some(value)
}

/// Checks an API key candidate at `data[start..end]` (possibly with `\/` escapes): an Amazon
/// Bedrock key that decodes to the structure AWS gives these keys (see [`crate::bedrock`]),
/// not glued to a longer base64 run, and not a placeholder (an `EXAMPLE` signer, a
/// low-entropy secret). Returns the unescaped key.
pub(crate) fn api_key(data: &[u8], start: usize, end: usize, entropy_min: f32) -> Option<String> {
    if start > 0 && (is_base64(data[start - 1]) || data[start - 1] == b'-')
        || continues_base64(data, end)
    {
        return None;
    }
    let value = unescape(&data[start..end]);
    match crate::bedrock::parse(&value)? {
        crate::bedrock::BedrockKey::LongTerm(k) => {
            let secret = k.secret.trim_end_matches('=').as_bytes();
            let placeholder = has_placeholder_run(secret)
                || placeholder_words(true).is_match(secret)
                || placeholder_words(true).is_match(k.alias.as_bytes());
            (!placeholder && entropy::shannon_entropy(secret) >= entropy_min).then_some(value)
        }
        crate::bedrock::BedrockKey::ShortTerm(k) => {
            key_id(k.key_id.as_bytes(), 0, k.key_id.len()).then_some(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_runs() {
        assert!(has_placeholder_run(b"QQQQQ"));
        assert!(has_placeholder_run(b"xABCDEy"));
        assert!(!has_placeholder_run(b"R7VZ3MOXQ4JTLW2N"));
    }

    #[test]
    fn key_id_boundaries() {
        let data = b"xAKIAR7VZ3MOXQ4JTLW2N AKIAR7VZ3MOXQ4JTLW2N";
        assert!(!key_id(data, 1, 21));
        assert!(key_id(data, 22, 42));
    }

    #[test]
    fn secret_shapes() {
        let good = b"=Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy;";
        assert!(secret(good, 1, 41, 4.0).is_some());
        let hex = b"=da39a3ee5e6b4b0d3255bfef95601890afd80709;";
        assert!(secret(hex, 1, 41, 0.0).is_none());
        let escaped = br#""Zq8vN3kR\/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy""#;
        assert_eq!(
            secret(escaped, 1, escaped.len() - 1, 4.0).as_deref(),
            Some("Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy")
        );
    }
}
