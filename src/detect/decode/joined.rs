//! String literals the language joins: `"AKIA" + "R7VZ…"` (JavaScript/TypeScript, Java, C#,
//! Go, Python, Ruby), `'AKIA' . 'R7VZ…'` (PHP, Perl), adjacent literals `"AKIA" "R7VZ…"`
//! (Python, C) and `"AKIA"'R7VZ…'` (shell), `"AKIA".concat("…")` (Java, JavaScript),
//! `String.Concat("AKIA", "…")` (C#), `"".join(["AKIA", "…"])` (Python),
//! `["AKIA", "…"].join("")` (JavaScript, Ruby), `strings.Join([]string{"AKIA", "…"}, "")`
//! (Go), `implode('', ['AKIA', '…'])` (PHP), with line breaks, indentation and `\`
//! continuations between the pieces.
//!
//! [`chain_at`] reads such a chain from its first literal; the decoder ([`super::decode`])
//! scans the joined text in place of the chain, reported where the first piece starts.

use std::ops::Range;

/// Literals longer than this are not pieces of a credential.
const MAX_PIECE: usize = 256;
/// Pieces in one chain at most.
const MAX_PIECES: usize = 16;
/// Bytes of whitespace, line breaks and operator between two pieces at most.
const MAX_GAP: usize = 64;

/// A chain of joined literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// From the first piece's first content byte to the last piece's last content byte.
    pub span: Range<usize>,
    /// Each piece's content (between its quotes).
    pub pieces: Vec<Range<usize>>,
}

impl Chain {
    /// The joined text.
    pub fn joined(&self, data: &[u8], out: &mut Vec<u8>) {
        out.clear();
        for piece in &self.pieces {
            out.extend_from_slice(&data[piece.clone()]);
        }
    }
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

/// Characters a piece of a credential is made of.
fn is_piece_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

/// The literal whose opening quote is at `data[q]`: its content range, and the index after
/// the closing quote. Only a literal of credential characters on one line qualifies.
fn literal(data: &[u8], q: usize) -> Option<(Range<usize>, usize)> {
    let quote = *data.get(q)?;
    if !is_quote(quote) {
        return None;
    }
    let start = q + 1;
    let mut i = start;
    while i < data.len() && i - start <= MAX_PIECE {
        let b = data[i];
        if b == quote {
            return (i > start).then_some((start..i, i + 1));
        }
        if !is_piece_byte(b) {
            return None;
        }
        i += 1;
    }
    None
}

/// Skips whitespace, line breaks and `\` line continuations from `i`.
fn skip_space(data: &[u8], mut i: usize, limit: usize) -> usize {
    while i < limit {
        match data[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'\\' if matches!(data.get(i + 1), Some(b'\n' | b'\r')) => i += 1,
            _ => break,
        }
    }
    i
}

/// How two pieces are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joiner {
    /// `+`, `.`, `<<`, `&`, `..`, or nothing (adjacent literals).
    Operator,
    /// `.concat(` / `.Concat(`: the piece after it is followed by `)`.
    Concat,
    /// `,` in a list or argument list that a join/concat call joins.
    Comma,
}

/// Reads the joiner after a piece ending at `i`; returns it and where the next piece's opening
/// quote is (after an optional string prefix such as `r`, `b`, `f`, `@`, `$`).
fn joiner(data: &[u8], i: usize) -> Option<(Joiner, usize)> {
    let limit = data.len().min(i + MAX_GAP);
    let mut j = skip_space(data, i, limit);
    let rest = &data[j..limit];
    let (kind, len) = if rest.starts_with(b".concat(") || rest.starts_with(b".Concat(") {
        (Joiner::Concat, 8)
    } else if rest.starts_with(b"<<") || rest.starts_with(b"..") {
        (Joiner::Operator, 2)
    } else if matches!(rest.first(), Some(b'+' | b'.' | b'&')) {
        (Joiner::Operator, 1)
    } else if rest.first() == Some(&b',') {
        (Joiner::Comma, 1)
    } else {
        (Joiner::Operator, 0)
    };
    j = skip_space(data, j + len, limit);
    if j < limit
        && matches!(data[j], b'r' | b'b' | b'f' | b'u' | b'@' | b'$')
        && data.get(j + 1).is_some_and(|&b| is_quote(b))
    {
        j += 1;
    }
    (j < limit && is_quote(data[j])).then_some((kind, j))
}

/// Words that, just before a list's or argument list's opening bracket, say its items are
/// joined (`"".join([`, `String.Concat(`, `strings.Join([]string{`, `implode('', [`).
const JOIN_CALLS: [&[u8]; 5] = [b"join", b"Join", b"implode", b"concat", b"Concat"];

