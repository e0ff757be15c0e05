//! PDF files as a source: the content of every stream, inflated when its filter is
//! `FlateDecode`, and the text its show-text operators draw (`(AKIA) Tj`, `[(AKIA) -20
//! (R7VZ…)] TJ`: a string split by kerning is joined). Each part is scanned like an archive
//! member named `stream N` (N is the object number), so a finding reads
//! `report.pdf!stream 12`.
//!
//! Streams with other filters (LZW, ASCII85, run-length, crypt, ...) are not decoded and are
//! counted as not scanned; image filters (`DCTDecode`, `JPXDecode`, `CCITTFaxDecode`,
//! `JBIG2Decode`) hold pixels, not text, and are skipped. An encrypted PDF's streams are not
//! readable and are counted as not scanned. Everything is bounded: at most [`MAX_STREAMS`]
//! streams, each inflated to at most [`MAX_INFLATED`] bytes.

use std::io::Read;

use memchr::memmem;

/// Streams read per PDF at most.
pub const MAX_STREAMS: usize = 100_000;
/// Bytes a stream is inflated to at most.
pub const MAX_INFLATED: u64 = 64 << 20;

/// One readable part of a PDF.
#[derive(Debug)]
pub struct Part {
    /// `stream 12` (12 is the object number).
    pub name: String,
    /// The text a content stream draws, rather than the stream's bytes.
    pub text: bool,
    pub bytes: Vec<u8>,
}

/// What reading a PDF produced.
#[derive(Debug, Default)]
pub struct Pdf {
    pub parts: Vec<Part>,
    /// Streams whose filter keysweep does not decode, by filter name, and whether the file
    /// is encrypted: what was not scanned.
    pub not_scanned: Vec<String>,
}

/// True when `data` is a PDF (`%PDF-` in the first KB, as readers accept).
pub fn sniff(data: &[u8]) -> bool {
    memmem::find(&data[..data.len().min(1024)], b"%PDF-").is_some()
}

