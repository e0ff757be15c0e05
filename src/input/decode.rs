//! Credentials hidden behind an encoding: UTF-16 text, base64 runs (a Kubernetes Secret's
//! `data:` values), URL-encoding (`%2F`, `%2B` in a query string) and JSON `\uXXXX` escapes.
//!
//! Cost is kept off the common path by cheap prefilters that run while a blob is scanned
//! ([`DecodeState::collect`]) and only record *triggers*: a base64 run long enough to hold a key
//! that decodes to printable text, a `%2F` / `%2B` / `%3D` escape, a `\u00XX` escape of an
//! ASCII character. Only when there are triggers ([`DecodeState::rescan`]) is a *decoded view*
//! built of the text around them (every escape in it decoded, the triggering base64 runs
//! replaced by their text, the context left as it is, so `KEY: <base64>` still reads as an
//! assignment), and the detector run over that view. A match is kept only when one of its
//! parts comes out of decoded bytes, and only when the plain scan did not already report the
//! same credential in the blob. It is reported where the *encoded* text sits in the blob, with
//! `Origin::decoded_from` naming the decoding.
//!
//! UTF-16 is whole-blob: [`sniff_utf16`] recognises it (byte order mark, or many NUL bytes at
//! odd or even positions) and [`Utf16Reader`] transcodes it to UTF-8 as a stream.

use std::io::{self, Read};
use std::ops::Range;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::allow;
use crate::detect::encoded::{Tap, TapKind};
use crate::detect::{Detector, Match, ScanState};
use crate::finding::{self, Finding};
use crate::input::Origin;

/// A decoding that can reveal a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Encoding {
    Base64,
    Url,
    JsonEscape,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    /// The name reported in `location.decoded_from`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Url => "url",
            Encoding::JsonEscape => "json-escape",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
        }
    }
}

/// Shortest base64 run decoded: a bare key ID (20 bytes) is 27 characters plus padding.
pub const MIN_BASE64_RUN: usize = 24;
/// Longest base64 run decoded; longer ones are embedded files, not credentials.
pub const MAX_BASE64_RUN: usize = 1 << 20;
/// Text kept on each side of a trigger in the decoded view: a key ID and its secret may be
/// this far apart (the pairing distance plus the rules' windows).
pub const CONTEXT: usize = 2048;
/// Largest decoded view built at once.
const MAX_REGION: usize = 1 << 20;
/// The bytes of a base64 run, as a table (the run finder's inner loop).
static BASE64_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
        b += 1;
    }
    table
};

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// How far after a plain name its base64 value may start.
const NAME_TO_VALUE: usize = 128;

/// Text a credential can be part of: printable ASCII and line breaks.
fn is_text(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t'
}

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes a base64 run (without its padding) when it is text; `out` gets the text.
fn decode_base64_text(run: &[u8], out: &mut Vec<u8>) -> bool {
    // A trailing lone character carries no whole byte.
    let run = &run[..run.len() - usize::from(run.len() % 4 == 1)];
    // Text is ASCII: each quad's first character holds a byte's top six bits, which are
    // below 32 (`A`-`Z`, `a`-`f`). Hex digests and random tokens mostly fail this at once.
    if run
        .iter()
        .step_by(4)
        .take(4)
        .any(|&c| !(c.is_ascii_uppercase() || (b'a'..=b'f').contains(&c)))
    {
        return false;
    }
    // Random data fails the text test within the first few bytes: try a short head first.
    let head = &run[..run.len().min(16)];
    let mut probe = [0u8; 12];
    match BASE64.decode_slice(head, &mut probe) {
        Ok(n) if probe[..n].iter().all(|&b| is_text(b)) => {}
        _ => return false,
    }
    out.clear();
    if BASE64.decode_vec(run, out).is_err() {
        return false;
    }
    let text = out.iter().filter(|&&b| is_text(b)).count();
    text * 100 >= out.len() * 95
}