/// True when the list whose first item's opening quote is at `q` is joined: a join call
/// just before its bracket, or `.join` just after its closing bracket (from `end`).
fn joined_list(data: &[u8], q: usize, end: usize) -> bool {
    let mut i = q;
    while i > 0 && data[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    if i > 0 && matches!(data[i - 1], b'[' | b'(' | b'{') {
        let from = i.saturating_sub(48);
        let before = &data[from..i - 1];
        if JOIN_CALLS
            .iter()
            .any(|w| memchr::memmem::find(before, w).is_some())
        {
            return true;
        }
    }
    let limit = data.len().min(end + MAX_GAP);
    let j = skip_space(data, end, limit);
    if j < limit && matches!(data[j], b']' | b')') {
        let after = &data[j + 1..limit];
        let k = after
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(after.len());
        return after[k..].starts_with(b".join");
    }
    false
}

/// The chain of joined literals whose first literal opens at `data[q]`; None unless at least
/// two pieces are joined.
pub fn chain_at(data: &[u8], q: usize) -> Option<Chain> {
    let (first, mut i) = literal(data, q)?;
    let mut pieces = vec![first];
    // Where the chain stood before its first comma, to fall back to.
    let mut before_comma: Option<(usize, usize)> = None;
    while pieces.len() < MAX_PIECES {
        let Some((kind, next)) = joiner(data, i) else {
            break;
        };
        let Some((content, after)) = literal(data, next) else {
            break;
        };
        if kind == Joiner::Comma && before_comma.is_none() {
            before_comma = Some((pieces.len(), i));
        }
        pieces.push(content);
        i = after;
        if kind == Joiner::Concat {
            let limit = data.len().min(i + MAX_GAP);
            let j = skip_space(data, i, limit);
            if data.get(j) != Some(&b')') {
                break;
            }
            i = j + 1;
        }
    }
    if let Some((kept, _)) = before_comma {
        if !joined_list(data, q, i) {
            pieces.truncate(kept);
        }
    }
    if pieces.len() < 2 {
        return None;
    }
    let span = pieces[0].start..pieces[pieces.len() - 1].end;
    Some(Chain { span, pieces })
}

/// The opening quote of the literal that `data[at]` is inside, looking back over credential
/// characters only.
pub fn opening_quote(data: &[u8], at: usize) -> Option<usize> {
    let mut i = at;
    while i > 0 && at - i <= MAX_PIECE {
        let b = data[i - 1];
        if is_quote(b) {
            return Some(i - 1);
        }
        if !is_piece_byte(b) {
            return None;
        }
        i -= 1;
    }
    None
}

/// The opening quote of the first literal after `from` within `limit` bytes, when only
/// name characters, quotes of the name, spaces and an assignment operator come before it
/// (`_KEY": "`, `_KEY = '`, `_KEY := "`, `_KEY => '`, `_KEY=` then a quote).
pub fn value_quote(data: &[u8], from: usize, limit: usize) -> Option<usize> {
    let end = data.len().min(from + limit);
    let mut i = from;
    while i < end && (data[i].is_ascii_alphanumeric() || matches!(data[i], b'_' | b'-' | b'.')) {
        i += 1;
    }
    // The closing quote of a quoted name.
    if i < end && is_quote(data[i]) && data.get(i + 1).is_some_and(|&b| !is_piece_byte(b)) {
        i += 1;
    }
    while i < end {
        match data[i] {
            b if is_quote(b) => return Some(i),
            b' ' | b'\t' | b':' | b'=' | b'>' | b'(' | b',' | b'[' | b'{' => i += 1,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(text: &str) -> Option<String> {
        let data = text.as_bytes();
        let key = memchr::memmem::find(data, b"AKIA")?;
        let chain = chain_at(data, opening_quote(data, key)?)?;
        let mut out = Vec::new();
        chain.joined(data, &mut out);
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn languages() {
        let want = Some("AKIAR7VZ3MOXQ4JTLW2N".to_string());
        for text in [
            r#"const k = "AKIAR7VZ" + "3MOXQ4JTLW2N";"#,
            "key = ('AKIAR7VZ'\n       '3MOXQ4JTLW2N')",
            "$k = 'AKIAR7VZ' . '3MOXQ4JTLW2N';",
            r#"String k = "AKIAR7VZ".concat("3MOXQ4JTLW2N");"#,
            r#"var k = String.Concat("AKIAR7VZ", "3MOXQ4JTLW2N");"#,
            r#"k = "".join(["AKIAR7VZ", "3MOXQ4JTLW2N"])"#,
            r#"k = ["AKIAR7VZ", "3MOXQ4JTLW2N"].join("")"#,
            r#"k := strings.Join([]string{"AKIAR7VZ", "3MOXQ4JTLW2N"}, "")"#,
            r#"$k = implode('', ['AKIAR7VZ', '3MOXQ4JTLW2N']);"#,
            r#"K="AKIAR7VZ"'3MOXQ4JTLW2N'"#,
            "k = \"AKIAR7VZ\" + \\\n    \"3MOXQ4JTLW2N\"",
            r#"k = "AKIA" + "R7VZ" + "3MOX" + "Q4JTLW2N""#,
        ] {
            assert_eq!(join(text), want, "{text}");
        }
    }

    #[test]
    fn not_joined() {
        // Two arguments of a call are two values, not one.
        assert_eq!(join(r#"f("AKIAR7VZ", "3MOXQ4JTLW2N")"#), None);
        assert_eq!(join(r#"k = "AKIAR7VZ" + name + "3MOXQ4JTLW2N""#), None);
        assert_eq!(join(r#"k = "AKIAR7VZ""#), None);
    }
}
