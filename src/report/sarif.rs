//! The SARIF 2.1.0 report: one run whose tool lists every rule in use, and one result per
//! finding, located relative to the scan root so that code scanning (GitHub, GitLab, IDEs)
//! can annotate the line. Secrets appear as the findings carry them: redacted unless
//! `--show-secrets`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::ScanRoot;
use crate::finding::{Finding, KeyType, Kind, Severity, SuppressionKind, VerificationStatus};
use crate::rules::Rule;

/// The schema a SARIF 2.1.0 log names.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The base id result locations are relative to: the scan root.
pub const SRCROOT: &str = "%SRCROOT%";

/// Key of the finding's fingerprint in `partialFingerprints`.
/// (`v2`: SHA-256 fingerprints; `v1` held the old 64-bit ones.)
pub const FINGERPRINT_KEY: &str = "keysweep/v2";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    original_uri_base_ids: BTreeMap<&'static str, ArtifactLocation>,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    rules: Vec<RuleDescriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleDescriptor<'a> {
    id: &'a str,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Text,
    default_configuration: Configuration,
    properties: Map<String, Value>,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Text {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, &'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<SarifSuppression>,
    properties: Map<String, Value>,
}

/// SARIF's `suppression` object: code scanning shows a result with one as dismissed.
#[derive(Serialize)]
struct SarifSuppression {
    /// `inSource` (a `keysweep:allow` marker) or `external` (config, baseline, a flag).
    kind: &'static str,
    status: &'static str,
    justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
}

/// SARIF level of a severity: critical and high are errors, medium a warning, low a note.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The `security-severity` score (0.0-10.0) code scanning ranks a severity by.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// Whether a rule's pattern captures a key ID, a secret, a token, an API key.
fn captured(rule: &Rule) -> (bool, bool, bool, bool) {
    let c = rule.captures;
    (
        c.key_id.is_some(),
        c.secret.is_some(),
        c.token.is_some(),
        c.api_key.is_some(),
    )
}

/// The worst finding a rule can produce, judged by what its pattern captures: a secret can
/// complete a long-term key pair (critical), a session token belongs to temporary
/// credentials (high), a key ID alone names an account (medium).
fn rule_severity(rule: &Rule) -> Severity {
    let (key, secret, token, api_key) = captured(rule);
    if api_key {
        // A long-term Bedrock key is usable alone until revoked.
        Severity::Critical
    } else if token {
        Severity::High
    } else if secret || rule.syntax.near.is_some() {
        Severity::Critical
    } else if key {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// `aws-access-key-id` -> `AwsAccessKeyId`.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The remediation summary of a rule's help, as plain text and as Markdown.
fn help(rule: &Rule) -> Text {
    let (key, secret, token, api_key) = captured(rule);
    let what = if api_key {
        "An Amazon Bedrock API key was committed or shipped. It is a bearer token: whoever \
         holds it calls Bedrock as its owner (a long-term key until it is deactivated, a \
         short-term one for up to 12 hours). Run `keysweep remediate` on the JSON report for \
         the exact commands."
    } else if token {
        "Temporary AWS credentials (an STS session) were committed or shipped. They stay valid \
         until they expire (up to 36 hours) and cannot be revoked one by one."
    } else if secret || rule.syntax.near.is_some() {
        "An AWS secret access key was committed or shipped. With its key ID it signs requests \
         as the key's owner: treat it as compromised, even in a private repository."
    } else if key {
        "An AWS access key ID was committed or shipped. Alone it is not usable, but it names \
         the account and its secret may sit elsewhere in the history or another file."
    } else {
        "An AWS credential was committed or shipped."
    };
    let steps: [(&str, &str); 6] = [
        (
            "Identify the owner",
            "aws sts get-access-key-info --access-key-id KEY_ID; aws iam get-access-key-last-used --access-key-id KEY_ID",
        ),
        (
            "Deactivate the key (temporary keys: deny sessions issued before now on the role, policy AWSRevokeOlderSessions)",
            "aws iam update-access-key --user-name USER --access-key-id KEY_ID --status Inactive",
        ),
        (
            "Investigate its use in CloudTrail, in every region (90 days of management events)",
            "aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=KEY_ID",
        ),
        (
            "Rotate: create the replacement, update what used the key",
            "aws iam create-access-key --user-name USER",
        ),
        (
            "Delete the leaked key",
            "aws iam delete-access-key --user-name USER --access-key-id KEY_ID",
        ),
        (
            "Remove it from the code and the history; prefer roles or IAM Identity Center to long-term keys",
            "keysweep remediate report.json",
        ),
    ];
    let mut text = format!("{what} Remediation:");
    let mut markdown = format!("{what}\n\n**Remediation**\n");
    for (i, (step, command)) in steps.iter().enumerate() {
        text.push_str(&format!(" ({}) {step}: {command}.", i + 1));
        markdown.push_str(&format!("{}. {step}: `{command}`\n", i + 1));
    }
    let tail = " `keysweep remediate` turns a JSON report into these commands with the key ID, \
                user and time window filled in.";
    text.push_str(tail);
    markdown.push_str(&format!("\n{}\n", tail.trim_start()));
    Text {
        text,
        markdown: Some(markdown),
    }
}

fn descriptor(rule: &Rule) -> RuleDescriptor<'_> {
    let severity = rule_severity(rule);
    let mut properties = Map::new();
    properties.insert(
        "security-severity".into(),
        security_severity(severity).into(),
    );
    properties.insert("precision".into(), "high".into());
    properties.insert(
        "tags".into(),
        Value::from(vec![
            "security",
            "secret",
            "aws",
            "credentials",
            "external/cwe/cwe-798",
        ]),
    );
    let full = if rule.syntax.description.trim().is_empty() {
        format!("{}.", rule.syntax.name)
    } else {
        rule.syntax.description.clone()
    };
    RuleDescriptor {
        id: rule.id(),
        name: pascal_case(rule.id()),
        short_description: Text {
            text: rule.syntax.name.clone(),
            markdown: None,
        },
        full_description: Text {
            text: full,
            markdown: None,
        },
        help: help(rule),
        default_configuration: Configuration {
            level: level(severity),
        },
        properties,
    }
}

fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::AccessKeyPair => "AWS access key pair",
        Kind::AccessKeyId => "AWS access key ID",
        Kind::SecretAccessKey => "AWS secret access key",
        Kind::SessionCredentials => "AWS temporary session credentials",
        Kind::PolicyChange => "Change to keysweep's policy",
        Kind::BedrockLongTermKey => "Amazon Bedrock long-term API key",
        Kind::BedrockShortTermKey => "Amazon Bedrock short-term API key",
        Kind::SsoToken => "AWS IAM Identity Center (SSO) token",
    }
}

