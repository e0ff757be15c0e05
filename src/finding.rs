//! The `Finding` type every report is made of: built from detector matches, located by line
//! and column, fingerprinted, and redacted before it is written anywhere.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::detect::{Detector, Match};
use crate::input::Origin;

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A key ID with its secret: a usable credential.
    AccessKeyPair,
    /// A key ID alone: names an account and may be paired elsewhere.
    AccessKeyId,
    /// A secret alone, in a context that says it is an AWS secret.
    SecretAccessKey,
    /// Temporary credentials: an ASIA key ID with secret and session token (or a token alone).
    SessionCredentials,
    /// An IAM Identity Center (SSO) access token from the AWS CLI's token cache: it buys role
    /// credentials for every account and role the user is assigned until it expires.
    SsoToken,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AccessKeyPair => "access_key_pair",
            Kind::AccessKeyId => "access_key_id",
            Kind::SecretAccessKey => "secret_access_key",
            Kind::SessionCredentials => "session_credentials",
            Kind::SsoToken => "sso_token",
        }
    }
}

/// How urgent a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Long-term (AKIA) or temporary (ASIA, ABIA) credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    LongTerm,
    Temporary,
}

impl KeyType {
    /// The key type a key ID's prefix says, when it says one.
    pub fn of(key_id: &str) -> Option<KeyType> {
        match key_id.get(..4)? {
            "AKIA" => Some(KeyType::LongTerm),
            "ASIA" | "ABIA" => Some(KeyType::Temporary),
            _ => None,
        }
    }
}

/// Where a finding is: the blob's origin plus line and column (1-based; the column counts
/// Unicode code points).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    #[serde(flatten)]
    pub origin: Origin,
    pub line: usize,
    pub column: usize,
}

/// Result of the (opt-in) verification stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    NotChecked,
    Owned,
    Foreign,
    Live,
    InactiveOrInvalid,
    Error,
}

impl VerificationStatus {
    /// The JSON name (`inactive_or_invalid`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::NotChecked => "not_checked",
            VerificationStatus::Owned => "owned",
            VerificationStatus::Foreign => "foreign",
            VerificationStatus::Live => "live",
            VerificationStatus::InactiveOrInvalid => "inactive_or_invalid",
            VerificationStatus::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub status: VerificationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Default for Verification {
    fn default() -> Self {
        Verification {
            status: VerificationStatus::NotChecked,
            arn: None,
            message: None,
        }
    }
}

/// What an AWS CLI SSO token cache entry holds besides the access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoDetails {
    /// The AWS access portal URL (`https://d-…awsapps.com/start`): names the Identity Center
    /// instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_url: Option<String>,
    /// The Identity Center region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The OIDC refresh token; redacted unless `--show-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The OIDC client secret; redacted unless `--show-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// When the client registration (and with it the refresh token's use) ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_expires_at: Option<String>,
    /// A refresh token, client ID and secret are present and the registration has not
    /// expired: new access tokens can be minted.
    pub refreshable: bool,
}

/// One step of the remediation playbook attached to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemediationStep {
    pub step: String,
    pub why: String,
    pub command: String,
}

/// One leaked credential at one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub kind: Kind,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<KeyType>,
    /// The secret access key; redacted (`wJal…(40 chars)`) unless `--show-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The session token; redacted unless `--show-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// The IAM user name, when the leaked text names it (credentials CSV, create-access-key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<bool>,
    /// When the credentials or token stop working, as the leaked text says (cached STS
    /// credentials' `Expiration`, an SSO token's `expiresAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `expires_at` had passed when the scan ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<bool>,
    /// Details of an IAM Identity Center token (kind `sso_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoDetails>,
    pub location: Location,
    pub fingerprint: String,
    #[serde(default)]
    pub verification: Verification,
    #[serde(default)]
    pub remediation: Vec<RemediationStep>,
    /// Its line carries `keysweep:allow` (see [`crate::allow`]); dropped before reporting
    /// unless `--no-allow`. Not part of reports.
    #[serde(skip)]
    pub inline_allowed: bool,
}