/// A place the plain text may hide a credential behind an encoding.
#[derive(Debug, Clone)]
struct Trigger {
    span: Range<usize>,
    encoding: Encoding,
}

/// One replacement in a decoded view: `orig` bytes of the blob became `out` bytes of the view.
#[derive(Debug, Clone)]
struct Piece {
    /// Start in the view.
    view: usize,
    /// Bytes of the blob it stands for.
    orig: Range<usize>,
    /// Some for decoded text, None for text copied as it was.
    encoding: Option<Encoding>,
}

/// Per-thread decoding scratch space, reused across blobs.
#[derive(Debug, Default)]
pub struct DecodeState {
    triggers: Vec<Trigger>,
    view: Vec<u8>,
    pieces: Vec<Piece>,
    scratch: Vec<u8>,
    state: ScanState,
}

impl DecodeState {
    /// Forgets the previous blob.
    pub fn clear(&mut self) {
        self.triggers.clear();
    }

    /// Records the decoding triggers that the prefilter's signature hits (`taps`, in order)
    /// point to.
    pub fn collect(&mut self, data: &[u8], taps: &[Tap]) {
        // Each kind keeps its own `done` mark so a run is looked at once.
        let (mut base64_done, mut url_done, mut json_done) = (0, 0, 0);
        for tap in taps {
            let at = tap.start;
            match tap.kind {
                TapKind::Name | TapKind::Base64 if at >= base64_done => {
                    let name = tap.kind == TapKind::Name;
                    base64_done = self.base64_at(data, at, tap.end - tap.start, name);
                }
                TapKind::Url if at >= url_done => {
                    let (run, len) = escaped_run(data, at, Encoding::Url);
                    // Only a secret (40 characters) ever needs URL-encoding.
                    if len >= 40 {
                        self.push(run.clone(), Encoding::Url);
                    }
                    url_done = run.end;
                }
                TapKind::Json
                    if at >= json_done && json_escape(data, at).is_some_and(|c| c < 0x80) =>
                {
                    let (run, len) = escaped_run(data, at, Encoding::JsonEscape);
                    // A key ID is 20 characters.
                    if len >= 20 {
                        self.push(run.clone(), Encoding::JsonEscape);
                    }
                    json_done = run.end;
                }
                _ => {}
            }
        }
    }

    fn push(&mut self, span: Range<usize>, encoding: Encoding) {
        self.triggers.push(Trigger { span, encoding });
    }

    /// Looks at the base64 run a trigger at `at` (`len` bytes) points to: the run holding a
    /// base64 signature, or (`name`) the run that starts shortly after a plain `secret` name
    /// (`AWS_SECRET_ACCESS_KEY: <base64>` in a Kubernetes Secret). Records it when it is long
    /// enough and decodes to text; returns where the next trigger may start.
    fn base64_at(&mut self, data: &[u8], at: usize, len: usize, name: bool) -> usize {
        let b64 = |b: u8| BASE64_BYTES[usize::from(b)];
        let probe = if name {
            let from = at + len;
            let until = data.len().min(from + NAME_TO_VALUE);
            match data[from..until]
                .windows(MIN_BASE64_RUN)
                .position(|w| w.iter().all(|&b| b64(b)))
            {
                Some(p) => from + p,
                None => return at + len,
            }
        } else {
            at
        };
        let mut start = probe;
        while start > 0 && probe - start < MAX_BASE64_RUN && b64(data[start - 1]) {
            start -= 1;
        }
        let mut end = probe;
        while end < data.len() && end - start < MAX_BASE64_RUN && b64(data[end]) {
            end += 1;
        }
        if end - start >= MIN_BASE64_RUN && decode_base64_text(&data[start..end], &mut self.scratch)
        {
            let mut stop = end;
            while stop < data.len() && stop < end + 2 && data[stop] == b'=' {
                stop += 1;
            }
            self.push(start..stop, Encoding::Base64);
        }
        end.max(at + len)
    }