fn message(f: &Finding) -> String {
    let origin = &f.location.origin;
    if let Some(change) = &f.policy_change {
        return format!(
            "{change}. The reviewed range changes keysweep's own policy: review it; once it is \
             approved, re-run with --allow-policy-change."
        );
    }
    let mut text = kind_text(f.kind).to_string();
    if let Some(key) = &f.key_id {
        text.push_str(&format!(" {key}"));
    }
    let mut parts = Vec::new();
    if let Some(secret) = &f.secret {
        parts.push(format!("secret {secret}"));
    }
    if let Some(token) = &f.session_token {
        parts.push(format!("session token {token}"));
    }
    if let Some(user) = &f.user_name {
        parts.push(format!("IAM user {user}"));
    }
    if let Some(account) = &f.account_id {
        parts.push(format!("account {account}"));
    }
    if !parts.is_empty() {
        text.push_str(&format!(" ({})", parts.join(", ")));
    }
    if let Some(member) = &origin.archive_member {
        text.push_str(&format!(" in archive member {member}"));
    }
    if let Some(decoded) = &origin.decoded_from {
        text.push_str(&format!(", decoded from {decoded}"));
    }
    if let Some(commit) = &origin.commit {
        text.push_str(&format!(
            ", introduced in commit {}",
            commit.get(..12).unwrap_or(commit)
        ));
        if let Some(author) = &origin.author {
            text.push_str(&format!(" by {author}"));
        }
        if let Some(date) = &origin.date {
            text.push_str(&format!(" on {date}"));
        }
        if origin.present_at_head == Some(false) {
            text.push_str(" (no longer in the current tree, still in the history)");
        }
    }
    text.push('.');
    if f.canary {
        text.push_str(" It belongs to a known canary-token account: using it alerts its owner.");
    }
    if let Some(risk) = &f.risk {
        text.push_str(&format!(
            " Risk {}: {}.",
            risk.level.as_str(),
            risk.summary()
        ));
    }
    text.push_str(match (f.kind, f.key_type) {
        (_, Some(KeyType::Temporary)) => {
            " Treat it as compromised: find the role that issued it and revoke its older sessions."
        }
        (Kind::AccessKeyId, _) => {
            " Look for its secret nearby, in other files and in the history; find its owner with aws sts get-access-key-info."
        }
        _ => " Treat it as compromised: deactivate the key, check CloudTrail for its use, then rotate and delete it.",
    });
    text
}

