//! The placeholder model: values shaped like credentials that a person typed, not a key
//! generator. Real key-ID bodies and secrets are uniformly random, so structure is the
//! signal, not the length of a run:
//!
//! - **Periodic values**: a key-ID body that repeats a block of at most 8 characters
//!   (`ABCDABCD…`, `DEADBEEFDEADBEEF`) or a secret that repeats a block of at most 20 (a
//!   random one does so with probability below 32^-8 and 64^-20).
//! - **Secrets led by a placeholder word** (`Fake…`, `Dummy…`, `Sample…`, `Example…`,
//!   `Test…`, `Mock…`, ..., any case): a random secret starts with one of these 4+ letter
//!   words with probability about 1e-5.
//! - **Secrets made of words**: at least half of the characters covered by words of a
//!   short placeholder vocabulary (`ThisIsNotARealSecretKeyForTesting…`); random base64 covers
//!   a few characters at most.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

/// Longest block a key-ID body may repeat and still be random-looking.
const KEY_ID_MAX_PERIOD: usize = 8;
/// Longest block a secret may repeat.
const SECRET_MAX_PERIOD: usize = 20;

/// Words that mark a secret as a placeholder both when they lead it (any case) and as part
/// of the vocabulary it may be made of.
const PLACEHOLDER_WORDS: [&str; 15] = [
    "fake",
    "dummy",
    "sample",
    "example",
    "test",
    "mock",
    "demo",
    "your",
    "insert",
    "replace",
    "change",
    "redacted",
    "invalid",
    "placeholder",
    "secret",
];

/// Words that mark a secret as a placeholder when they lead it, besides
/// [`PLACEHOLDER_WORDS`].
const LEADING_ONLY: [&str; 3] = ["notreal", "notasecret", "foobar"];

/// The rest of the vocabulary of placeholder secrets: a secret at least half covered by
/// these words and [`PLACEHOLDER_WORDS`] (any case, 3+ letters each) is a placeholder.
const VOCABULARY_ONLY: [&str; 45] = [
    "testing",
    "changeme",
    "access",
    "key",
    "aws",
    "iam",
    "not",
    "real",
    "this",
    "just",
    "for",
    "only",
    "value",
    "here",
    "password",
    "token",
    "default",
    "local",
    "dev",
    "foo",
    "bar",
    "baz",
    "qux",
    "abc",
    "xyz",
    "hello",
    "world",
    "random",
    "string",
    "some",
    "use",
    "prod",
    "staging",
    "the",
    "and",
    "user",
    "account",
    "credential",
    "credentials",
    "good",
    "bad",
    "wrong",
    "dont",
    "own",
    "stub",
];

/// True when `s` repeats a block of at most `max_period` bytes from start to end.
pub(crate) fn periodic(s: &[u8], max_period: usize) -> bool {
    (1..=max_period.min(s.len() / 2)).any(|p| s[p..].iter().zip(s).all(|(a, b)| a == b))
}

/// A key-ID body (the 16 characters after the prefix) that repeats a short block.
pub(crate) fn key_id_body(body: &[u8]) -> bool {
    periodic(body, KEY_ID_MAX_PERIOD)
}

fn leading() -> &'static AhoCorasick {
    static CELL: OnceLock<AhoCorasick> = OnceLock::new();
    CELL.get_or_init(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .start_kind(aho_corasick::StartKind::Anchored)
            .build(PLACEHOLDER_WORDS.iter().chain(&LEADING_ONLY))
            // A fixed list of short ASCII words always builds.
            .unwrap_or_else(|e| unreachable!("leading words automaton: {e}"))
    })
}

fn words() -> &'static AhoCorasick {
    static CELL: OnceLock<AhoCorasick> = OnceLock::new();
    CELL.get_or_init(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(PLACEHOLDER_WORDS.iter().chain(&VOCABULARY_ONLY))
            .unwrap_or_else(|e| unreachable!("placeholder vocabulary automaton: {e}"))
    })
}

/// A secret (or token) that is periodic, led by a placeholder word, or made of words.
pub(crate) fn secret(s: &[u8]) -> bool {
    if periodic(s, SECRET_MAX_PERIOD) {
        return true;
    }
    let input = aho_corasick::Input::new(s).anchored(aho_corasick::Anchored::Yes);
    if leading().find(input).is_some() {
        return true;
    }
    let covered: usize = words().find_iter(s).map(|m| m.len()).sum();
    covered * 2 >= s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_bodies() {
        assert!(key_id_body(b"ABCDABCDABCDABCD"));
        assert!(key_id_body(b"DEADBEEFDEADBEEF"));
        assert!(key_id_body(b"XYZXYZXYZXYZXYZX"));
        assert!(!key_id_body(b"R7VZ3MOXQ4JTLW2N"));
        assert!(!key_id_body(b"DEADBEEFDEADBEE2"));
    }

    #[test]
    fn placeholder_secrets() {
        for s in [
            "FakeSecretAccessKeyZq8vN3kRtY2pL6wXc9Hb",
            "dummyZq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa",
            "SAMPLEq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa",
            "ThisIsNotARealSecretKeyJustForTesting123",
            "abc123XYabc123XYabc123XYabc123XYabc123XY",
        ] {
            assert!(secret(s.as_bytes()), "{s}");
        }
        for s in [
            "Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy",
            "k7Gm2Qx9/Tr4Vb8Nw1Lp6Hs3Jd5Fc0Zy+AeUoIiK",
        ] {
            assert!(!secret(s.as_bytes()), "{s}");
        }
    }
}
