//! The `Finding` type every report is made of: built from detector matches, located by line
//! and column, fingerprinted, and redacted before it is written anywhere.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::detect::Match;

pub mod blast;
mod origin;
pub use origin::{path_key, Origin};

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
    /// Not a credential: the reviewed range changes keysweep's policy (config, rules,
    /// baseline) or adds a `keysweep:allow` marker on a line holding a credential (see
    /// [`crate::policy`]).
    PolicyChange,
    /// An Amazon Bedrock long-term API key (`ABSK…`, an IAM service-specific credential): a
    /// bearer token of an IAM user, valid until deactivated or its optional expiry.
    BedrockLongTermKey,
    /// An Amazon Bedrock short-term API key (`bedrock-api-key-…`, a presigned SigV4 URL):
    /// valid up to 12 hours, signed by the access key in `key_id`.
    BedrockShortTermKey,
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
            Kind::PolicyChange => "policy_change",
            Kind::BedrockLongTermKey => "bedrock_long_term_key",
            Kind::BedrockShortTermKey => "bedrock_short_term_key",
            Kind::SsoToken => "sso_token",
        }
    }

    /// True for the Amazon Bedrock API key kinds.
    pub fn is_bedrock(self) -> bool {
        matches!(self, Kind::BedrockLongTermKey | Kind::BedrockShortTermKey)
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
    /// The severity of what was found, before anything is known about the key's owner: a
    /// long-term pair is critical, a lone key ID ranks below a pair.
    pub fn base(kind: Kind, key_type: Option<KeyType>, has_key_id: bool) -> Severity {
        match (kind, key_type) {
            (Kind::AccessKeyPair, Some(KeyType::LongTerm)) => Severity::Critical,
            (Kind::AccessKeyPair | Kind::SecretAccessKey, _) => Severity::High,
            (Kind::SessionCredentials, _) if has_key_id => Severity::High,
            (Kind::AccessKeyId, Some(KeyType::LongTerm)) => Severity::Medium,
            _ => Severity::Low,
        }
    }

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
#[non_exhaustive]
pub struct Location {
    #[serde(flatten)]
    pub origin: Origin,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// `line`:`column` in a blob from `origin`.
    pub fn at(origin: &Origin, (line, column): (usize, usize)) -> Location {
        Location {
            origin: origin.clone(),
            line,
            column,
        }
    }
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

/// What a remediation step does; reports write it in snake case (`revoke_sessions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Find out whose the key is (account, user, role, last use).
    Identify,
    /// Stop the key (make it inactive, or deny what it can do).
    Deactivate,
    /// Check what a change did.
    Confirm,
    /// Look up what the key did, in CloudTrail.
    Investigate,
    /// Make a replacement credential.
    Rotate,
    /// Delete the leaked key.
    Delete,
    /// Deny the sessions issued before now (temporary credentials).
    RevokeSessions,
    /// Prevent it from happening again.
    Harden,
    /// Tell someone: the key is not yours, or it is a canary.
    Notify,
    /// Review a policy change (not a key).
    Review,
    /// Invalidate an IAM Identity Center token's sign-in session.
    InvalidateToken,
    /// End an Identity Center user's active sessions.
    EndSessions,
    /// Deny the role sessions an Identity Center token already obtained.
    RevokeRoleSessions,
    /// A refresh token can mint new access tokens.
    RefreshToken,
}

impl Step {
    /// The name reports write.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Identify => "identify",
            Step::Deactivate => "deactivate",
            Step::Confirm => "confirm",
            Step::Investigate => "investigate",
            Step::Rotate => "rotate",
            Step::Delete => "delete",
            Step::RevokeSessions => "revoke_sessions",
            Step::Harden => "harden",
            Step::Notify => "notify",
            Step::Review => "review",
            Step::InvalidateToken => "invalidate_token",
            Step::EndSessions => "end_sessions",
            Step::RevokeRoleSessions => "revoke_role_sessions",
            Step::RefreshToken => "refresh_token",
        }
    }
}