    /// Scans decoded views around the triggers recorded for `data` and adds what only the
    /// decoding revealed to `findings` (which holds the plain scan's findings for `data`).
    pub fn rescan(
        &mut self,
        detector: &Detector,
        data: &[u8],
        origin: &Origin,
        findings: &mut Vec<Finding>,
    ) {
        if self.triggers.is_empty() {
            return;
        }
        self.triggers.sort_by_key(|t| (t.span.start, t.span.end));
        // Regions: each trigger with CONTEXT bytes around it, overlapping ones merged.
        // Merged regions stop growing at MAX_REGION (a log with an escape on every line is
        // decoded piece by piece, never copied whole); pieces overlap by their context, and a
        // credential seen in two of them is merged below.
        let mut regions: Vec<Range<usize>> = Vec::new();
        for t in &self.triggers {
            let r = t.span.start.saturating_sub(CONTEXT)..(t.span.end + CONTEXT).min(data.len());
            match regions.last_mut() {
                Some(last) if r.start <= last.end && last.len() < MAX_REGION => {
                    last.end = last.end.max(r.end)
                }
                _ => regions.push(r),
            }
        }
        let mut decoded: Vec<(usize, Match, Encoding, bool)> = Vec::new();
        for region in regions {
            let first = self
                .triggers
                .partition_point(|t| t.span.start < region.start);
            let last = self.triggers.partition_point(|t| t.span.start < region.end);
            self.build_view(data, region, first..last);
            let matches = detector.scan(&self.view, &mut self.state);
            for m in matches {
                if let Some((offset, encoding)) = self.decoded_part(&m) {
                    let allowed = self.allowed(data, &m);
                    decoded.push((offset, m, encoding, allowed));
                }
            }
        }
        if decoded.is_empty() {
            return;
        }
        decoded.sort_by_key(|(offset, ..)| *offset);
        let offsets: Vec<usize> = decoded.iter().map(|(o, ..)| *o).collect();
        let positions = finding::locate(data, &offsets, |_| {});
        let found = decoded
            .iter()
            .zip(positions)
            .map(|((_, m, encoding, allowed), at)| {
                let decoded_from = match &origin.decoded_from {
                    Some(outer) => format!("{outer}+{}", encoding.as_str()),
                    None => encoding.as_str().to_string(),
                };
                let origin = Origin {
                    decoded_from: Some(decoded_from),
                    ..origin.clone()
                };
                let mut finding = Finding::from_match(detector, m, &origin, at);
                finding.inline_allowed = *allowed;
                finding
            })
            .collect();
        merge_decoded(findings, found);
    }

    /// Builds the decoded view of `data[region]`: the base64 triggers in it replaced by their
    /// text, every `%XX` and `\uXXXX` escape decoded, the rest copied.
    fn build_view(&mut self, data: &[u8], region: Range<usize>, triggers: Range<usize>) {
        self.view.clear();
        self.pieces.clear();
        let runs: Vec<Range<usize>> = self.triggers[triggers]
            .iter()
            .filter(|t| t.encoding == Encoding::Base64)
            .map(|t| t.span.clone())
            .filter(|s| s.start >= region.start && s.end <= region.end)
            .collect();
        let mut runs = runs.into_iter().peekable();
        let mut copied = region.start;
        let mut at = region.start;
        while at < region.end {
            let mut replaced: Option<(usize, Encoding)> = None;
            // A run that an escape before it swallowed the start of stays encoded.
            while runs.peek().is_some_and(|r| r.start < at) {
                runs.next();
            }
            if runs.peek().is_some_and(|r| r.start == at) {
                if let Some(run) = runs.next() {
                    let body = data[run.clone()]
                        .iter()
                        .rposition(|&b| b != b'=')
                        .map_or(run.start, |p| run.start + p + 1);
                    if decode_base64_text(&data[run.start..body], &mut self.scratch) {
                        self.flush_copy(data, copied..at);
                        let view = self.view.len();
                        self.view.extend_from_slice(&self.scratch);
                        self.pieces.push(Piece {
                            view,
                            orig: run.clone(),
                            encoding: Some(Encoding::Base64),
                        });
                        copied = run.end;
                        at = run.end;
                        continue;
                    }
                }
            }
            match data[at] {
                b'%' if at + 2 < region.end => {
                    if let (Some(h), Some(l)) = (hex(data[at + 1]), hex(data[at + 2])) {
                        replaced = Some((3, Encoding::Url));
                        self.scratch.clear();
                        self.scratch.push(h << 4 | l);
                    }
                }
                b'\\' if at + 5 < region.end => {
                    if let Some(c) = json_escape(data, at) {
                        replaced = Some((6, Encoding::JsonEscape));
                        self.scratch.clear();
                        let c = char::from_u32(u32::from(c)).unwrap_or('\u{fffd}');
                        let mut utf8 = [0u8; 4];
                        self.scratch
                            .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                    }
                }
                _ => {}
            }
            match replaced {
                Some((len, encoding)) => {
                    self.flush_copy(data, copied..at);
                    let view = self.view.len();
                    self.view.extend_from_slice(&self.scratch);
                    self.pieces.push(Piece {
                        view,
                        orig: at..at + len,
                        encoding: Some(encoding),
                    });
                    at += len;
                    copied = at;
                }
                None => at += 1,
            }
        }
        self.flush_copy(data, copied..region.end);
    }

