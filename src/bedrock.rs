//! Amazon Bedrock API keys: the two formats, and what each carries once decoded.
//!
//! **Long-term keys** (`ABSK…`) are IAM service-specific credentials for
//! `bedrock.amazonaws.com`, made by `aws iam create-service-specific-credential` (or the
//! console, which also creates an IAM user `BedrockAPIKey-xxxx`). The key is `ABSK` followed by
//! the base64 of `ServiceCredentialAlias:ServiceCredentialSecret`, where the alias is
//! `<IAM user name>-at-<account ID>` (AWS: "the public portion of the credential that includes
//! the IAM user name and a suffix", the generated name "combining the IAM user's name with the
//! ID number of the AWS account, as in jane-at-123456789012"). So the key names its user and
//! account; the credential's ID (`ServiceSpecificCredentialId`) is not in it, and is found with
//! `list-service-specific-credentials` by the alias.
//! Sources: IAM API reference `API_ServiceSpecificCredential` (ServiceCredentialAlias,
//! ServiceCredentialSecret, ServiceUserName) and `id_credentials_bedrock` in the IAM user guide;
//! keys decoded from public leak reports (e.g. `BedrockAPIKey-xqq4-at-<12 digits>:<60-char
//! base64 secret>`); Wiz, "A new type of long-lived key on AWS: Bedrock API keys" (2025).
//!
//! **Short-term keys** (`bedrock-api-key-…`) are what AWS's `aws-bedrock-token-generator`
//! packages make offline from any AWS credentials: a SigV4 *presigned URL* for
//! `POST https://bedrock.amazonaws.com/?Action=CallWithBearerToken`, signed for service
//! `bedrock` in one region with `X-Amz-Expires` up to 43200 s (12 h), without its scheme, with
//! `&Version=1` appended, base64-encoded and prefixed with `bedrock-api-key-`. The URL carries
//! the signing key ID (`X-Amz-Credential=KEYID/DATE/REGION/bedrock/aws4_request`), the signing
//! time (`X-Amz-Date`), the lifetime and, for temporary credentials, the whole session token
//! (`X-Amz-Security-Token`); never the secret access key (only the signature made with it).
//! Source: `aws_bedrock_token_generator/token_generator.py` (PyPI `aws-bedrock-token-generator`
//! 1.1.0: `DEFAULT_HOST`, `AUTH_PREFIX`, `TOKEN_VERSION`, `TOKEN_DURATION`); the Bedrock user
//! guide `api-keys-how` (valid for the shorter of 12 h and the signing session, one region).

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::time::{format_utc, parse_date};

/// The prefix of a long-term key.
pub const LONG_TERM_PREFIX: &str = "ABSK";
/// The prefix of a short-term key.
pub const SHORT_TERM_PREFIX: &str = "bedrock-api-key-";
/// The IAM service name of Bedrock service-specific credentials.
pub const SERVICE_NAME: &str = "bedrock.amazonaws.com";
/// The longest lifetime of a short-term key (12 hours).
pub const MAX_SHORT_TERM_SECONDS: u64 = 43_200;

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// What a long-term key carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongTermKey {
    /// `ServiceCredentialAlias`: `<user>-at-<account>` (plus any suffix AWS adds).
    pub alias: String,
    /// The IAM user the credential belongs to.
    pub user_name: String,
    /// The AWS account of that user.
    pub account_id: String,
    /// `ServiceCredentialSecret`.
    pub secret: String,
}

/// What a short-term key carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortTermKey {
    /// The access key ID that signed it (AKIA: an IAM user's key; ASIA: a session).
    pub key_id: String,
    /// The only region it works in.
    pub region: String,
    /// When it was signed (Unix seconds, `X-Amz-Date`).
    pub signed_at: i64,
    /// Its lifetime in seconds (`X-Amz-Expires`).
    pub lifetime: u64,
    /// The session token of the signing credentials (temporary credentials only).
    pub session_token: Option<String>,
}

impl ShortTermKey {
    /// When it stops working (Unix seconds), at the latest.
    pub fn expires_at(&self) -> i64 {
        self.signed_at
            .saturating_add(i64::try_from(self.lifetime).unwrap_or(i64::MAX))
    }

    /// [`Self::expires_at`] as `2026-01-02T03:04:05Z`.
    pub fn expires_at_utc(&self) -> String {
        format_utc(self.expires_at())
    }
}

/// A decoded Bedrock API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BedrockKey {
    LongTerm(LongTermKey),
    ShortTerm(ShortTermKey),
}

/// Decodes a Bedrock API key; `None` when `token` is not one (wrong prefix, not base64, or
/// not the structure AWS gives these keys).
pub fn parse(token: &str) -> Option<BedrockKey> {
    if let Some(body) = token.strip_prefix(LONG_TERM_PREFIX) {
        parse_long_term(body).map(BedrockKey::LongTerm)
    } else if let Some(body) = token.strip_prefix(SHORT_TERM_PREFIX) {
        parse_short_term(body).map(BedrockKey::ShortTerm)
    } else {
        None
    }
}

/// Characters of IAM names (`[\w+=,.@-]`).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn decode_text(body: &str) -> Option<String> {
    let bytes = BASE64.decode(body.trim_end_matches('=')).ok()?;
    String::from_utf8(bytes).ok()
}

