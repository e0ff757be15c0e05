//! Signatures of credentials behind an encoding: literals the detector looks for besides the
//! rules' keywords, so the decoders ([`crate::detect::decode`]) learn where encoded text may
//! hide a key without a second pass over every byte.
//!
//! They come in two sets. The [`signatures`] (plain `secret` names, base64 forms, `H4sI`, key-ID
//! prefixes, `startUrl`), all at least 4 bytes long, share the global keyword prefilter with the
//! rules' keywords, which then stays on aho-corasick's slim Teddy search (at most 32 patterns,
//! 4+ bytes each; the 3-byte escapes below push it to the slower fat Teddy: 4.7 against
//! 5.9 GB/s on a source tree). The [`escapes`] (URL, quoted-printable and JSON) are looked for
//! by a second, small searcher only near the global prefilter's hits that an escaped
//! credential can sit next to ([`opens_escape_window`]): [`ESCAPE_REACH`] bytes either side,
//! enough for a key ID's secret (paired within [`PAIR_DISTANCE`](super::PAIR_DISTANCE)) or a
//! secret's key ID, escaped, to be seen. An escaped credential far from every key-ID prefix,
//! `secret` name, base64 signature and rule keyword is not looked at (a lone key ID whose
//! first letter alone is escaped, `\u0041KIA…`, is one).

/// What an encoded-credential signature found by the prefilter stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapKind {
    /// A plain `secret` name: a base64 value may follow (`AWS_SECRET_ACCESS_KEY: <base64>`).
    Name,
    /// The base64 form of a key-ID prefix or of `secret`.
    Base64,
    /// A URL escape a secret needs (`%2F`, `%2B`, `%3D`).
    Url,
    /// A JSON `\u00XX` escape.
    Json,
    /// A quoted-printable escape a secret or assignment needs (`=2B`, `=2F`, `=3D`).
    QuotedPrintable,
    /// A key-ID prefix (also a rule keyword): the key ID may be cut by a soft line break or
    /// split into literals the language joins.
    KeyPrefix,
    /// `startUrl`: an AWS CLI SSO token cache entry may be here ([`super::awscache`]).
    SsoCache,
}

/// A signature hit: where it stands in the blob and what it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tap {
    pub kind: TapKind,
    pub start: usize,
    pub end: usize,
}

/// Plain names after which a base64 value is decoded.
const PLAIN_SECRET_NAMES: [&str; 3] = ["secret", "Secret", "SECRET"];

/// Base64 forms of `AKIA`, `ASIA`, `ABIA`, `ACCA` and `secret`/`Secret`/`SECRET` at each of the
/// three alignments a word can have in a base64 stream (only the characters the word alone
/// determines).
const BASE64_SIGNATURES: [&str; 21] = [
    "QUtJQ", "FLSU", "BS0lB", // AKIA
    "QVNJQ", "FTSU", "BU0lB", // ASIA
    "QUJJQ", "FCSU", "BQklB", // ABIA
    "QUNDQ", "FDQ0", "BQ0NB", // ACCA
    "c2VjcmV0", "NlY3Jld", "zZWNyZX", // secret
    "U2VjcmV0", "TZWNyZX", // Secret (its middle alignment equals secret's)
    "U0VDUkVU", "NFQ1JFV", "TRUNSRV",  // SECRET
    "QVdTX1NF", // AWS_SE (a whole env file encoded)
];

/// The base64 form of a gzip stream's first bytes (`1f 8b 08`): compressed data inside base64
/// (a Helm release). Base64 inside base64 needs no signature of its own: the values of a
/// Kubernetes Secret are decoded as such (found from its `kind: Secret`, a `Secret` keyword
/// hit), and the decoded text's own signatures are found when the view is scanned. (The base64
/// forms of the base64 signatures, 18 more patterns, cost 2.4x prefilter time on plain code:
/// past about 40 patterns, Teddy's buckets let through too many false candidates.)
const NESTED_BASE64_SIGNATURES: [&str; 1] = ["H4sI"];

/// Quoted-printable escapes of `+`, `/` and `=` (upper-case hex, as the format requires).
const QP_ESCAPES: [&str; 3] = ["=2B", "=2F", "=3D"];

/// Key-ID prefixes (the key-ID rule's keywords; a signature that is also a keyword shares
/// its prefilter pattern).
const KEY_PREFIXES: [&str; 4] = ["AKIA", "ASIA", "ABIA", "ACCA"];

/// URL escapes of the characters a secret can hold that need one (`/`, `+`, `=`).
const URL_ESCAPES: [&str; 6] = ["%2F", "%2f", "%2B", "%2b", "%3D", "%3d"];

/// The start of a JSON `\u00XX` escape.
const JSON_ESCAPE: &str = "\\u00";

/// Each literal of `list` with `kind`.
fn kinds(
    list: &'static [&'static str],
    kind: TapKind,
) -> impl Iterator<Item = (&'static str, TapKind)> {
    list.iter().map(move |s| (*s, kind))
}

/// The signatures of the global prefilter, with their kinds (each at least 4 bytes).
pub fn signatures() -> impl Iterator<Item = (&'static str, TapKind)> {
    kinds(&PLAIN_SECRET_NAMES, TapKind::Name)
        .chain(kinds(&BASE64_SIGNATURES, TapKind::Base64))
        .chain(kinds(&NESTED_BASE64_SIGNATURES, TapKind::Base64))
        .chain(kinds(&KEY_PREFIXES, TapKind::KeyPrefix))
        .chain(std::iter::once(("startUrl", TapKind::SsoCache)))
}

/// The escape signatures, looked for only near the global prefilter's hits ([`ESCAPE_REACH`]).
pub fn escapes() -> impl Iterator<Item = (&'static str, TapKind)> {
    kinds(&QP_ESCAPES, TapKind::QuotedPrintable)
        .chain(kinds(&URL_ESCAPES, TapKind::Url))
        .chain(std::iter::once((JSON_ESCAPE, TapKind::Json)))
}

/// Bytes on each side of a global prefilter hit that escapes are looked for in: the pairing
/// distance, plus room for the escaped credential itself (a secret with every character
/// `\uXXXX`-escaped is 240 bytes) and the name before it.
pub const ESCAPE_REACH: usize = super::PAIR_DISTANCE + 256;

/// Whether a global prefilter hit of this kind (None: a rule keyword that is no signature) can
/// sit next to an escaped credential, so escapes are looked for around it. Every kind but the
/// SSO cache's `startUrl` can: a key-ID prefix or a `secret` name next to an escaped secret
/// or key ID, a base64 signature in URL-escaped base64, a keyword of another rule (an API key)
/// in an escaped value.
pub fn opens_escape_window(kind: Option<TapKind>) -> bool {
    kind != Some(TapKind::SsoCache)
}
