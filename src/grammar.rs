//! The grammar of every credential value keysweep handles, whatever produced it: a rule's
//! capture, a report read back by `keysweep remediate`, a config entry.
//!
//! Scanned data is hostile, and so is a rule written by someone else: a value that does not
//! match its grammar is never reported, never verified and never written into a command.
//! [`Field::check`] is the run-time check; [`check_capture`] proves at rule load time that a
//! rule's named capture can only produce values of the right shape (`keysweep rules check`
//! rejects the rule otherwise).

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};

/// A kind of value with a grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `(AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}`.
    KeyId,
    /// 40 characters `[A-Za-z0-9+/]`.
    Secret,
    /// Base64: `[A-Za-z0-9+/]+` and up to two `=`.
    SessionToken,
    /// 12 digits.
    AccountId,
    /// An IAM user or role name: 1-64 characters `[A-Za-z0-9+=,.@_-]`.
    IamName,
    /// An IAM or STS ARN: `arn:PARTITION:(iam|sts)::ACCOUNT:RESOURCE`, resource in the IAM
    /// name characters plus `/` and `:`.
    Arn,
    /// A finding fingerprint: hex digits (16 in reports before 0.2, 32 since).
    Fingerprint,
    /// A git commit id: 40 or 64 hex digits.
    Commit,
    /// An Amazon Bedrock API key: `ABSK` or `bedrock-api-key-`, then base64 (`[A-Za-z0-9+/]`,
    /// up to two `=`), at most 8 KiB in all (see [`crate::bedrock`]).
    ApiKey,
    /// An IAM Identity Center token, refresh token, client ID or client secret from the AWS
    /// CLI's SSO cache: 20 to 8192 characters `[A-Za-z0-9+/=_.:-]`.
    SsoToken,
    /// An IAM Identity Center start URL: `https://` and at most 2048 characters of URL syntax
    /// (no space, quote, backslash or control character).
    Url,
}

/// The prefixes of Amazon Bedrock API keys: long-term, short-term.
pub const API_KEY_PREFIXES: [&str; 2] = ["ABSK", "bedrock-api-key-"];

/// The key ID prefixes of credentials (aws-facts.md §1).
pub const KEY_ID_PREFIXES: [&str; 4] = ["AKIA", "ASIA", "ABIA", "ACCA"];

fn is_base32(b: u8) -> bool {
    b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

fn is_iam_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)
}