    fn flush_copy(&mut self, data: &[u8], range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let view = self.view.len();
        self.view.extend_from_slice(&data[range.clone()]);
        self.pieces.push(Piece {
            view,
            orig: range,
            encoding: None,
        });
    }

    /// The piece a view offset falls in.
    fn piece_at(&self, offset: usize) -> &Piece {
        let i = self.pieces.partition_point(|p| p.view <= offset);
        &self.pieces[i.saturating_sub(1)]
    }

    /// Where a view offset sits in the blob: in copied text, the same byte; in decoded text,
    /// the start of the encoded text it came from.
    fn to_blob(&self, offset: usize) -> usize {
        let piece = self.piece_at(offset);
        match piece.encoding {
            None => piece.orig.start + (offset - piece.view),
            Some(_) => piece.orig.start,
        }
    }

    /// True when a match in the view is allowed by a `keysweep:allow` marker: on the blob
    /// line of each of its parts' encoded text, or on its line in the decoded text.
    fn allowed(&self, data: &[u8], m: &Match) -> bool {
        if allow::allowed(&self.view, m) {
            return true;
        }
        let mut parts = [&m.key_id, &m.secret, &m.token]
            .into_iter()
            .flatten()
            .map(|span| self.to_blob(span.start))
            .peekable();
        if parts.peek().is_none() {
            return allow::line_has_marker(data, self.to_blob(m.offset));
        }
        parts.all(|at| allow::line_has_marker(data, at))
    }

    /// For a match in the view that decoded bytes are part of: where to report it in the blob
    /// and the decoding; None for a match the plain text holds as it is.
    fn decoded_part(&self, m: &Match) -> Option<(usize, Encoding)> {
        let spans = [&m.key_id, &m.secret, &m.token, &m.api_key];
        let encoding = spans.iter().copied().flatten().find_map(|span| {
            let first = self.pieces.partition_point(|p| p.view <= span.start);
            self.pieces[first.saturating_sub(1)..]
                .iter()
                .take_while(|p| p.view < span.end)
                .find_map(|p| p.encoding)
        })?;
        Some((self.to_blob(m.offset), encoding))
    }
}