impl Finding {
    /// Builds the finding for `m`, found in a blob from `origin` at `line`:`column`.
    pub fn from_match(
        detector: &Detector,
        m: &Match,
        origin: &Origin,
        (line, column): (usize, usize),
    ) -> Finding {
        let key_id = m.key_id.as_ref().map(|s| s.value.clone());
        let key_type = key_id.as_deref().and_then(KeyType::of);
        let secret = m.secret.as_ref().map(|s| s.value.clone());
        let token = m.token.as_ref().map(|s| s.value.clone());
        let kind = match (&key_id, &secret, &token) {
            (Some(_), Some(_), Some(_)) | (None, None, Some(_)) => Kind::SessionCredentials,
            (Some(_), Some(_), None) => Kind::AccessKeyPair,
            (Some(_), None, _) => Kind::AccessKeyId,
            (None, _, _) => Kind::SecretAccessKey,
        };
        let severity = match (kind, key_type) {
            (Kind::AccessKeyPair, Some(KeyType::LongTerm)) => Severity::Critical,
            (Kind::AccessKeyPair | Kind::SecretAccessKey, _) => Severity::High,
            (Kind::SessionCredentials, _) if key_id.is_some() => Severity::High,
            (Kind::AccessKeyId, Some(KeyType::LongTerm)) => Severity::Medium,
            _ => Severity::Low,
        };
        let fingerprint = fingerprint(&[
            kind.as_str(),
            key_id.as_deref().unwrap_or(""),
            secret.as_deref().unwrap_or(""),
            token.as_deref().unwrap_or(""),
            &origin.path,
            origin.archive_member.as_deref().unwrap_or(""),
        ]);
        Finding {
            rule: detector.rules()[m.rule].id().to_string(),
            kind,
            severity,
            key_id,
            key_type,
            secret,
            session_token: token,
            user_name: m.user.clone(),
            account_id: None,
            account_id_source: None,
            canary: None,
            expires_at: None,
            expired: None,
            sso: None,
            location: Location {
                origin: origin.clone(),
                line,
                column,
            },
            fingerprint,
            verification: Verification::default(),
            remediation: Vec::new(),
            inline_allowed: false,
        }
    }

    /// Builds the finding for an IAM Identity Center token from the AWS CLI's cache, found in
    /// a blob from `origin` at `line`:`column`; `now` (Unix seconds) decides what has expired.
    pub fn from_sso(
        token: &crate::detect::awscache::SsoToken,
        origin: &Origin,
        (line, column): (usize, usize),
        now: i64,
    ) -> Finding {
        let passed = |t: &Option<String>| t.as_deref().and_then(expiry_time).map(|t| t <= now);
        let expired = passed(&token.expires_at);
        let registration_over = passed(&token.registration_expires_at);
        let refreshable = token.refresh_token.is_some()
            && token.client_id.is_some()
            && token.client_secret.is_some()
            && registration_over != Some(true);
        // A live access token or a usable refresh token reaches every assigned account.
        let severity = match (expired, refreshable) {
            (Some(false), _) | (_, true) => Severity::High,
            (None, false) => Severity::Medium,
            (Some(true), false) => Severity::Low,
        };
        let fingerprint = fingerprint(&[
            Kind::SsoToken.as_str(),
            &token.access_token,
            token.refresh_token.as_deref().unwrap_or(""),
            &origin.path,
            origin.archive_member.as_deref().unwrap_or(""),
        ]);
        Finding {
            rule: SSO_TOKEN_RULE.to_string(),
            kind: Kind::SsoToken,
            severity,
            key_id: None,
            key_type: None,
            secret: None,
            session_token: Some(token.access_token.clone()),
            user_name: None,
            account_id: None,
            account_id_source: None,
            canary: None,
            expires_at: token.expires_at.clone(),
            expired,
            sso: Some(SsoDetails {
                start_url: token.start_url.clone(),
                region: token.region.clone(),
                refresh_token: token.refresh_token.clone(),
                client_id: token.client_id.clone(),
                client_secret: token.client_secret.clone(),
                registration_expires_at: token.registration_expires_at.clone(),
                refreshable,
            }),
            location: Location {
                origin: origin.clone(),
                line,
                column,
            },
            fingerprint,
            verification: Verification::default(),
            remediation: Vec::new(),
            inline_allowed: false,
        }
    }