impl Field {
    /// The name used in messages and JSON (`key_id`, `user_name`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Field::KeyId => "key_id",
            Field::Secret => "secret",
            Field::SessionToken => "session_token",
            Field::AccountId => "account_id",
            Field::IamName => "user_name",
            Field::Arn => "arn",
            Field::Fingerprint => "fingerprint",
            Field::Commit => "commit",
            Field::ApiKey => "api_key",
            Field::SsoToken => "sso_token",
            Field::Url => "start_url",
        }
    }

    /// What the grammar is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Field::KeyId => "an access key ID: AKIA, ASIA, ABIA or ACCA and 16 characters A-Z, 2-7",
            Field::Secret => "a secret access key: 40 characters A-Z, a-z, 0-9, + and /",
            Field::SessionToken => "a session token: base64 (A-Z, a-z, 0-9, +, /, up to two =)",
            Field::AccountId => "an AWS account ID: 12 digits",
            Field::IamName => "an IAM name: 1 to 64 characters A-Z, a-z, 0-9 and +=,.@_-",
            Field::Arn => "an IAM or STS ARN (arn:aws:iam::123456789012:user/NAME)",
            Field::Fingerprint => "a fingerprint: 16 to 64 hex digits",
            Field::Commit => "a git commit id: 40 or 64 hex digits",
            Field::ApiKey => {
                "an Amazon Bedrock API key: ABSK or bedrock-api-key- and base64 (A-Z, a-z, 0-9, \
                 +, /, up to two =)"
            }
            Field::SsoToken => {
                "an IAM Identity Center token: 20 to 8192 characters A-Z, a-z, 0-9 and +/=_.:-"
            }
            Field::Url => "an https:// URL of at most 2048 characters, without quotes or spaces",
        }
    }

    /// True when `value` matches the grammar.
    pub fn matches(self, value: &str) -> bool {
        let b = value.as_bytes();
        match self {
            Field::KeyId => {
                b.len() == 20
                    && KEY_ID_PREFIXES.iter().any(|p| b.starts_with(p.as_bytes()))
                    && b[4..].iter().all(|&c| is_base32(c))
            }
            Field::Secret => b.len() == 40 && b.iter().all(|&c| is_base64(c)),
            Field::SessionToken => {
                let body = value.trim_end_matches('=');
                !body.is_empty() && value.len() - body.len() <= 2 && body.bytes().all(is_base64)
            }
            Field::AccountId => b.len() == 12 && b.iter().all(u8::is_ascii_digit),
            Field::IamName => (1..=64).contains(&b.len()) && b.iter().all(|&c| is_iam_name_byte(c)),
            Field::Arn => is_arn(value),
            Field::Fingerprint => {
                (16..=64).contains(&b.len()) && b.iter().all(u8::is_ascii_hexdigit)
            }
            Field::Commit => matches!(b.len(), 40 | 64) && b.iter().all(u8::is_ascii_hexdigit),
            Field::ApiKey => {
                let body = API_KEY_PREFIXES
                    .iter()
                    .find_map(|p| value.strip_prefix(p))
                    .unwrap_or("");
                let bare = body.trim_end_matches('=');
                value.len() <= 8192
                    && !bare.is_empty()
                    && body.len() - bare.len() <= 2
                    && bare.bytes().all(is_base64)
            }
            Field::SsoToken => {
                (20..=8192).contains(&b.len())
                    && b.iter()
                        .all(|&c| c.is_ascii_alphanumeric() || b"+/=_.:-".contains(&c))
            }
            Field::Url => {
                b.len() <= 2048
                    && value
                        .strip_prefix("https://")
                        .is_some_and(|rest| !rest.is_empty())
                    && b.iter().all(|&c| {
                        c.is_ascii_alphanumeric() || b"-._~:/?#[]@!&()*+,;=%".contains(&c)
                    })
            }
        }
    }

    /// `Ok` when `value` matches, else the error naming the field.
    pub fn check(self, value: &str) -> Result<(), GrammarError> {
        if self.matches(value) {
            Ok(())
        } else {
            Err(GrammarError { field: self })
        }
    }
}

/// A value that does not match its grammar. The value itself is not part of the message: it
/// may be a secret, or text meant to fool a terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is not {}", field.name(), field.describe())]
pub struct GrammarError {
    pub field: Field,
}

fn is_arn(value: &str) -> bool {
    if value.len() > 2048 {
        return false;
    }
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    partition.starts_with("aws")
        && partition.len() <= 32
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
        && matches!(service, "iam" | "sts")
        && Field::AccountId.matches(account)
        && !resource.is_empty()
        && resource
            .bytes()
            .all(|b| is_iam_name_byte(b) || b == b'/' || b == b':')
}

/// Why a rule's capture could produce values outside its grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("capture `{capture}` can produce values that are not {}: {reason}", field.describe())]
pub struct CaptureError {
    pub capture: String,
    pub field: Field,
    pub reason: String,
}

/// The grammar a rule capture name stands for.
pub fn capture_field(name: &str) -> Option<Field> {
    match name {
        "key_id" => Some(Field::KeyId),
        "secret" => Some(Field::Secret),
        "token" => Some(Field::SessionToken),
        "user" => Some(Field::IamName),
        "api_key" => Some(Field::ApiKey),
        _ => None,
    }
}

