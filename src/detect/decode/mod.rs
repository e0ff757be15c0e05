//! Credentials hidden behind an encoding: UTF-16 text, base64 runs (a Kubernetes Secret's
//! `data:` values, MIME attachments and PEM-like blocks wrapped at 64 or 76 characters, YAML
//! block scalars, `\`-continued shell lines), compressed data inside base64 (a Helm release),
//! URL-encoding (`%2F`, `%2B` in a query string), JSON and Java `\uXXXX` escapes,
//! quoted-printable mail bodies (`=3D`, `=2B`, `=2F`, `=` soft line breaks) and string
//! literals the language joins (`"AKIA" + "…"`, see [`joined`]).
//!
//! Cost is kept off the common path by cheap prefilters that run while a blob is scanned
//! ([`DecodeState::collect`]) and only record *triggers*: a base64 run long enough to hold a key
//! that decodes to printable text (or to a gzip stream), a `%2F` / `%2B` / `%3D` escape, a
//! `\u00XX` escape of an ASCII character, a quoted-printable escape or soft break, a key-ID
//! prefix or `secret` name in a literal that a `+`/`.`/`,`… joins to the next one. All of
//! them start from hits of the detector's one prefilter pass ([`crate::detect::encoded`]);
//! the escapes are looked for only near its hits (key-ID prefixes, `secret` names, base64
//! signatures, rule keywords).
//! Only when there are triggers ([`DecodeState::rescan`]) is a *decoded view* built of the text
//! around them (every escape in it decoded, the triggering runs replaced by their text, the
//! context left as it is, so `KEY: <base64>` still reads as an assignment), and the detector
//! run over that view. A match is kept only when one of its parts comes out of decoded bytes,
//! and only when the plain scan did not already report the same credential in the blob. It is
//! reported where the *encoded* text sits in the blob, with `Origin::decoded_from` naming the
//! chain of decodings (`base64>base64`, `base64>gzip`).
//!
//! Decoding is recursive: the view's own triggers (base64 inside base64, a gzip stream inside
//! base64) are decoded in turn, up to a depth (`--decode-depth`, [`DEFAULT_DEPTH`]), and every
//! nested level is bounded in bytes ([`LEVEL_BUDGET`]).
//!
//! UTF-16 is whole-blob: [`sniff_utf16`] recognises it (byte order mark, or many NUL bytes at
//! odd or even positions) and [`Utf16Reader`] transcodes it to UTF-8 as a stream.
//!
//! Documents that hide text from a plain scan are read into text the detector runs over
//! again: PDF streams and the text they draw ([`pdf`]), SQLite tables ([`sqlite`]), Office and
//! OpenDocument XML parts ([`office`]).

pub mod joined;
pub mod office;
pub mod pdf;
pub mod sqlite;

use std::io::{self, Read};
use std::ops::Range;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::allow;
use crate::detect::encoded::{Tap, TapKind};
use crate::detect::{Detector, Match, ScanState};
use crate::finding::{self, Finding, Origin};

/// A decoding that can reveal a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Encoding {
    Base64,
    Url,
    JsonEscape,
    QuotedPrintable,
    /// String literals joined by the language.
    Concatenation,
    Gzip,
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
            Encoding::QuotedPrintable => "quoted-printable",
            Encoding::Concatenation => "concatenation",
            Encoding::Gzip => "gzip",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
        }
    }
}

/// Separator of the decodings in `decoded_from` (`utf-16le>base64>gzip`).
pub const CHAIN_SEPARATOR: char = '>';

/// Nesting levels decoded by default (`--decode-depth`).
pub const DEFAULT_DEPTH: u32 = 3;
/// Shortest base64 run decoded: a bare key ID (20 bytes) is 27 characters plus padding.
pub const MIN_BASE64_RUN: usize = 24;
/// Longest base64 run decoded; longer ones are embedded files, not credentials.
pub const MAX_BASE64_RUN: usize = 1 << 20;
/// Text kept on each side of a trigger in the decoded view: a key ID and its secret may be
/// this far apart (the pairing distance plus the rules' windows).
pub const CONTEXT: usize = 2048;
/// Largest decoded view built at once.
const MAX_REGION: usize = 1 << 20;
/// Decoded bytes built per blob at each nested level (base64 inside base64, ...); past it
/// that level stops. The first level is bounded by the blob itself (views are built around
/// triggers only, piece by piece).
pub const LEVEL_BUDGET: usize = 32 << 20;
/// Most bytes a compressed stream found inside decoded data is inflated to.
pub const MAX_INFLATED: u64 = 8 << 20;
/// Shortest line of a wrapped base64 block (MIME uses 76, PEM 64).
const MIN_WRAP_WIDTH: usize = 16;
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

