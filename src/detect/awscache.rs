//! The AWS CLI's own caches, which land in home-directory backups and bucket dumps:
//!
//! - the IAM Identity Center (SSO) token cache, `~/.aws/sso/cache/<sha1>.json`: a flat JSON
//!   object with `startUrl`, `region`, `accessToken`, `expiresAt` and, since the CLI refreshes
//!   tokens, `refreshToken`, `clientId`, `clientSecret` and `registrationExpiresAt`. The
//!   access token buys role credentials for every account and role the user is assigned
//!   (`sso:GetRoleCredentials`) until it expires; the refresh token with the client secret
//!   buys new access tokens until the registration expires. Found from the `startUrl` name
//!   (a prefilter signature, [`super::encoded`]), read with a JSON parser so the key order
//!   does not matter.
//! - the CLI credential cache, `~/.aws/cli/cache/<sha1>.json`: `{"Credentials":
//!   {"AccessKeyId": "ASIA…", "SecretAccessKey": …, "SessionToken": …, "Expiration": …}}`,
//!   which the STS credentials rule finds; [`expiration_near`] reads its `Expiration` so
//!   severity follows whether the credentials are still valid.

use std::ops::Range;

use memchr::memmem;

/// How far back from `startUrl` the object's `{` may be, and how long the object may be.
const MAX_OBJECT: usize = 64 * 1024;

/// A cached IAM Identity Center token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoToken {
    /// Where the `accessToken` value starts in the blob.
    pub offset: usize,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub expires_at: Option<String>,
    pub registration_expires_at: Option<String>,
    pub start_url: Option<String>,
    pub region: Option<String>,
}

/// Characters of the tokens and secrets the SSO OIDC service issues (base64, base64url and
/// the `.` of a JWT).
fn token_like(s: &str) -> bool {
    s.len() >= 20
        && s.len() <= 8192
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_-.:".contains(&b))
        && !super::placeholder::secret(s.as_bytes())
        && !s.contains("EXAMPLE")
}

/// The flat JSON object around `at`: from the nearest `{` before it to the first `}` after.
fn object_around(data: &[u8], at: usize) -> Option<Range<usize>> {
    let from = at.saturating_sub(MAX_OBJECT);
    let open = from + memchr::memrchr(b'{', &data[from..at])?;
    let until = data.len().min(at + MAX_OBJECT);
    let close = at + memchr::memchr(b'}', &data[at..until])?;
    Some(open..close + 1)
}

/// The SSO token cache objects named by `startUrl` hits at `hits` (blob offsets, in order).
pub fn sso_tokens(data: &[u8], hits: &[usize]) -> Vec<SsoToken> {
    let mut out = Vec::new();
    let mut done = 0;
    for &at in hits {
        if at < done {
            continue;
        }
        let Some(object) = object_around(data, at) else {
            continue;
        };
        done = object.end;
        let Ok(map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
            &data[object.clone()],
        ) else {
            continue;
        };
        let text = |k: &str| map.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let Some(access_token) = text("accessToken").filter(|t| token_like(t)) else {
            continue;
        };
        let offset = memmem::find(&data[object.clone()], access_token.as_bytes())
            .map_or(object.start, |p| object.start + p);
        out.push(SsoToken {
            offset,
            access_token,
            refresh_token: text("refreshToken").filter(|t| token_like(t)),
            client_id: text("clientId"),
            client_secret: text("clientSecret").filter(|t| token_like(t)),
            expires_at: text("expiresAt"),
            registration_expires_at: text("registrationExpiresAt"),
            start_url: text("startUrl"),
            region: text("region"),
        });
    }
    out
}

/// The `"Expiration": "…"` (or `"expiration"`) value within the JSON object that holds
/// `data[at]` (looked for up to 8 KB each way, not past the object's braces).
pub fn expiration_near(data: &[u8], at: usize) -> Option<String> {
    const REACH: usize = 8 * 1024;
    let from = at.saturating_sub(REACH);
    let until = data.len().min(at + REACH);
    let open = memchr::memrchr(b'{', &data[from..at.min(until)]).map_or(from, |p| from + p);
    let close = memchr::memchr(b'}', &data[at.min(until)..until]).map_or(until, |p| at + p);
    let object = &data[open..close];
    for name in [&b"\"Expiration\""[..], b"\"expiration\""] {
        let Some(p) = memmem::find(object, name) else {
            continue;
        };
        let rest = &object[p + name.len()..];
        let rest = rest
            .trim_ascii_start()
            .strip_prefix(b":")?
            .trim_ascii_start();
        let rest = rest.strip_prefix(b"\"")?;
        let end = memchr::memchr(b'"', rest)?;
        let value = std::str::from_utf8(&rest[..end]).ok()?;
        if value.len() <= 40 {
            return Some(value.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sso_cache_in_any_key_order() {
        let json = br#"{"clientSecret": "eyJraWQiOiJrZXktMTU2NDAyODA5OSIsImFsZyI6IkhTMzg0In0.eyJzZXJpYWxpemVkIjoie30ifQ.Qz7xR2", "expiresAt": "2030-01-01T00:00:00Z", "region": "eu-west-1", "startUrl": "https://d-1234567890.awsapps.com/start", "accessToken": "aoaAAAAAGbQx7Vn2Kq9RzT4wLm8Yc3Hs6Jd1Fp0Xe5Ub", "clientId": "qGLAlyjg3Fz26xGjHyARG3VzLWVhc3QtMg"}"#;
        let at = memmem::find(json, b"startUrl").unwrap();
        let tokens = sso_tokens(json, &[at]);
        assert_eq!(tokens.len(), 1);
        assert!(tokens[0].access_token.starts_with("aoa"));
        assert_eq!(tokens[0].region.as_deref(), Some("eu-west-1"));
        assert!(tokens[0].refresh_token.is_none());
        let placeholder = br#"{"startUrl": "https://x.awsapps.com/start", "accessToken": "your-access-token-here"}"#;
        assert!(sso_tokens(placeholder, &[3]).is_empty());
    }

    #[test]
    fn expiration_of_the_cli_cache() {
        let json = br#"{"Credentials": {"AccessKeyId": "ASIAT4PZQ6HNB2LKW7XM", "Expiration": "2026-01-02T03:04:05+00:00"}}"#;
        let at = memmem::find(json, b"ASIA").unwrap();
        assert_eq!(
            expiration_near(json, at).as_deref(),
            Some("2026-01-02T03:04:05+00:00")
        );
    }
}