/// Checks that the capture `name` of `pattern` (parsed as the detector compiles it: bytes,
/// ASCII classes) can only produce values of its grammar: every byte it can match is in the
/// grammar's alphabet, its lengths fit, and a key ID starts with a credential prefix. A
/// secret or token capture may also match `\` (JSON's `\/`), which the detector removes
/// before the run-time check. A pattern that does not parse, or a name without a grammar, is
/// not this function's business: `Ok`.
pub fn check_capture(pattern: &str, name: &str) -> Result<(), CaptureError> {
    let Some(field) = capture_field(name) else {
        return Ok(());
    };
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
    else {
        return Ok(());
    };
    let fail = |reason: String| CaptureError {
        capture: name.to_string(),
        field,
        reason,
    };
    let Some(sub) = find_capture(&hir, name) else {
        return Ok(());
    };
    let allowed = |b: u8| match field {
        Field::KeyId => is_base32(b),
        Field::Secret => is_base64(b) || b == b'\\',
        Field::SessionToken => is_base64(b) || b == b'=' || b == b'\\',
        Field::IamName => is_iam_name_byte(b),
        // The prefix's `-` and JSON's `\/` besides base64.
        Field::ApiKey => is_base64(b) || b == b'=' || b == b'\\' || b == b'-',
        _ => false,
    };
    if let Some(bad) = first_byte_outside(sub, &allowed) {
        return Err(fail(format!(
            "it can match the byte {}",
            describe_byte(bad)
        )));
    }
    let has_escape = first_byte_outside(sub, &|b| b != b'\\').is_some();
    let props = sub.properties();
    let (min, max) = (props.minimum_len().unwrap_or(0), props.maximum_len());
    let (lo, hi) = match field {
        Field::KeyId => (20, Some(20)),
        // `\/` escapes: up to 40 of them.
        Field::Secret if has_escape => (40, Some(80)),
        Field::Secret => (40, Some(40)),
        Field::SessionToken => (1, None),
        Field::IamName => (1, Some(64)),
        Field::ApiKey => (5, None),
        _ => (0, None),
    };
    let too_long = match (hi, max) {
        (Some(hi), Some(max)) => max > hi,
        (Some(_), None) => true,
        _ => false,
    };
    if min < lo || too_long {
        let span = match max {
            Some(max) => format!("{min} to {max}"),
            None => format!("{min} or more"),
        };
        return Err(fail(format!("it can match {span} bytes")));
    }
    if field == Field::KeyId {
        let seq = Extractor::new().kind(ExtractKind::Prefix).extract(sub);
        let ok = seq.literals().is_some_and(|lits| {
            !lits.is_empty()
                && lits.iter().all(|l| {
                    KEY_ID_PREFIXES
                        .iter()
                        .any(|p| l.as_bytes().starts_with(p.as_bytes()))
                })
        });
        if !ok {
            return Err(fail(
                "it does not always start with AKIA, ASIA, ABIA or ACCA (write the prefixes \
                 literally, e.g. (?:AKIA|ASIA)[A-Z2-7]{16})"
                    .into(),
            ));
        }
    }
    Ok(())
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", char::from(b))
    } else {
        format!("0x{b:02x}")
    }
}

/// The sub-expression of the capture group `name`.
fn find_capture<'h>(hir: &'h Hir, name: &str) -> Option<&'h Hir> {
    match hir.kind() {
        HirKind::Capture(c) if c.name.as_deref() == Some(name) => Some(&c.sub),
        HirKind::Capture(c) => find_capture(&c.sub, name),
        HirKind::Repetition(r) => find_capture(&r.sub, name),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().find_map(|s| find_capture(s, name))
        }
        _ => None,
    }
}

