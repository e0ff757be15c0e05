//! Office documents as a source: the text of Office Open XML (`.docx`, `.xlsx`, `.pptx`) and
//! OpenDocument (`.odt`, `.ods`, `.odp`, flat `.fodt`) XML parts, with the pieces of a
//! paragraph joined. Word processors split a paragraph into runs wherever formatting, spell
//! checking or revision marks change (`<w:t>AKIA</w:t></w:r><w:r><w:t>R7VZ…</w:t>`), so a
//! key reads whole on the page but not in the XML. The zip reader hands each part to the
//! scanner; [`text`] turns a part into its text: markup dropped, entities decoded, runs within
//! a paragraph joined, a line break after each paragraph (and row), a tab after each cell.

use memchr::memmem;

/// True when `data` is an XML part of an Office Open XML or OpenDocument file.
pub fn sniff(data: &[u8]) -> bool {
    let head = &data[..data.len().min(4096)];
    let xml = head.trim_ascii_start().starts_with(b"<");
    xml && (memmem::find(head, b"schemas.openxmlformats.org").is_some()
        || memmem::find(head, b"urn:oasis:names:tc:opendocument").is_some())
}

/// What an element's tag contributes to the text.
fn separator(local: &[u8], closing: bool, empty: bool) -> Option<u8> {
    match local {
        // Paragraphs, headings, list items, table rows and shared strings end a line.
        b"p" | b"h" | b"si" | b"tr" | b"row" | b"list-item" | b"table-row" if closing => {
            Some(b'\n')
        }
        b"c" | b"tc" | b"table-cell" if closing => Some(b'\t'),
        // Breaks, tabs and spaces inside a paragraph.
        b"br" | b"cr" | b"line-break" if empty || !closing => Some(b'\n'),
        b"tab" | b"s" | b"ptab" if empty || !closing => Some(b' '),
        _ => None,
    }
}

/// Decodes the XML entity at `data[at]` (`&amp;`, `&#47;`, `&#x2F;`); returns the character
/// and the entity's length.
fn entity(data: &[u8], at: usize) -> Option<(char, usize)> {
    let end = at + memchr::memchr(b';', &data[at..data.len().min(at + 12)])?;
    let name = &data[at + 1..end];
    let c = match name {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        _ => {
            let text = std::str::from_utf8(name.strip_prefix(b"#")?).ok()?;
            let code = match text.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => text.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((c, end + 1 - at))
}

/// The text of an Office XML part: paragraphs on their own lines, runs joined.
pub fn text(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4);
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'<' => {
                // The tag, up to its `>` (attribute values may hold `>` in quotes).
                let mut j = i + 1;
                let mut quote = None;
                while j < data.len() {
                    let b = data[j];
                    match quote {
                        Some(q) if b == q => quote = None,
                        Some(_) => {}
                        None if b == b'"' || b == b'\'' => quote = Some(b),
                        None if b == b'>' => break,
                        None => {}
                    }
                    j += 1;
                }
                let tag = &data[i + 1..j.min(data.len())];
                let closing = tag.first() == Some(&b'/');
                let empty = tag.last() == Some(&b'/');
                let name = tag
                    .strip_prefix(b"/")
                    .unwrap_or(tag)
                    .split(|b| b.is_ascii_whitespace() || *b == b'/')
                    .next()
                    .unwrap_or(&[]);
                let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
                if let Some(sep) = separator(local, closing, empty) {
                    out.push(sep);
                }
                i = j + 1;
            }
            b'&' => match entity(data, i) {
                Some((c, len)) => {
                    let mut utf8 = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                    i += len;
                }
                None => {
                    out.push(b'&');
                    i += 1;
                }
            },
            // Line breaks in the XML source are not in the text.
            b'\n' | b'\r' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_joined_within_a_paragraph() {
        let xml = br#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>key AKIA</w:t></w:r><w:proofErr w:type="spellStart"/><w:r><w:rPr><w:b/></w:rPr><w:t>R7VZ3MOXQ4JT</w:t></w:r><w:r><w:t xml:space="preserve">LW2N &amp; more</w:t></w:r></w:p><w:p><w:r><w:t>next</w:t></w:r></w:p></w:body></w:document>"#;
        assert!(sniff(xml));
        assert_eq!(
            String::from_utf8(text(xml)).unwrap(),
            "key AKIAR7VZ3MOXQ4JTLW2N & more\nnext\n"
        );
    }
}