fn properties(f: &Finding) -> Map<String, Value> {
    let origin = &f.location.origin;
    let mut p = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            p.insert(key.to_string(), v);
        }
    };
    put("kind", Some(f.kind.as_str().into()));
    put("severity", Some(f.severity.as_str().into()));
    put("keyId", f.key_id.clone().map(Value::from));
    put(
        "keyType",
        f.key_type.and_then(|t| serde_json::to_value(t).ok()),
    );
    put("userName", f.user_name.clone().map(Value::from));
    put("accountId", f.account_id.clone().map(Value::from));
    put(
        "accountIdSource",
        f.account_id_source.map(|s| Value::from(s.as_str())),
    );
    put("canary", f.canary.then_some(Value::from(true)));
    put("path", Some(origin.path.clone().into()));
    put(
        "archiveMember",
        origin.archive_member.clone().map(Value::from),
    );
    put("decodedFrom", origin.decoded_from.clone().map(Value::from));
    put("versionId", origin.version_id.clone().map(Value::from));
    put("commit", origin.commit.clone().map(Value::from));
    put("author", origin.author.clone().map(Value::from));
    put("date", origin.date.clone().map(Value::from));
    put("presentAtHead", origin.present_at_head.map(Value::from));
    put("policyChange", f.policy_change.clone().map(Value::from));
    if f.verification.status != VerificationStatus::NotChecked {
        put("verification", serde_json::to_value(&f.verification).ok());
    }
    put(
        "risk",
        f.risk.as_ref().and_then(|r| serde_json::to_value(r).ok()),
    );
    put(
        "blastRadius",
        f.blast_radius
            .as_ref()
            .and_then(|b| serde_json::to_value(b).ok()),
    );
    if !f.remediation.is_empty() {
        put(
            "remediation",
            Some(Value::from(
                f.remediation
                    .iter()
                    .map(|s| s.command.clone())
                    .collect::<Vec<_>>(),
            )),
        );
    }
    p
}

/// Percent-encodes a path for a URI: unreserved characters and `/` stay, every other byte
/// (spaces, `%`, `#`, `:`, non-ASCII) becomes `%XX`.
pub fn encode_path(path: &str) -> String {
    encode_bytes(path.as_bytes())
}