/// The first byte `hir` can match that `allowed` refuses.
fn first_byte_outside(hir: &Hir, allowed: &dyn Fn(u8) -> bool) -> Option<u8> {
    match hir.kind() {
        HirKind::Literal(lit) => lit.0.iter().copied().find(|&b| !allowed(b)),
        HirKind::Class(Class::Bytes(class)) => class
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .find(|&b| !allowed(b)),
        HirKind::Class(Class::Unicode(class)) => {
            for r in class.iter() {
                let (start, end) = (u32::from(r.start()), u32::from(r.end()));
                if end > 0x7f {
                    return Some(0x80);
                }
                // Both ends are ASCII here.
                if let Some(b) = (start..=end)
                    .filter_map(|c| u8::try_from(c).ok())
                    .find(|&b| !allowed(b))
                {
                    return Some(b);
                }
            }
            None
        }
        HirKind::Capture(c) => first_byte_outside(&c.sub, allowed),
        HirKind::Repetition(r) => first_byte_outside(&r.sub, allowed),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().find_map(|s| first_byte_outside(s, allowed))
        }
        HirKind::Empty | HirKind::Look(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_grammars() {
        assert!(Field::KeyId.matches("AKIAR7VZ3MOXQ4JTLW2N"));
        assert!(Field::KeyId.matches("ACCAR7VZ3MOXQ4JTLW2N"));
        assert!(!Field::KeyId.matches("AKIA42CQ$(touch PWNED)"));
        assert!(!Field::KeyId.matches("AKIAR7VZ3MOXQ4JTLW21"));
        assert!(!Field::KeyId.matches("AIDAR7VZ3MOXQ4JTLW2N"));
        assert!(!Field::KeyId.matches("AKI"));
        assert!(Field::Secret.matches("Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy"));
        assert!(!Field::Secret.matches("Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoK;"));
        assert!(Field::SessionToken.matches("IQoJb3JpZ2luX2Vj=="));
        assert!(!Field::SessionToken.matches("IQoJ==="));
        assert!(!Field::SessionToken.matches("a b"));
        assert!(Field::AccountId.matches("123456789012"));
        assert!(!Field::AccountId.matches("12345678901x"));
        assert!(Field::IamName.matches("ci-deployer@corp.example"));
        assert!(!Field::IamName.matches("a'b"));
        assert!(!Field::IamName.matches(&"a".repeat(65)));
        assert!(Field::Arn.matches("arn:aws:iam::123456789012:user/ci/deployer"));
        assert!(Field::Arn.matches("arn:aws:iam::123456789012:root"));
        assert!(Field::Arn.matches("arn:aws-cn:sts::123456789012:assumed-role/r/s"));
        assert!(!Field::Arn.matches("arn:aws:iam::123456789012:user/$(id)"));
        assert!(!Field::Arn.matches("arn:aws:s3:::bucket"));
    }

    #[test]
    fn captures_are_checked_against_their_grammar() {
        let ok = [
            ("(?P<key_id>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})", "key_id"),
            ("x(?P<key_id>AKIA[A-Z]{16})", "key_id"),
            ("(?P<secret>(?:[A-Za-z0-9+]|\\\\?/){40})", "secret"),
            ("(?P<secret>[A-Za-z0-9+/]{40})", "secret"),
            ("(?P<token>(?:[A-Za-z0-9+]|\\\\?/){100,}={0,2})", "token"),
            (r"(?P<user>[\w+=.@\-]{1,64})", "user"),
        ];
        for (pattern, name) in ok {
            assert_eq!(check_capture(pattern, name), Ok(()), "{pattern}");
        }
        let bad = [
            ("(?P<key_id>AKIA42CQ.{0,12})", "key_id"),
            ("(?P<key_id>AK)", "key_id"),
            ("(?P<key_id>[A-Z2-7]{20})", "key_id"),
            ("(?P<key_id>AIDA[A-Z2-7]{16})", "key_id"),
            ("(?P<secret>[A-Za-z0-9+/]{30})", "secret"),
            ("(?P<secret>[^\"]{40})", "secret"),
            ("(?P<user>[^,]+)", "user"),
            ("(?P<user>\\w{1,100})", "user"),
            ("(?P<token>\\S+)", "token"),
        ];
        for (pattern, name) in bad {
            assert!(check_capture(pattern, name).is_err(), "{pattern}");
        }
    }
}
