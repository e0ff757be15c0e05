//! Signatures of credentials behind an encoding: literals the prefilter looks for besides the
//! rules' keywords, so the decoders ([`crate::input::decode`]) learn where encoded text may
//! hide a key without a second pass over every byte.

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

/// URL escapes of the characters a secret can hold that need one (`/`, `+`, `=`).
const URL_ESCAPES: [&str; 6] = ["%2F", "%2f", "%2B", "%2b", "%3D", "%3d"];

/// The start of a JSON `\u00XX` escape.
const JSON_ESCAPE: &str = "\\u00";

/// Every signature with its kind.
pub fn signatures() -> impl Iterator<Item = (&'static str, TapKind)> {
    let kinds = |list: &'static [&'static str], kind| list.iter().map(move |s| (*s, kind));
    kinds(&PLAIN_SECRET_NAMES, TapKind::Name)
        .chain(kinds(&BASE64_SIGNATURES, TapKind::Base64))
        .chain(kinds(&URL_ESCAPES, TapKind::Url))
        .chain(std::iter::once((JSON_ESCAPE, TapKind::Json)))
}
