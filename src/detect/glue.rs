//! Boundaries in binary layouts: a credential stored by a binary format sits right next to
//! the format's length and type bytes, which may happen to be letters or digits (`z` before
//! the next string of a Python marshal stream, `t` before the next Java serialized string,
//! `2` as a protobuf tag). The plain boundary check would take those for a longer run and drop
//! the key; these rules accept them when the layout says where the value ends:
//!
//! - **Length-prefixed**: the bytes right before the value give its exact length: one byte
//!   (protobuf, marshal short strings, most TLV formats), two bytes big-endian (Java
//!   `TC_STRING`, `DataOutput.writeUTF`) or four bytes little-endian (marshal `u`/`a`/`s`).
//!   A one-byte length that is a printable character (40 is `(`) counts only when the byte
//!   before it is not text or is a marshal type code in a `.pyc`.
//! - **Type marker**: one letter or digit glued to the value, itself followed (or, before the
//!   value, preceded) by a byte that is not text (`…W2Nt\x00\x28`), with a non-text byte on
//!   the value's other side too.
//!
//! A value glued to a longer base32/base64 run, or to one character in text, stays rejected.

/// Text a credential can be part of: printable ASCII and whitespace.
fn is_text(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t'
}

/// Type codes of Python's marshal format that precede a string's length (with or without
/// the FLAG_REF bit 0x80).
fn is_marshal_string_type(b: u8) -> bool {
    matches!(b & 0x7f, b'z' | b'Z' | b'u' | b'a' | b'A' | b's' | b't')
}

/// A `.pyc` file: a 16-byte header whose magic number ends in `\r\n` (Python 3.7+; 8 or 12
/// bytes before).
fn is_pyc(data: &[u8]) -> bool {
    data.len() > 16 && &data[2..4] == b"\r\n"
}

/// True when the bytes right before `data[start..end]` give its length.
pub(crate) fn length_prefixed(data: &[u8], start: usize, end: usize) -> bool {
    let len = end - start;
    let Ok(n) = u8::try_from(len) else {
        return false;
    };
    if start == 0 || data[start - 1] != n {
        return false;
    }
    if !is_text(n) {
        return true;
    }
    // A printable length byte: `(` for 40 characters. Believe it only in a binary context:
    // a byte that is not text before it (Java's u16 length, a protobuf tag below 0x20), a
    // marshal type code in a `.pyc`, or a byte that is not text right after the value or
    // after one type letter glued to it (the next protobuf tag and its length).
    let Some(&before) = start.checked_sub(2).and_then(|i| data.get(i)) else {
        return false;
    };
    let not_text_at = |i: usize| data.get(i).is_some_and(|&b| !is_text(b));
    !is_text(before)
        || (is_marshal_string_type(before) && is_pyc(data))
        || not_text_at(end)
        || (data.get(end).is_some_and(u8::is_ascii_alphanumeric) && not_text_at(end + 1))
}

/// True when one letter or digit glues `data[start..end]` to bytes that are not text on one
/// side, and the other side is not text either: a type marker, not a longer run.
pub(crate) fn type_marker(data: &[u8], start: usize, end: usize) -> bool {
    let not_text = |i: Option<usize>| i.and_then(|i| data.get(i)).is_some_and(|&b| !is_text(b));
    let alnum = |i: Option<usize>| {
        i.and_then(|i| data.get(i))
            .is_some_and(u8::is_ascii_alphanumeric)
    };
    let before = start.checked_sub(1);
    let before2 = start.checked_sub(2);
    let (after, after2) = (Some(end), Some(end + 1));
    // Marker after the value: `value` + `t` + non-text, value preceded by non-text (or by a
    // length prefix, handled by the caller).
    let marker_after = alnum(after) && not_text(after2) && (not_text(before) || start == 0);
    // Marker before the value: non-text + `t` + `value`, value followed by non-text or the end.
    let marker_before =
        alnum(before) && not_text(before2) && (not_text(after) || end == data.len());
    marker_after || marker_before
}

/// True when a binary layout delimits `data[start..end]` although a letter or digit touches
/// it. (A two-byte big-endian length below 256 ends in the one-byte form.)
pub(crate) fn delimited(data: &[u8], start: usize, end: usize) -> bool {
    length_prefixed(data, start, end)
        || length_prefixed_le32(data, start, end)
        || type_marker(data, start, end)
}

fn length_prefixed_le32(data: &[u8], start: usize, end: usize) -> bool {
    let len = (end - start) as u64;
    start >= 4
        && u64::from(u32::from_le_bytes([
            data[start - 4],
            data[start - 3],
            data[start - 2],
            data[start - 1],
        ])) == len
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"AKIAR7VZ3MOXQ4JTLW2N";

    fn glued(before: &[u8], after: &[u8]) -> (Vec<u8>, usize, usize) {
        let mut v = before.to_vec();
        v.extend_from_slice(KEY);
        v.extend_from_slice(after);
        (v, before.len(), before.len() + KEY.len())
    }

    #[test]
    fn binary_layouts_delimit() {
        // marshal short ASCII: 'z' + length, next object's type glued after
        let (d, s, e) = glued(b"\xe3\x00z\x14", b"z(");
        assert!(delimited(&d, s, e));
        // Java TC_STRING: 't' + u16 length, next TC_STRING after
        let (d, s, e) = glued(b"\x00t\x00\x14", b"t\x00(");
        assert!(delimited(&d, s, e));
        // protobuf: tag 0x0a, length 20, next tag '2' (field 6), length
        let (d, s, e) = glued(b"\x0a\x14", b"2\x28");
        assert!(delimited(&d, s, e));
        // a type letter glued after, non-text around
        let (d, s, e) = glued(b"\x01", b"Z\x00");
        assert!(delimited(&d, s, e));
    }

    #[test]
    fn longer_runs_stay_glued() {
        for (before, after) in [
            (&b" "[..], &b"Q4JT "[..]),
            (b"x", b" "),
            (b" ", b"x"),
            (b" ", b"x\x00"),
            (b"\x00", b"QQ\x00"),
            (b"\x00", b"Q4JTLW\x00"),
            (b"\x00BASE", b"\x00"),
        ] {
            let (d, s, e) = glued(before, after);
            assert!(!delimited(&d, s, e), "{:?}", String::from_utf8_lossy(&d));
        }
    }
}