    /// Records when temporary credentials expire (`Expiration` of a cached STS response);
    /// credentials already expired at `now` (Unix seconds) are no longer usable and drop to
    /// low severity.
    pub fn set_expiry(&mut self, expires_at: String, now: i64) {
        let expired = expiry_time(&expires_at).map(|t| t <= now);
        if expired == Some(true) {
            self.severity = Severity::Low;
        }
        self.expired = expired;
        self.expires_at = Some(expires_at);
    }

    /// Replaces the secret and tokens with their redacted forms.
    pub fn redact(&mut self) {
        let sso = self.sso.as_mut();
        let (refresh, client) = match sso {
            Some(s) => (s.refresh_token.as_mut(), s.client_secret.as_mut()),
            None => (None, None),
        };
        for value in [
            self.secret.as_mut(),
            self.session_token.as_mut(),
            refresh,
            client,
        ]
        .into_iter()
        .flatten()
        {
            *value = redact(value);
        }
    }

    /// The order reports list findings in: path, line, column, then what was found.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            &self.location.origin.path,
            &self.location.origin.archive_member,
            &self.location.origin.commit,
            self.location.line,
            self.location.column,
            self.kind,
            &self.key_id,
            &self.fingerprint,
        )
    }
}

/// The rule id of IAM Identity Center tokens from the AWS CLI's cache (found by
/// [`crate::detect::awscache`], not by a pattern rule).
pub const SSO_TOKEN_RULE: &str = "aws-sso-token-cache";

/// Unix seconds of an expiry time as the AWS CLI caches write it (RFC 3339, `…Z`,
/// `…+00:00`, or the older `…UTC`).
pub fn expiry_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix("UTC").unwrap_or(s);
    crate::remediate::parse_date(s)
}

/// Shows the first 4 characters of a secret and its length: `wJal…(40 chars)`.
pub fn redact(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…({} chars)", secret.chars().count())
}

/// A stable 64-bit FNV-1a hash of the parts, as 16 hex digits. It does not depend on line
/// numbers, so a finding keeps its fingerprint when the text around it moves.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes().iter().chain(std::iter::once(&0xff)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Size of the steps in which [`locate`] walks a blob, releasing each step behind it.
pub const LOCATE_STEP: usize = 16 * 1024 * 1024;

/// Code points in `bytes` (UTF-8 continuation bytes do not start one).
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

/// Line and column (1-based; column in code points) of each offset in `offsets` (sorted
/// ascending). Only the bytes up to the last offset are read, once, in steps; `release` is
/// told each stretch walked, so a mapped file's pages can be dropped as the walk goes.
pub fn locate(
    data: &[u8],
    offsets: &[usize],
    mut release: impl FnMut(Range<usize>),
) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(offsets.len());
    // `chars` counts the code points between the current line's start and `pos`.
    let (mut pos, mut line, mut chars) = (0usize, 1usize, 0usize);
    for &offset in offsets {
        let offset = offset.min(data.len());
        while pos < offset {
            let end = offset.min(pos + LOCATE_STEP);
            let piece = &data[pos..end];
            match memchr::memrchr(b'\n', piece) {
                Some(last) => {
                    line += piece.iter().filter(|&&b| b == b'\n').count();
                    chars = count_chars(&piece[last + 1..]);
                }
                None => chars += count_chars(piece),
            }
            if end - pos == LOCATE_STEP {
                release(pos..end);
            }
            pos = end;
        }
        out.push((line, chars + 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_lines_and_columns() {
        let data = "ab\ncdé\r\nxyz".as_bytes();
        let x = data.iter().position(|&b| b == b'x').unwrap();
        let d = data.iter().position(|&b| b == b'd').unwrap();
        assert_eq!(
            locate(data, &[0, d, x], |_| {}),
            vec![(1, 1), (2, 2), (3, 1)]
        );
    }

    #[test]
    fn redaction_keeps_head_and_length() {
        assert_eq!(
            redact("Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy"),
            "Zq8v…(40 chars)"
        );
    }

    #[test]
    fn fingerprints_differ_by_part() {
        assert_ne!(fingerprint(&["a", "bc"]), fingerprint(&["ab", "c"]));
    }
}