/// The token around the escape at `data[at]`: base64 characters and `encoding`'s escapes
/// (`%XX`; `\uXXXX` and `\/`), with the number of characters it decodes to. Bounded to a few
/// KB either side.
fn escaped_run(data: &[u8], at: usize, encoding: Encoding) -> (Range<usize>, usize) {
    const LIMIT: usize = 4096;
    let url = encoding == Encoding::Url;
    let in_token =
        |b: u8| BASE64_BYTES[usize::from(b)] || (if url { b == b'%' } else { b == b'\\' });
    let mut start = at;
    while start > 0 && at - start < LIMIT && in_token(data[start - 1]) {
        start -= 1;
    }
    loop {
        // Parse forward; a stretch that does not parse up to `at` is not part of the token.
        let (mut q, mut n) = (start, 0);
        while q < data.len() && q < at + LIMIT {
            let step = if url && data[q] == b'%' {
                match (data.get(q + 1), data.get(q + 2)) {
                    (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => 3,
                    _ => 0,
                }
            } else if !url && data[q] == b'\\' {
                match data.get(q + 1) {
                    Some(b'/') => 2,
                    Some(b'u') if json_escape(data, q).is_some() => 6,
                    _ => 0,
                }
            } else {
                usize::from(BASE64_BYTES[usize::from(data[q])])
            };
            if step == 0 {
                break;
            }
            q += step;
            n += 1;
        }
        if q > at || q >= data.len() {
            return (start..q.max(at + 1), n);
        }
        start = q + 1;
    }
}

/// The character of a `\uXXXX` escape at `data[at]`.
fn json_escape(data: &[u8], at: usize) -> Option<u16> {
    let esc = data.get(at..at + 6)?;
    if esc[0] != b'\\' || esc[1] != b'u' {
        return None;
    }
    esc[2..]
        .iter()
        .try_fold(0u16, |acc, &b| Some(acc << 4 | u16::from(hex(b)?)))
}

/// True when `a` says everything `b` says: the same key ID and, where `b` has a secret or
/// token, the same one.
fn covers(a: &Finding, b: &Finding) -> bool {
    a.key_id == b.key_id
        && (b.secret.is_none() || a.secret == b.secret)
        && (b.session_token.is_none() || a.session_token == b.session_token)
}

/// Adds findings made by decoding to a blob's `findings`, skipping a credential already
/// reported there and replacing the ones a decoded finding says more about (a lone key ID in
/// plain text whose secret was URL-encoded becomes one pair).
pub fn merge_decoded(findings: &mut Vec<Finding>, decoded: Vec<Finding>) {
    for d in decoded {
        if findings.iter().any(|f| covers(f, &d)) {
            continue;
        }
        findings.retain(|f| !covers(&d, f));
        findings.push(d);
    }
}

/// Recognises UTF-16 text: a byte order mark, or (no mark) NUL bytes at most odd positions
/// and few even ones (little-endian ASCII text) or the reverse (big-endian).
pub fn sniff_utf16(data: &[u8]) -> Option<Encoding> {
    if data.starts_with(&[0xff, 0xfe]) {
        return Some(Encoding::Utf16Le);
    }
    if data.starts_with(&[0xfe, 0xff]) {
        return Some(Encoding::Utf16Be);
    }
    let sample = &data[..data.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs < 8 {
        return None;
    }
    let (mut even, mut odd) = (0, 0);
    for pair in sample.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    // ASCII-heavy text: at least 60% of one side NUL, almost none of the other.
    if odd * 10 >= pairs * 6 && even * 20 <= pairs {
        Some(Encoding::Utf16Le)
    } else if even * 10 >= pairs * 6 && odd * 20 <= pairs {
        Some(Encoding::Utf16Be)
    } else {
        None
    }
}

/// Transcodes UTF-16 bytes to UTF-8 as they are read (unpaired surrogates become U+FFFD; a
/// byte order mark is dropped).
pub struct Utf16Reader<'a> {
    data: &'a [u8],
    pos: usize,
    little_endian: bool,
    out: Vec<u8>,
    out_pos: usize,
}

impl<'a> Utf16Reader<'a> {
    pub fn new(data: &'a [u8], encoding: Encoding) -> Self {
        let little_endian = encoding != Encoding::Utf16Be;
        let bom: &[u8] = if little_endian {
            &[0xff, 0xfe]
        } else {
            &[0xfe, 0xff]
        };
        Utf16Reader {
            data,
            pos: if data.starts_with(bom) { 2 } else { 0 },
            little_endian,
            out: Vec::new(),
            out_pos: 0,
        }
    }

    /// Transcodes the next piece of input into `out`.
    fn refill(&mut self) {
        const UNITS: usize = 32 * 1024;
        self.out.clear();
        self.out_pos = 0;
        let rest = &self.data[self.pos..];
        let mut take = (rest.len() & !1).min(UNITS * 2);
        // Keep a high surrogate with its partner.
        if take >= 2 && take < rest.len() & !1 {
            let last = unit(&rest[take - 2..take], self.little_endian);
            if (0xD800..0xDC00).contains(&last) {
                take -= 2;
            }
        }
        let le = self.little_endian;
        let units = rest[..take].chunks_exact(2).map(|c| unit(c, le));
        for c in char::decode_utf16(units) {
            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
            let mut utf8 = [0u8; 4];
            self.out
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        self.pos += take;
        // A trailing odd byte is not a character.
        if self.data.len() - self.pos == 1 {
            self.pos += 1;
        }
    }
}

fn unit(c: &[u8], little_endian: bool) -> u16 {
    if little_endian {
        u16::from_le_bytes([c[0], c[1]])
    } else {
        u16::from_be_bytes([c[0], c[1]])
    }
}

impl Read for Utf16Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out.len() {
            if self.pos >= self.data.len() {
                return Ok(0);
            }
            self.refill();
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, le: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect()
    }

    #[test]
    fn utf16_detected_and_transcoded() {
        let text = "key = AKIAR7VZ3MOXQ4JTLW2N é 😀\n";
        for le in [true, false] {
            let data = utf16(text, le);
            let enc = sniff_utf16(&data).unwrap();
            let mut out = String::new();
            Utf16Reader::new(&data, enc)
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text);
        }
        assert_eq!(sniff_utf16(b"plain ascii text, nothing odd here"), None);
    }

    /// Escapes only trigger a rescan inside a token long enough to hide a credential.
    #[test]
    fn escape_triggers_need_a_long_token() {
        let mut state = DecodeState::default();
        let detector = Detector::new(crate::rules::builtin()).unwrap();
        let mut scan = ScanState::default();
        let mut triggers = |text: &str| {
            state.clear();
            scan.clear();
            detector.scan_range(text.as_bytes(), 0..text.len(), &mut scan);
            state.collect(text.as_bytes(), scan.taps());
            state
                .triggers
                .iter()
                .map(|t| text[t.span.clone()].to_string())
                .collect::<Vec<_>>()
        };
        assert!(
            triggers("GET /login?next=https%3A%2F%2Fexample.org%2Fhome&x=1 HTTP/1.1").is_empty()
        );
        assert_eq!(
            triggers("?aws_secret_access_key=Zq8vN3kR%2FtY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy&x=1"),
            vec![
                "aws_secret_access_key=Zq8vN3kR%2FtY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy"
                    .split('=')
                    .nth(1)
                    .unwrap()
                    .to_string()
            ]
        );
        assert!(triggers(r#"{"name": "caf\u00e9", "x": "\u0041"}"#).is_empty());
        assert_eq!(
            triggers(r#"{"id": "\u0041KIAR7VZ3MOXQ4JTLW2N"}"#),
            vec![r"\u0041KIAR7VZ3MOXQ4JTLW2N".to_string()]
        );
    }

    #[test]
    fn base64_text_only() {
        let mut out = Vec::new();
        // "aws_access_key_id: AKIAR7VZ3MOXQ4JTLW2N"
        assert!(decode_base64_text(
            b"YXdzX2FjY2Vzc19rZXlfaWQ6IEFLSUFSN1ZaM01PWFE0SlRMVzJO",
            &mut out
        ));
        assert!(out.starts_with(b"aws_access_key_id"));
        // A secret is itself a base64 run, but decodes to binary.
        assert!(!decode_base64_text(
            b"Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy",
            &mut out
        ));
    }
}