/// One step of the remediation playbook attached to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StepRecord")]
pub struct RemediationStep {
    pub step: Step,
    pub why: String,
    pub command: String,
    /// Where the CloudTrail window of a step's command starts (Unix seconds), for steps that
    /// search CloudTrail from the leak on; `None` for the others and when the leak time is
    /// unknown (the last 90 days). Not written: the command says it.
    #[serde(skip)]
    pub since: Option<i64>,
}

/// A remediation step as a report writes it.
#[derive(Deserialize)]
struct StepRecord {
    step: Step,
    why: String,
    command: String,
}

impl From<StepRecord> for RemediationStep {
    /// A report keeps the window only in its commands: an investigate step's
    /// `--start-time` is its start. Reports are the one place it is read back from text.
    fn from(r: StepRecord) -> RemediationStep {
        let since = (r.step == Step::Investigate)
            .then(|| {
                let rest = r.command.split("--start-time ").nth(1)?;
                crate::time::parse_date(rest.split_whitespace().next()?)
            })
            .flatten();
        RemediationStep {
            step: r.step,
            why: r.why,
            command: r.command,
            since,
        }
    }
}

/// Where `account_id` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountIdSource {
    /// Decoded offline from the key ID (or read from a Bedrock key).
    Decoded,
    /// Reported by STS (`--verify`).
    Sts,
}

impl AccountIdSource {
    /// The name reports write.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountIdSource::Decoded => "decoded",
            AccountIdSource::Sts => "sts",
        }
    }
}

/// `canary` is written only when true.
fn is_false(b: &bool) -> bool {
    !*b
}

/// `canary`: absent, `null` and `false` are all "not a canary".
fn canary_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// A change a reviewed range makes to policy (config file, rules directory, baseline):
/// reported in every format, and failing the gate unless accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChange {
    /// The path in the repository.
    pub path: String,
    /// `added`, `modified`, `deleted`, `renamed`, `type changed`.
    pub status: &'static str,
    /// What the file is to keysweep (`config file`, `rules file`, `baseline`).
    pub role: &'static str,
}

/// One leaked credential at one place. Built by the detector ([`Finding::from_match`]) or
/// [`Finding::new`]; more fields will come, so other crates cannot write it as a literal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// The IAM user name, when the leaked text names it (credentials CSV, create-access-key,
    /// a Bedrock long-term key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The only region the credential works in (a Bedrock short-term key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id_source: Option<AccountIdSource>,
    /// The account is a known canary-token account: the key is a tripwire.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "canary_flag"
    )]
    pub canary: bool,
    /// When the credential stops working at the latest, as the leaked text says (a Bedrock
    /// short-term key: signing time plus lifetime, `2026-01-02T03:04:05Z`; cached STS
    /// credentials' `Expiration`; an SSO token's `expiresAt`).
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
    /// Who owns the key, what it may do and when it was last used (`--blast-radius`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<blast::BlastRadius>,
    /// How bad the leak is, with reasons; set from the blast radius (`--blast-radius`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<blast::Risk>,
    #[serde(default)]
    pub remediation: Vec<RemediationStep>,
    /// For a `policy_change` finding: what changed (`config file .keysweep.toml modified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_change: Option<String>,
    /// Why the finding is not counted (inline marker, config allow-list, baseline); such
    /// findings appear in SARIF (as suppressed results) and, with `--include-suppressed`, in
    /// JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
    /// Its line carries `keysweep:allow` (see [`crate::allow`]); dropped before reporting
    /// unless `--no-allow`. Not part of reports.
    #[serde(skip)]
    pub inline_allowed: bool,
}

/// Where a suppression is written (SARIF's `suppression.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionKind {
    /// In the scanned file itself: a `keysweep:allow` marker.
    InSource,
    /// Outside it: the config allow-list or exclusions, the baseline, a command-line flag.
    External,
}

/// Why a finding is suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    /// The justification: the allow entry's reason, the baseline file, the marker.
    pub justification: String,
}

impl Finding {
    /// A finding of `kind` found by `rule` at `location`, with nothing else known yet: the
    /// one place every field gets its starting value.
    pub fn new(
        rule: String,
        kind: Kind,
        severity: Severity,
        location: Location,
        fingerprint: String,
    ) -> Finding {
        Finding {
            rule,
            kind,
            severity,
            key_id: None,
            key_type: None,
            secret: None,
            session_token: None,
            user_name: None,
            region: None,
            account_id: None,
            account_id_source: None,
            canary: false,
            expires_at: None,
            expired: None,
            sso: None,
            location,
            fingerprint,
            verification: Verification::default(),
            blast_radius: None,
            risk: None,
            remediation: Vec::new(),
            policy_change: None,
            suppression: None,
            inline_allowed: false,
        }
    }