/// The filters a stream dictionary names (`/Filter /FlateDecode`,
/// `/Filter [/ASCII85Decode /FlateDecode]`).
fn filters(dict: &[u8]) -> Vec<String> {
    let Some(p) = memmem::find(dict, b"/Filter") else {
        return Vec::new();
    };
    let rest = &dict[p + 7..];
    let rest = rest.trim_ascii_start();
    let names: &[u8] = if rest.first() == Some(&b'[') {
        let end = memchr::memchr(b']', rest).unwrap_or(rest.len());
        &rest[1..end]
    } else {
        // One name: up to the next delimiter after it.
        let end = rest
            .iter()
            .skip(1)
            .position(|&b| b == b'/' || b == b'>' || b.is_ascii_whitespace())
            .map_or(rest.len(), |p| p + 1);
        &rest[..end]
    };
    names
        .split(|&b| b == b'/' || b.is_ascii_whitespace())
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

fn is_image_filter(name: &str) -> bool {
    matches!(
        name,
        "DCTDecode" | "DCT" | "JPXDecode" | "CCITTFaxDecode" | "CCF" | "JBIG2Decode"
    )
}

/// The object number of the `N G obj` that starts before `at` (the nearest one).
fn object_number(data: &[u8], at: usize) -> Option<u64> {
    let from = at.saturating_sub(4096);
    let p = from + memmem::rfind(&data[from..at], b" obj")?;
    let head = &data[p.saturating_sub(24)..p];
    let mut words = head
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .rev();
    let _generation = words.next()?;
    let number = words.next()?;
    std::str::from_utf8(number).ok()?.parse().ok()
}

/// Reads the streams of the PDF `data`.
pub fn read(data: &[u8]) -> Pdf {
    let mut pdf = Pdf::default();
    if memmem::find(data, b"/Encrypt").is_some() {
        pdf.not_scanned.push("encrypted".to_string());
        return pdf;
    }
    let mut at = 0;
    let finder = memmem::Finder::new(b"stream");
    let end_finder = memmem::Finder::new(b"endstream");
    while pdf.parts.len() < MAX_STREAMS {
        let Some(p) = finder.find(&data[at..]) else {
            break;
        };
        let kw = at + p;
        at = kw + 6;
        // `endstream` also contains `stream`; a stream keyword follows a dictionary's `>>`.
        if kw >= 3 && &data[kw - 3..kw] == b"end" {
            continue;
        }
        let before = data[..kw].trim_ascii_end();
        if !before.ends_with(b">>") {
            continue;
        }
        let mut start = kw + 6;
        if data.get(start) == Some(&b'\r') {
            start += 1;
        }
        if data.get(start) == Some(&b'\n') {
            start += 1;
        }
        let Some(e) = end_finder.find(&data[start..]) else {
            break;
        };
        let end = start + e;
        at = end + 9;
        let dict_from = memmem::rfind(&data[kw.saturating_sub(8192)..kw], b"<<")
            .map_or(kw, |q| kw.saturating_sub(8192) + q);
        let dict = &data[dict_from..kw];
        let number = object_number(data, dict_from.max(1))
            .map_or_else(|| format!("at byte {kw}"), |n| n.to_string());
        let raw = data[start..end].trim_ascii_end();
        let names = filters(dict);
        let bytes = match names.as_slice() {
            [] => raw.to_vec(),
            [f] if f == "FlateDecode" || f == "Fl" => {
                let mut out = Vec::new();
                let reader = flate2::read::ZlibDecoder::new(raw);
                // A damaged stream keeps what inflated before the damage.
                let _ = reader.take(MAX_INFLATED).read_to_end(&mut out);
                out
            }
            names if names.iter().any(|n| is_image_filter(n)) => continue,
            names => {
                pdf.not_scanned.push(names.join(" "));
                continue;
            }
        };
        if bytes.is_empty() {
            continue;
        }
        let text = shown_text(&bytes);
        pdf.parts.push(Part {
            name: format!("stream {number}"),
            text: false,
            bytes,
        });
        if let Some(text) = text {
            pdf.parts.push(Part {
                name: format!("stream {number}"),
                text: true,
                bytes: text,
            });
        }
    }
    pdf
}

/// The text a content stream's show-text operators draw: literal strings joined (kerning
/// numbers in a `TJ` array dropped), a line break for each text-positioning operator. None
/// when the stream shows no text.
fn shown_text(stream: &[u8]) -> Option<Vec<u8>> {
    if memmem::find(stream, b"BT").is_none() || memchr::memchr(b'(', stream).is_none() {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < stream.len() {
        match stream[i] {
            b'(' => {
                // A literal string: balanced parentheses, backslash escapes.
                let mut depth = 1;
                i += 1;
                while i < stream.len() && depth > 0 {
                    let b = stream[i];
                    match b {
                        b'\\' => {
                            i += 1;
                            match stream.get(i) {
                                Some(b'n') => out.push(b'\n'),
                                Some(b'r' | b't' | b'b' | b'f') => out.push(b' '),
                                Some(&d @ b'0'..=b'7') => {
                                    let mut v = u32::from(d - b'0');
                                    let mut k = 1;
                                    while k < 3 && matches!(stream.get(i + 1), Some(b'0'..=b'7')) {
                                        i += 1;
                                        v = v * 8 + u32::from(stream[i] - b'0');
                                        k += 1;
                                    }
                                    out.push((v & 0xff) as u8);
                                }
                                Some(b'\r' | b'\n') => {}
                                Some(&c) => out.push(c),
                                None => {}
                            }
                        }
                        b'(' => {
                            depth += 1;
                            out.push(b);
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                out.push(b);
                            }
                        }
                        _ => out.push(b),
                    }
                    i += 1;
                }
            }
            b'T' => {
                // Td TD Tm T* start a new line of text.
                if matches!(stream.get(i + 1), Some(b'd' | b'D' | b'm' | b'*')) {
                    out.push(b'\n');
                }
                i += 1;
            }
            b'E' if stream.get(i + 1) == Some(&b'T') => {
                out.push(b'\n');
                i += 2;
            }
            b'\'' | b'"' => {
                out.push(b'\n');
                i += 1;
            }
            _ => i += 1,
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn streams_inflated_and_text_joined() {
        let content = b"BT /F1 12 Tf 72 700 Td [(AKIAR7V) -20 (Z3MOXQ4JTLW2N)] TJ ET";
        let mut pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n12 0 obj\n<< /Length 99 /Filter /FlateDecode >>\nstream\n".to_vec();
        pdf.extend(deflate(content));
        pdf.extend_from_slice(b"\nendstream\nendobj\n13 0 obj\n<< /Filter /LZWDecode >>\nstream\nxx\nendstream\nendobj\n14 0 obj\n<< /Filter /DCTDecode >>\nstream\nyy\nendstream\nendobj\n%%EOF\n");
        let read = read(&pdf);
        let names: Vec<&str> = read.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["stream 12", "stream 12"]);
        assert!(read.parts[1].text);
        assert_eq!(read.parts[0].bytes, content);
        assert!(String::from_utf8_lossy(&read.parts[1].bytes).contains("AKIAR7VZ3MOXQ4JTLW2N"));
        assert_eq!(read.not_scanned, ["LZWDecode"]);
    }
}