fn b64(b: u8) -> bool {
    BASE64_BYTES[usize::from(b)]
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Quoted-printable uses upper-case hex digits only.
fn qp_hex(b: u8) -> Option<u8> {
    if b.is_ascii_lowercase() {
        None
    } else {
        hex(b)
    }
}

/// How far from a Kubernetes Secret's `kind: Secret` its values are looked for.
const K8S_REACH: usize = 64 * 1024;

/// True when the `Secret` at `data[at]` is a Kubernetes kind: `kind: Secret`,
/// `"kind": "Secret"`, `kind: "Secret"`.
fn is_k8s_secret_kind(data: &[u8], at: usize) -> bool {
    if data.get(at..at + 6) != Some(b"Secret")
        || data.get(at + 6).is_some_and(|b| b.is_ascii_alphanumeric())
    {
        return false;
    }
    let before = data[at.saturating_sub(16)..at].trim_ascii_end();
    let before = before
        .strip_suffix(b"\"")
        .unwrap_or(before)
        .trim_ascii_end();
    let Some(before) = before.strip_suffix(b":") else {
        return false;
    };
    let before = before.strip_suffix(b"\"").unwrap_or(before);
    before.ends_with(b"kind")
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

/// The base64 form of a gzip stream's first three bytes (`1f 8b 08`).
const GZIP_BASE64: &[u8] = b"H4sI";

/// Decodes a base64 run that holds a gzip stream and inflates it (at most [`MAX_INFLATED`]
/// bytes; a stream cut short keeps what came out). `out` gets the inflated bytes.
fn decode_base64_gzip(run: &[u8], out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> bool {
    let run = &run[..run.len() - usize::from(run.len() % 4 == 1)];
    if !run.starts_with(GZIP_BASE64) {
        return false;
    }
    scratch.clear();
    if BASE64.decode_vec(run, scratch).is_err() {
        return false;
    }
    out.clear();
    let reader = flate2::read::MultiGzDecoder::new(&scratch[..]);
    // A truncated or corrupt stream still yields what it inflated before the damage.
    let _ = reader.take(MAX_INFLATED).read_to_end(out);
    !out.is_empty()
}

/// Decodes the base64 body of a trigger: text, or a gzip stream's inflated bytes. Returns the
/// compression met on the way, if any; None when the run is neither.
fn decode_base64(
    body: &[u8],
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> Option<Option<Encoding>> {
    if decode_base64_text(body, out) {
        Some(None)
    } else if decode_base64_gzip(body, out, scratch) {
        Some(Some(Encoding::Gzip))
    } else {
        None
    }
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
    /// A compression undone after the decoding (`base64` then `gzip`).
    inner: Option<Encoding>,
}

/// A match found in a decoded view: where it goes in the blob and the decodings that
/// revealed it, outermost first.
type Decoded = (usize, Match, Vec<Encoding>, bool);

/// Per-thread decoding scratch space, reused across blobs.
#[derive(Debug)]
pub struct DecodeState {
    triggers: Vec<Trigger>,
    view: Vec<u8>,
    pieces: Vec<Piece>,
    scratch: Vec<u8>,
    body: Vec<u8>,
    inflate: Vec<u8>,
    state: ScanState,
    /// Levels decoded (`--decode-depth`); 0 decodes nothing.
    depth: u32,
    /// The state that decodes this one's views (base64 inside base64), made on first use.
    child: Option<Box<DecodeState>>,
}

impl Default for DecodeState {
    fn default() -> Self {
        DecodeState::new(DEFAULT_DEPTH)
    }
}

impl DecodeState {
    /// A state that decodes up to `depth` nested levels.
    pub fn new(depth: u32) -> Self {
        DecodeState {
            triggers: Vec::new(),
            view: Vec::new(),
            pieces: Vec::new(),
            scratch: Vec::new(),
            body: Vec::new(),
            inflate: Vec::new(),
            state: ScanState::default(),
            depth,
            child: None,
        }
    }

    /// Forgets the previous blob.
    pub fn clear(&mut self) {
        self.triggers.clear();
    }

    /// Records the decoding triggers that the prefilter's signature hits (`taps`, in order)
    /// point to.
    pub fn collect(&mut self, data: &[u8], taps: &[Tap]) {
        if self.depth == 0 {
            return;
        }
        // Each kind keeps its own `done` mark so a run is looked at once.
        let (mut base64_done, mut url_done, mut json_done, mut qp_done, mut concat_done) =
            (0, 0, 0, 0, 0);
        let mut k8s_done = 0;
        for tap in taps {
            let at = tap.start;
            match tap.kind {
                TapKind::Name if at >= k8s_done && is_k8s_secret_kind(data, at) => {
                    k8s_done = self.k8s_secret_values(data, at);
                    base64_done = base64_done.max(k8s_done);
                }
                TapKind::Name | TapKind::Base64 if at >= base64_done => {
                    let name = tap.kind == TapKind::Name;
                    base64_done = self.base64_at(data, at, tap.end - tap.start, name);
                    if name {
                        if at >= concat_done {
                            concat_done = self.concat_after_name(data, tap.end);
                        }
                        self.soft_break_after(data, tap.end, NAME_TO_VALUE + 48);
                    }
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
                TapKind::QuotedPrintable if at >= qp_done => {
                    let (run, len) = escaped_run(data, at, Encoding::QuotedPrintable);
                    // `=3D` is the assignment in `key =3D value`: the whole region is decoded.
                    if len >= 20 || &data[at..tap.end] == b"=3D" {
                        self.push(run.clone(), Encoding::QuotedPrintable);
                    }
                    qp_done = run.end;
                }
                TapKind::KeyPrefix => {
                    // A key ID cut short: by a quoted-printable soft break, or by the end of a
                    // literal the language joins to the next one.
                    let body = data[tap.end..]
                        .iter()
                        .take(16)
                        .take_while(|&&b| matches!(b, b'A'..=b'Z' | b'2'..=b'7'))
                        .count();
                    let next = tap.end + body;
                    if body < 16 {
                        if at >= qp_done && soft_break(data, next).is_some() {
                            let (run, _) = escaped_run(data, at, Encoding::QuotedPrintable);
                            qp_done = run.end;
                            self.push(run, Encoding::QuotedPrintable);
                        } else if at >= concat_done {
                            if let Some(chain) = joined::opening_quote(data, at)
                                .and_then(|q| joined::chain_at(data, q))
                            {
                                let end = chain.span.end;
                                self.push(chain.span, Encoding::Concatenation);
                                // Its secret may be joined the same way right after.
                                concat_done = self.concat_after(data, end + 1, 256).max(end);
                            }
                        }
                    } else if at >= concat_done {
                        // A whole key ID: its secret may be the joined literal that follows.
                        concat_done = self.concat_after(data, next, 256);
                    }
                }
                _ => {}
            }
        }
    }

    /// Records every base64 value of the Kubernetes Secret whose `kind: Secret` is at `at`
    /// (its `data:` values are base64 by definition, whatever their names, before or after
    /// the kind): base64 runs of at least [`MIN_BASE64_RUN`] characters within
    /// [`K8S_REACH`] bytes either side that decode to text or gzip. Returns where the region
    /// ends.
    fn k8s_secret_values(&mut self, data: &[u8], at: usize) -> usize {
        let from = at.saturating_sub(K8S_REACH);
        let until = data.len().min(at + K8S_REACH);
        let mut i = from;
        while i < until {
            if !b64(data[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < until && b64(data[i]) {
                i += 1;
            }
            // A value: after `: `, `:"`, `": "` (not a word inside text).
            let before = data[..start].trim_ascii_end();
            let before = before
                .strip_suffix(b"\"")
                .unwrap_or(before)
                .trim_ascii_end();
            if i - start >= MIN_BASE64_RUN && before.ends_with(b":") {
                let (s, e) = run_around(data, start);
                if let Some(span) = wrapped_run(data, s, e) {
                    self.body.clear();
                    self.body
                        .extend(data[span.clone()].iter().copied().filter(|&b| b64(b)));
                    if decode_base64(&self.body, &mut self.scratch, &mut self.inflate).is_some() {
                        i = i.max(span.end);
                        self.push(span, Encoding::Base64);
                        continue;
                    }
                }
                if decode_base64(&data[s..e], &mut self.scratch, &mut self.inflate).is_some() {
                    let mut stop = e;
                    while stop < data.len() && stop < e + 2 && data[stop] == b'=' {
                        stop += 1;
                    }
                    self.push(s..stop, Encoding::Base64);
                }
            }
        }
        until
    }

    fn push(&mut self, span: Range<usize>, encoding: Encoding) {
        self.triggers.push(Trigger { span, encoding });
    }

    /// Records a chain of joined literals that is the value of the name ending at `from`;
    /// returns where the next concatenation trigger may start.
    fn concat_after_name(&mut self, data: &[u8], from: usize) -> usize {
        let Some(q) = joined::value_quote(data, from, 48) else {
            // `secret = implode('', [...])`: a call before the pieces.
            return self.concat_after(data, from, 64);
        };
        match joined::chain_at(data, q) {
            Some(chain) => {
                let end = chain.span.end;
                self.push(chain.span, Encoding::Concatenation);
                end
            }
            // `"".join([...])`, `implode('', [...])`: the pieces follow the joiner.
            None => self.concat_after(data, q + 1, 64),
        }
    }

    /// Records the first chain of joined literals that opens within `limit` bytes after
    /// `from` (at most four literals are tried); returns where the next trigger may start.
    fn concat_after(&mut self, data: &[u8], from: usize, limit: usize) -> usize {
        let end = data.len().min(from + limit);
        let mut tried = 0;
        let mut i = from;
        while i < end && tried < 4 {
            let Some(p) = data[i..end]
                .iter()
                .position(|&b| matches!(b, b'"' | b'\'' | b'`'))
            else {
                break;
            };
            let q = i + p;
            // The closing quote of the key ID's own literal is not an opening one.
            if q == from {
                i = q + 1;
                continue;
            }
            tried += 1;
            if let Some(chain) = joined::chain_at(data, q) {
                let end = chain.span.end;
                self.push(chain.span, Encoding::Concatenation);
                return end;
            }
            i = q + 1;
        }
        from
    }

    /// Records a quoted-printable soft break in the value after a name (`from`), within
    /// `limit` bytes.
    fn soft_break_after(&mut self, data: &[u8], from: usize, limit: usize) {
        let end = data.len().min(from + limit);
        let Some(p) = memchr::memchr(b'=', &data[from..end]) else {
            return;
        };
        // Only the first `=` after the name is looked at: `name = value=\n` has its soft
        // break after the value, `name=3Dvalue` its escape right away.
        let mut i = from + p + 1;
        while i < end {
            if soft_break(data, i).is_some() {
                if i > from && b64(data[i - 1]) {
                    let (run, _) = escaped_run(data, i - 1, Encoding::QuotedPrintable);
                    self.push(run, Encoding::QuotedPrintable);
                }
                return;
            }
            if !b64(data[i]) && data[i] != b' ' {
                return;
            }
            i += 1;
        }
    }

    /// Looks at the base64 run a trigger at `at` (`len` bytes) points to: the run holding a
    /// base64 signature, or (`name`) the run that starts shortly after a plain `secret` name
    /// (`AWS_SECRET_ACCESS_KEY: <base64>` in a Kubernetes Secret). A run wrapped over several
    /// lines (MIME, PEM, YAML block scalars, `\` continuations) is taken whole. Records it when
    /// it is long enough and decodes to text (or to a gzip stream); returns where the next
    /// trigger may start.
    fn base64_at(&mut self, data: &[u8], at: usize, len: usize, name: bool) -> usize {
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
        let (start, end) = run_around(data, probe);
        let mut done = end.max(at + len);
        if let Some(span) = wrapped_run(data, start, end) {
            self.body.clear();
            self.body
                .extend(data[span.clone()].iter().copied().filter(|&b| b64(b)));
            if decode_base64(&self.body, &mut self.scratch, &mut self.inflate).is_some() {
                self.push(span.clone(), Encoding::Base64);
                return done.max(span.end);
            }
        }
        if end - start >= MIN_BASE64_RUN
            && decode_base64(&data[start..end], &mut self.scratch, &mut self.inflate).is_some()
        {
            let mut stop = end;
            while stop < data.len() && stop < end + 2 && data[stop] == b'=' {
                stop += 1;
            }
            self.push(start..stop, Encoding::Base64);
            done = done.max(stop);
        }
        done
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
        let mut decoded: Vec<Decoded> = Vec::new();
        let depth = self.depth;
        self.decode_level(detector, data, depth, false, &mut decoded);
        if decoded.is_empty() {
            return;
        }
        decoded.sort_by_key(|(offset, ..)| *offset);
        let offsets: Vec<usize> = decoded.iter().map(|(o, ..)| *o).collect();
        let positions = finding::locate(data, &offsets, |_| {});
        let found = decoded
            .iter()
            .zip(positions)
            .map(|((_, m, chain, allowed), at)| {
                let mut decoded_from = origin.decoded_from.clone().unwrap_or_default();
                for encoding in chain {
                    if !decoded_from.is_empty() {
                        decoded_from.push(CHAIN_SEPARATOR);
                    }
                    decoded_from.push_str(encoding.as_str());
                }
                let origin = Origin {
                    decoded_from: Some(decoded_from),
                    ..origin.clone()
                };
                let mut finding = Finding::from_match(detector.rule_id(m.rule), m, &origin, at);
                finding.inline_allowed = *allowed;
                finding
            })
            .collect();
        merge_decoded(findings, found);
    }

    /// Decodes the views around this level's triggers in `data`, `depth` levels deep, and adds
    /// the matches only decoding revealed to `out` (offsets in `data`). `nested` levels are
    /// bounded by [`LEVEL_BUDGET`].
    fn decode_level(
        &mut self,
        detector: &Detector,
        data: &[u8],
        depth: u32,
        nested: bool,
        out: &mut Vec<Decoded>,
    ) {
        if self.triggers.is_empty() || depth == 0 {
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
        let mut budget = if nested { LEVEL_BUDGET } else { usize::MAX };
        let mut inner: Vec<Decoded> = Vec::new();
        for region in regions {
            let first = self
                .triggers
                .partition_point(|t| t.span.start < region.start);
            let last = self.triggers.partition_point(|t| t.span.start < region.end);
            self.build_view(data, region, first..last);
            if self.view.len() > budget {
                break;
            }
            budget -= self.view.len();
            let matches = detector.scan(&self.view, &mut self.state);
            for m in matches {
                if let Some((offset, chain)) = self.decoded_part(&m) {
                    let allowed = self.allowed(data, &m);
                    out.push((offset, m, chain, allowed));
                }
            }
            if depth > 1 && self.pieces.iter().any(|p| p.encoding.is_some()) {
                // The view's own triggers inside decoded text: base64 inside base64, ...
                let child = self
                    .child
                    .get_or_insert_with(|| Box::new(DecodeState::new(depth - 1)));
                child.clear();
                child.depth = depth - 1;
                child.collect(&self.view, self.state.taps());
                let pieces = &self.pieces;
                child.triggers.retain(|t| overlaps_decoded(pieces, &t.span));
                inner.clear();
                child.decode_level(detector, &self.view, depth - 1, true, &mut inner);
                for (offset, m, chain, allowed) in inner.drain(..) {
                    let piece = self.piece_at(offset);
                    let mut full: Vec<Encoding> =
                        piece.encoding.into_iter().chain(piece.inner).collect();
                    full.extend(chain);
                    let at = self.to_blob(offset);
                    // Allowed in the decoded text, or on the blob line of the outer encoding.
                    let allowed = allowed || allow::line_has_marker(data, at);
                    out.push((at, m, full, allowed));
                }
            }
        }
    }

    /// Builds the decoded view of `data[region]`: the base64 and joined-literal triggers in it
    /// replaced by their text, every `%XX` and `\uXXXX` escape decoded (and, when a
    /// quoted-printable trigger is in the region, every `=XX` escape and `=` soft break).
    fn build_view(&mut self, data: &[u8], region: Range<usize>, triggers: Range<usize>) {
        self.view.clear();
        self.pieces.clear();
        let in_region = |t: &&Trigger| t.span.start >= region.start && t.span.end <= region.end;
        let runs: Vec<(Range<usize>, Encoding)> = self.triggers[triggers.clone()]
            .iter()
            .filter(|t| matches!(t.encoding, Encoding::Base64 | Encoding::Concatenation))
            .filter(in_region)
            .map(|t| (t.span.clone(), t.encoding))
            .collect();
        let qp = self.triggers[triggers]
            .iter()
            .any(|t| t.encoding == Encoding::QuotedPrintable);
        let mut runs = runs.into_iter().peekable();
        let mut copied = region.start;
        let mut at = region.start;
        while at < region.end {
            let mut replaced: Option<(usize, Encoding)> = None;
            // A run that an escape before it swallowed the start of stays encoded.
            while runs.peek().is_some_and(|(r, _)| r.start < at) {
                runs.next();
            }
            if runs.peek().is_some_and(|(r, _)| r.start == at) {
                if let Some((run, encoding)) = runs.next() {
                    let inner = match encoding {
                        Encoding::Concatenation => {
                            match joined::chain_at(data, run.start.wrapping_sub(1)) {
                                Some(chain) => {
                                    chain.joined(data, &mut self.scratch);
                                    Some(None)
                                }
                                None => None,
                            }
                        }
                        _ => {
                            self.body.clear();
                            self.body
                                .extend(data[run.clone()].iter().copied().filter(|&b| b64(b)));
                            decode_base64(&self.body, &mut self.scratch, &mut self.inflate)
                        }
                    };
                    if let Some(inner) = inner {
                        self.flush_copy(data, copied..at);
                        let view = self.view.len();
                        self.view.extend_from_slice(&self.scratch);
                        self.pieces.push(Piece {
                            view,
                            orig: run.clone(),
                            encoding: Some(encoding),
                            inner,
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
                b'=' if qp => {
                    if let Some(len) = soft_break(data, at + 1) {
                        replaced = Some((1 + len, Encoding::QuotedPrintable));
                        self.scratch.clear();
                    } else if let (Some(&h), Some(&l)) = (data.get(at + 1), data.get(at + 2)) {
                        if let (Some(h), Some(l)) = (qp_hex(h), qp_hex(l)) {
                            replaced = Some((3, Encoding::QuotedPrintable));
                            self.scratch.clear();
                            self.scratch.push(h << 4 | l);
                        }
                    }
                }
                _ => {}
            }
            match replaced {
                Some((len, encoding)) => {
                    self.flush_copy(data, copied..at);
                    let view = self.view.len();
                    self.view.extend_from_slice(&self.scratch);
                    let end = (at + len).min(data.len());
                    self.pieces.push(Piece {
                        view,
                        orig: at..end,
                        encoding: Some(encoding),
                        inner: None,
                    });
                    at = end;
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
            inner: None,
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
    /// and the decodings; None for a match the plain text holds as it is.
    fn decoded_part(&self, m: &Match) -> Option<(usize, Vec<Encoding>)> {
        let spans = [&m.key_id, &m.secret, &m.token, &m.api_key];
        let piece = spans.iter().copied().flatten().find_map(|span| {
            let first = self.pieces.partition_point(|p| p.view <= span.start);
            self.pieces[first.saturating_sub(1)..]
                .iter()
                .take_while(|p| p.view < span.end)
                .find(|p| p.encoding.is_some())
        })?;
        let chain = piece.encoding.into_iter().chain(piece.inner).collect();
        Some((self.to_blob(m.offset), chain))
    }
}

/// True when `span` of a view overlaps one of its decoded pieces.
fn overlaps_decoded(pieces: &[Piece], span: &Range<usize>) -> bool {
    let first = pieces.partition_point(|p| p.view <= span.start);
    pieces[first.saturating_sub(1)..]
        .iter()
        .take_while(|p| p.view < span.end)
        .any(|p| p.encoding.is_some())
}

/// The base64 run around `probe`, at most [`MAX_BASE64_RUN`] bytes each way.
fn run_around(data: &[u8], probe: usize) -> (usize, usize) {
    let mut start = probe;
    while start > 0 && probe - start < MAX_BASE64_RUN && b64(data[start - 1]) {
        start -= 1;
    }
    let mut end = probe;
    while end < data.len() && end - start < MAX_BASE64_RUN && b64(data[end]) {
        end += 1;
    }
    (start, end)
}

/// A quoted-printable soft line break right at `data[at]` (the byte after a `=`): the length
/// of its `\r\n` or `\n`.
fn soft_break(data: &[u8], at: usize) -> Option<usize> {
    match (data.get(at), data.get(at + 1)) {
        (Some(b'\n'), _) => Some(1),
        (Some(b'\r'), Some(b'\n')) => Some(2),
        _ => None,
    }
}

/// Where the line break after a base64 line at `end` leads: the start of the next line's
/// text, past `\` continuations, `\r`, and indentation.
fn wrap_after(data: &[u8], end: usize) -> Option<usize> {
    let mut i = end;
    if data.get(i) == Some(&b'\\') {
        i += 1;
    }
    if data.get(i) == Some(&b'\r') {
        i += 1;
    }
    if data.get(i) != Some(&b'\n') {
        return None;
    }
    i += 1;
    while matches!(data.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    Some(i)
}

/// Where the base64 line before the line starting (after indentation) at `start` ends.
fn wrap_before(data: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i > 0 && matches!(data[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    if i == 0 || data[i - 1] != b'\n' {
        return None;
    }
    i -= 1;
    if i > 0 && data[i - 1] == b'\r' {
        i -= 1;
    }
    if i > 0 && data[i - 1] == b'\\' {
        i -= 1;
    }
    Some(i)
}

/// Bytes that may end a wrapped base64 value (after its padding).
fn ends_value(b: Option<&u8>) -> bool {
    match b {
        None => true,
        Some(&b) => b.is_ascii_whitespace() || b"\"'`,;<)]}\\".contains(&b),
    }
}

/// The whole of a base64 value wrapped over several lines around the run `data[start..end]`:
/// lines joined across line breaks, indentation and `\` continuations, every line but the
/// first and last of one width (at least [`MIN_WRAP_WIDTH`]), the first and last no wider.
/// None when the run is not part of such a block.
fn wrapped_run(data: &[u8], start: usize, end: usize) -> Option<Range<usize>> {
    // Lines before the run's line (nearest first), then the run's, then the lines after it,
    // while each is base64 up to its line break.
    let mut before: Vec<Range<usize>> = Vec::new();
    let mut total = end - start;
    let mut s = start;
    while let Some(prev_end) = wrap_before(data, s) {
        let (ps, pe) = run_around(data, prev_end.saturating_sub(1));
        if pe != prev_end || pe == ps || total > MAX_BASE64_RUN {
            break;
        }
        before.push(ps..pe);
        total += pe - ps;
        s = ps;
        if ps > 0 && !matches!(data[ps - 1], b' ' | b'\t' | b'\n') {
            // Text before the run on its line: the first line of the block.
            break;
        }
    }
    let p = before.len();
    before.reverse();
    let mut lines = before;
    lines.push(start..end);
    let mut e = end;
    while let Some(next) = wrap_after(data, e) {
        let (ns, ne) = run_around(data, next);
        if ns != next || ne == ns || total > MAX_BASE64_RUN {
            break;
        }
        lines.push(ns..ne);
        total += ne - ns;
        e = ne;
    }
    let n = lines.len();
    if n < 2 {
        return None;
    }
    let width = |k: usize| lines[k].len();
    // The block's width: the probe line's, unless it is a short first or last line.
    let w = if p + 1 < n && width(p + 1) > width(p) {
        width(p + 1)
    } else if p + 1 < n {
        width(p)
    } else {
        width(p - 1)
    };
    if w < MIN_WRAP_WIDTH {
        return None;
    }
    let full = |k: usize| width(k) == w;
    let short_first = !full(p) && p + 1 < n && full(p + 1) && (p == 0 || !full(p - 1));
    let short_last = !full(p) && !short_first;
    let mut i = p;
    if !short_first {
        while i > 0 && full(i - 1) {
            i -= 1;
        }
        if i > 0 && width(i - 1) < w {
            i -= 1;
        }
    }
    let mut j = p;
    if !short_last {
        while j + 1 < n && full(j + 1) {
            j += 1;
        }
        if j + 1 < n && width(j + 1) < w {
            j += 1;
        }
    }
    // The value ends after its last line's padding; a last line glued to other text
    // (`other_key:` after a YAML block) is not part of it.
    let stop = |k: usize| {
        let mut stop = lines[k].end;
        while stop < data.len() && stop < lines[k].end + 2 && data[stop] == b'=' {
            stop += 1;
        }
        stop
    };
    if !ends_value(data.get(stop(j))) && j > p {
        j -= 1;
    }
    if j == i || !ends_value(data.get(stop(j))) {
        return None;
    }
    Some(lines[i].start..stop(j))
}

/// The token around the escape at `data[at]`: base64 characters and `encoding`'s escapes
/// (`%XX`; `=XX` and `=` soft breaks; `\uXXXX` and `\/`), with the number of characters it decodes to. Bounded to a few
/// KB either side.
fn escaped_run(data: &[u8], at: usize, encoding: Encoding) -> (Range<usize>, usize) {
    const LIMIT: usize = 4096;
    let escape = match encoding {
        Encoding::Url => b'%',
        Encoding::QuotedPrintable => b'=',
        _ => b'\\',
    };
    let in_token = |b: u8| b64(b) || b == escape;
    let mut start = at;
    while start > 0 && at - start < LIMIT && in_token(data[start - 1]) {
        start -= 1;
    }
    loop {
        // Parse forward; a stretch that does not parse up to `at` is not part of the token.
        let (mut q, mut n) = (start, 0);
        while q < data.len() && q < at + LIMIT {
            let step = if escape == b'%' && data[q] == b'%' {
                match (data.get(q + 1), data.get(q + 2)) {
                    (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => 3,
                    _ => 0,
                }
            } else if escape == b'=' && data[q] == b'=' {
                match (soft_break(data, q + 1), data.get(q + 1), data.get(q + 2)) {
                    (Some(len), _, _) => 1 + len,
                    (None, Some(&h), Some(&l)) if qp_hex(h).is_some() && qp_hex(l).is_some() => 3,
                    _ => 0,
                }
            } else if escape == b'\\' && data[q] == b'\\' {
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

/// True when `a` says everything `b` says: the same key ID (or `b` has none) and, where `b`
/// has a secret or token, the same one.
fn covers(a: &Finding, b: &Finding) -> bool {
    (a.key_id == b.key_id || b.key_id.is_none())
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
    // Without a NUL byte it is not ASCII-heavy UTF-16: the common case, found at memchr speed.
    if pairs < 8 || memchr::memchr(0, sample).is_none() {
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
        // (Escapes are looked for near prefilter hits only: `secret` puts them in reach.)
        assert!(triggers(
            "GET /login?next=https%3A%2F%2Fexample.org%2Fhome&client_secret=x HTTP/1.1"
        )
        .is_empty());
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
        assert!(triggers(r#"{"name": "caf\u00e9", "x": "\u0041", "secret": "x"}"#).is_empty());
        assert_eq!(
            triggers(r#"{"id": "\u0041KIAR7VZ3MOXQ4JTLW2N", "secret": "x"}"#),
            vec![r"\u0041KIAR7VZ3MOXQ4JTLW2N".to_string()]
        );
        // Far from every prefilter hit, escapes are not looked for: a lone key ID whose first
        // letter alone is escaped (no `AKIA` in the text) is not decoded.
        assert!(triggers(r#"{"id": "\u0041KIAR7VZ3MOXQ4JTLW2N"}"#).is_empty());
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