    /// Builds the finding for `m`, found by the rule with id `rule` (see
    /// [`crate::detect::Detector::rule_id`]) in a blob from `origin` at `at` (line, column).
    pub fn from_match(rule: &str, m: &Match, origin: &Origin, at: (usize, usize)) -> Finding {
        if let Some(api_key) = &m.api_key {
            return Finding::from_api_key(rule, &api_key.value, origin, at);
        }
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
        let severity = Severity::base(kind, key_type, key_id.is_some());
        let fingerprint = fingerprint_at(
            origin,
            &[
                kind.as_str().as_bytes(),
                key_id.as_deref().unwrap_or("").as_bytes(),
                secret.as_deref().unwrap_or("").as_bytes(),
                token.as_deref().unwrap_or("").as_bytes(),
            ],
        );
        Finding {
            key_id,
            key_type,
            secret,
            session_token: token,
            user_name: m.user.clone(),
            ..Finding::new(
                rule.to_string(),
                kind,
                severity,
                Location::at(origin, at),
                fingerprint,
            )
        }
    }

    /// The finding that reports a policy change at `path` (line 0: the whole file, or the
    /// line of the marker), described by `what`.
    pub fn policy_change(path: &str, line: usize, what: String) -> Finding {
        let fingerprint = fingerprint(&[
            Kind::PolicyChange.as_str().as_bytes(),
            path.as_bytes(),
            what.as_bytes(),
        ]);
        let location = Location {
            origin: Origin::file(path),
            line,
            column: 1,
        };
        Finding {
            policy_change: Some(what),
            ..Finding::new(
                POLICY_CHANGE_RULE.to_string(),
                Kind::PolicyChange,
                Severity::High,
                location,
                fingerprint,
            )
        }
    }

    /// The finding for an Amazon Bedrock API key (see [`crate::bedrock`]): the key itself is
    /// the `secret`; what it carries (user and account of a long-term key; signing key ID,
    /// session token, region and expiry of a short-term one) fills the other fields.
    fn from_api_key(rule: &str, value: &str, origin: &Origin, at: (usize, usize)) -> Finding {
        use crate::bedrock::{self, BedrockKey};
        let mut finding = Finding {
            secret: Some(value.to_string()),
            ..Finding::new(
                rule.to_string(),
                Kind::BedrockLongTermKey,
                Severity::Critical,
                Location::at(origin, at),
                String::new(),
            )
        };
        match bedrock::parse(value) {
            Some(BedrockKey::LongTerm(k)) => {
                finding.user_name = Some(k.user_name);
                finding.account_id = Some(k.account_id);
                finding.account_id_source = Some(AccountIdSource::Decoded);
            }
            Some(BedrockKey::ShortTerm(k)) => {
                finding.kind = Kind::BedrockShortTermKey;
                finding.severity = Severity::High;
                finding.key_type = KeyType::of(&k.key_id);
                finding.expires_at = Some(k.expires_at_utc());
                finding.key_id = Some(k.key_id);
                finding.region = Some(k.region);
                finding.session_token = k.session_token;
            }
            // The detector only confirms keys that parse.
            None => {}
        }
        finding.fingerprint = fingerprint_at(
            origin,
            &[
                finding.kind.as_str().as_bytes(),
                finding.key_id.as_deref().unwrap_or("").as_bytes(),
                value.as_bytes(),
                b"",
            ],
        );
        finding
    }