fn parse_long_term(body: &str) -> Option<LongTermKey> {
    let text = decode_text(body)?;
    let (alias, secret) = text.split_once(':')?;
    if alias.is_empty() || alias.len() > 200 || !alias.chars().all(is_name_char) {
        return None;
    }
    // The last `-at-` followed by 12 digits separates user and account (a user name may
    // itself contain `-at-`).
    let found: Vec<usize> = alias.match_indices("-at-").map(|(at, _)| at).collect();
    let (user_name, account_id) = found.into_iter().rev().find_map(|at| {
        let account = alias.get(at + 4..at + 16)?;
        let rest = &alias[at + 16..];
        let ok = account.bytes().all(|b| b.is_ascii_digit())
            && account.len() == 12
            && rest.chars().all(is_name_char);
        ok.then(|| (&alias[..at], account))
    })?;
    if user_name.is_empty() || user_name.len() > 64 {
        return None;
    }
    // The secret is base64 (observed: 60 characters); require enough of it to be a key.
    if secret.len() < 20
        || secret.len() > 512
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    {
        return None;
    }
    Some(LongTermKey {
        alias: alias.to_string(),
        user_name: user_name.to_string(),
        account_id: account_id.to_string(),
        secret: secret.to_string(),
    })
}

/// `%XX`-decodes a query value (`+` stays `+`: SigV4 encodes a space as `%20`).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// True for an access key ID shape: 4-letter prefix and 16 base32 characters.
fn is_key_id(s: &str) -> bool {
    s.len() == 20
        && (s.starts_with("AKIA") || s.starts_with("ASIA"))
        && s.bytes()
            .skip(4)
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// `20261202T053230Z` as Unix seconds.
fn amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    if !s[..8]
        .bytes()
        .chain(s[9..15].bytes())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    parse_date(&format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    ))
}

fn parse_short_term(body: &str) -> Option<ShortTermKey> {
    let text = decode_text(body)?;
    let (host_path, query) = text.split_once('?')?;
    let host = host_path.split('/').next()?;
    if !(host == "bedrock.amazonaws.com"
        || host.starts_with("bedrock.") && host.ends_with(".amazonaws.com")
        || host.starts_with("bedrock.") && host.ends_with(".amazonaws.com.cn"))
    {
        return None;
    }
    let mut action = false;
    let (mut credential, mut date, mut expires, mut token, mut signature) =
        (None, None, None, None, None);
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=')?;
        match name {
            "Action" => action = value == "CallWithBearerToken",
            "X-Amz-Credential" => credential = Some(percent_decode(value)?),
            "X-Amz-Date" => date = Some(amz_date(value)?),
            "X-Amz-Expires" => expires = value.parse::<u64>().ok(),
            "X-Amz-Security-Token" => token = Some(percent_decode(value)?),
            "X-Amz-Signature" => signature = Some(value),
            _ => {}
        }
    }
    let signature = signature?;
    if !action || signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // KEYID/YYYYMMDD/REGION/bedrock/aws4_request
    let credential = credential?;
    let mut scope = credential.split('/');
    let key_id = scope.next()?;
    let _day = scope.next()?;
    let region = scope.next()?;
    if !is_key_id(key_id)
        || scope.next()? != "bedrock"
        || scope.next()? != "aws4_request"
        || region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return None;
    }
    Some(ShortTermKey {
        key_id: key_id.to_string(),
        region: region.to_string(),
        signed_at: date?,
        lifetime: expires?,
        session_token: token.filter(|t| !t.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn long_term_keys_name_their_user_and_account() {
        let key = format!(
            "ABSK{}",
            b64("deploy-at-ops-at-210987654321:Q2hhbmdlTWVOb3RSZWFsbHlBU2VjcmV0S2V5VmFsdWUwMTIzNDU2Nzg5YWI=")
        );
        let Some(BedrockKey::LongTerm(k)) = parse(&key) else {
            panic!("not parsed: {key}")
        };
        assert_eq!(k.user_name, "deploy-at-ops");
        assert_eq!(k.account_id, "210987654321");
        assert_eq!(k.alias, "deploy-at-ops-at-210987654321");
        // Not the structure: no account, no secret, not base64.
        for text in [
            "BedrockAPIKey-test-key-1234567890",
            "user-at-123:secretsecretsecretsecret",
        ] {
            assert_eq!(parse(&format!("ABSK{}", b64(text))), None, "{text}");
        }
        assert_eq!(parse("ABSK!!!!"), None);
    }

    #[test]
    fn short_term_keys_name_their_signer_and_expiry() {
        let url = "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256\
                   &X-Amz-Credential=ASIATCH6YDSY5LPK3PXP%2F20261202%2Feu-west-1%2Fbedrock%2Faws4_request\
                   &X-Amz-Date=20261202T053230Z&X-Amz-Expires=43200&X-Amz-SignedHeaders=host\
                   &X-Amz-Security-Token=IQoJb3JpZ2luX2Vj%2F%2Fabc\
                   &X-Amz-Signature=28a88688265d97739e19164feb7859640ee068a748f31b30cd0b49e3145f0759&Version=1";
        let Some(BedrockKey::ShortTerm(k)) = parse(&format!("bedrock-api-key-{}", b64(url))) else {
            panic!("not parsed")
        };
        assert_eq!(k.key_id, "ASIATCH6YDSY5LPK3PXP");
        assert_eq!(k.region, "eu-west-1");
        assert_eq!(k.expires_at_utc(), "2026-12-02T17:32:30Z");
        assert_eq!(k.session_token.as_deref(), Some("IQoJb3JpZ2luX2Vj//abc"));
        let unsigned = url.replace("&X-Amz-Signature=28a8", "&X-Amz-Sig=28a8");
        assert_eq!(parse(&format!("bedrock-api-key-{}", b64(&unsigned))), None);
        let other_action = url.replace("CallWithBearerToken", "GetCallerIdentity");
        assert_eq!(
            parse(&format!("bedrock-api-key-{}", b64(&other_action))),
            None
        );
    }
}