/// [`encode_path`] for a path's exact bytes (UTF-8 or not).
pub fn encode_bytes(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `file:` URI of an absolute path (`/` separated; a Windows drive gets a leading `/`).
fn file_uri(path: &std::path::Path, directory: bool) -> String {
    let mut p = path.to_string_lossy().replace('\\', "/");
    if !p.starts_with('/') {
        p.insert(0, '/');
    }
    if directory && !p.ends_with('/') {
        p.push('/');
    }
    format!("file://{}", encode_path(&p))
}

fn location(f: &Finding, root: Option<&ScanRoot>) -> Option<Location> {
    let path = &f.location.origin.path;
    if path == "-" || path.is_empty() {
        return None;
    }
    let artifact_location = match root {
        // An S3 object: its own URI (the key percent-encoded, `/` kept).
        _ if crate::config::is_url(path) => ArtifactLocation {
            uri: match path.strip_prefix("s3://") {
                Some(rest) => format!("s3://{}", encode_path(rest)),
                None => encode_path(path),
            },
            uri_base_id: None,
        },
        Some(root) => match root.relative(path) {
            Some(rel) => ArtifactLocation {
                uri: match (
                    &f.location.origin.path_bytes,
                    crate::term::unescape_bytes(&rel),
                ) {
                    // A path that is not UTF-8: percent-encode its exact bytes.
                    (Some(_), Some(bytes)) => encode_bytes(&bytes),
                    _ => encode_path(&rel),
                },
                uri_base_id: Some(SRCROOT),
            },
            None => ArtifactLocation {
                uri: file_uri(&root.absolute(path), false),
                uri_base_id: None,
            },
        },
        None if std::path::Path::new(path).is_absolute() => ArtifactLocation {
            uri: file_uri(std::path::Path::new(path), false),
            uri_base_id: None,
        },
        None => ArtifactLocation {
            uri: encode_path(path.trim_start_matches("./")),
            uri_base_id: Some(SRCROOT),
        },
    };
    // The match starts at the key ID when there is one: it spans 20 characters.
    let end_column = f
        .key_id
        .as_ref()
        .map(|k| f.location.column + k.chars().count());
    Some(Location {
        physical_location: PhysicalLocation {
            artifact_location,
            region: Region {
                start_line: f.location.line.max(1),
                start_column: f.location.column.max(1),
                end_column,
            },
        },
    })
}

/// Writes the SARIF log of `findings`, listing every rule of `rules`.
pub fn write(
    out: &mut dyn Write,
    findings: &[Finding],
    suppressed: &[Finding],
    rules: &[Rule],
    root: Option<&ScanRoot>,
) -> io::Result<()> {
    let mut all: Vec<&Finding> = findings.iter().chain(suppressed).collect();
    all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let results = all
        .into_iter()
        .map(|f| SarifResult {
            rule_id: &f.rule,
            rule_index: rules.iter().position(|r| r.id() == f.rule),
            level: level(f.severity),
            message: Text {
                text: message(f),
                markdown: None,
            },
            locations: location(f, root).into_iter().collect(),
            partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, f.fingerprint.as_str())]),
            suppressions: f
                .suppression
                .iter()
                .map(|s| SarifSuppression {
                    kind: match s.kind {
                        SuppressionKind::InSource => "inSource",
                        SuppressionKind::External => "external",
                    },
                    status: "accepted",
                    justification: s.justification.clone(),
                })
                .collect(),
            properties: properties(f),
        })
        .collect();
    let mut original_uri_base_ids = BTreeMap::new();
    if let Some(root) = root {
        original_uri_base_ids.insert(
            SRCROOT,
            ArtifactLocation {
                uri: file_uri(root.dir(), true),
                uri_base_id: None,
            },
        );
    }
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "keysweep",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
                        .into_iter()
                        .find(|u| !u.is_empty()),
                    rules: rules.iter().map(descriptor).collect(),
                },
            },
            original_uri_base_ids,
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_levels_and_uris() {
        assert_eq!(pascal_case("aws-access-key-id"), "AwsAccessKeyId");
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(encode_path("a b/c#d%.env"), "a%20b/c%23d%25.env");
        assert_eq!(encode_path("é:x"), "%C3%A9%3Ax");
    }
}