    /// Builds the finding for an IAM Identity Center token from the AWS CLI's cache, found in
    /// a blob from `origin` at `line`:`column`; `now` (Unix seconds) decides what has expired.
    pub fn from_sso(
        token: &crate::detect::awscache::SsoToken,
        origin: &Origin,
        at: (usize, usize),
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
        let fingerprint = fingerprint_at(
            origin,
            &[
                Kind::SsoToken.as_str().as_bytes(),
                token.access_token.as_bytes(),
                token.refresh_token.as_deref().unwrap_or("").as_bytes(),
            ],
        );
        Finding {
            session_token: Some(token.access_token.clone()),
            expires_at: token.expires_at.clone(),
            expired,
            // Values off their grammar are left out (the report's reader would refuse them).
            sso: Some(SsoDetails {
                start_url: grammatical(&token.start_url, crate::grammar::Field::Url),
                region: token.region.clone().filter(|r| {
                    (1..=32).contains(&r.len())
                        && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }),
                refresh_token: grammatical(&token.refresh_token, crate::grammar::Field::SsoToken),
                client_id: grammatical(&token.client_id, crate::grammar::Field::SsoToken),
                client_secret: grammatical(&token.client_secret, crate::grammar::Field::SsoToken),
                registration_expires_at: token.registration_expires_at.clone(),
                refreshable,
            }),
            ..Finding::new(
                SSO_TOKEN_RULE.to_string(),
                Kind::SsoToken,
                severity,
                Location::at(origin, at),
                fingerprint,
            )
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
            &self.location.origin.version_id,
            &self.location.origin.commit,
            self.location.line,
            self.location.column,
            self.kind,
            &self.key_id,
            &self.fingerprint,
        )
    }
}

/// The rule id of [`Kind::PolicyChange`] findings.
pub const POLICY_CHANGE_RULE: &str = "keysweep-policy-change";

/// The rule id of IAM Identity Center tokens from the AWS CLI's cache (found by
/// [`crate::detect::awscache`], not by a pattern rule).
pub const SSO_TOKEN_RULE: &str = "aws-sso-token-cache";

/// `value` when it matches `field`'s grammar.
fn grammatical(value: &Option<String>, field: crate::grammar::Field) -> Option<String> {
    value.clone().filter(|v| field.matches(v))
}

/// Unix seconds of an expiry time as the AWS CLI caches write it (RFC 3339, `…Z`,
/// `…+00:00`, or the older `…UTC`).
pub fn expiry_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix("UTC").unwrap_or(s);
    crate::time::parse_date(s)
}

/// Shows the first 4 characters of a secret and its length: `wJal…(40 chars)`.
pub fn redact(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…({} chars)", secret.chars().count())
}

/// Hex digits of a fingerprint: 128 bits of SHA-256.
pub const FINGERPRINT_HEX: usize = 32;

/// Hex digits of the 64-bit FNV-1a fingerprints of reports before SHA-256 (no longer
/// computed: a baseline holding them is refused with a message saying how to rewrite it).
pub const OLD_FINGERPRINT_HEX: usize = 16;

/// The fingerprint of a finding: SHA-256 over the parts, each preceded by its length (8
/// bytes, big-endian) so that no two lists of parts hash the same input, cut to 128 bits
/// (32 hex digits). It does not depend on line numbers, so a finding keeps its fingerprint
/// when the text around it moves. The parts are what an attacker chooses (the path, the
/// key); a cryptographic hash keeps them from crafting a collision with a baseline entry.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut out = String::with_capacity(FINGERPRINT_HEX);
    for b in digest.iter().take(FINGERPRINT_HEX / 2) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The fingerprint of what was found (`parts`) in a blob from `origin`: the parts, then the
/// path's exact bytes and the archive member (never the line: see [`fingerprint`]).
fn fingerprint_at(origin: &Origin, parts: &[&[u8]]) -> String {
    let path = origin.path_raw();
    let member = origin.archive_member.as_deref().unwrap_or("");
    let mut all = parts.to_vec();
    all.extend([&path[..], member.as_bytes()]);
    fingerprint(&all)
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
        assert_ne!(fingerprint(&[b"a", b"bc"]), fingerprint(&[b"ab", b"c"]));
        assert_ne!(fingerprint(&[b"a\xff.env"]), fingerprint(&[b"a\xfe.env"]));
        assert_eq!(fingerprint(&[b"x"]).len(), FINGERPRINT_HEX);
        // SHA-256 of the length-prefixed part, first 16 bytes.
        assert_eq!(fingerprint(&[b""]), "af5570f5a1810b7af78caf4bc70a660f");
    }
}
