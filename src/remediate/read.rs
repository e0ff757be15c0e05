//! Reading a report for a playbook: the findings of a JSON or JSON Lines report, each value
//! a playbook uses checked against its grammar.

use thiserror::Error;

use crate::finding::{Finding, Kind};
use crate::grammar::Field;
use crate::report::read::ReadError;

/// A report that cannot be read.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("not a keysweep JSON report (array) or JSON Lines report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("line {line}: {source}")]
    Line {
        line: usize,
        source: serde_json::Error,
    },
    /// A value that does not match its grammar: the report was not written by keysweep, or
    /// was edited. Nothing of it is written into a playbook.
    #[error("finding {index} ({place}): {message}")]
    Invalid {
        /// 1-based position of the finding in the report.
        index: usize,
        /// Its path and line, escaped for the terminal.
        place: String,
        /// The offending field (`key_id`, `verification.arn`, ...).
        field: &'static str,
        message: String,
    },
}

/// A redacted secret or token as reports carry it: up to 4 characters of the value, then
/// `…(N chars)`.
fn is_redacted(value: &str, field: Field) -> bool {
    let Some((head, tail)) = value.split_once('…') else {
        return false;
    };
    let Some(count) = tail
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(" chars)"))
    else {
        return false;
    };
    head.chars().count() <= 4
        && (head.is_empty()
            || field.matches(head)
            || head
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'))
        && !count.is_empty()
        && count.len() <= 7
        && count.bytes().all(|b| b.is_ascii_digit())
}

/// Checks every value of `findings` that a playbook uses against its grammar (see
/// [`crate::grammar`]): key ID, secret and token (exact or redacted), user name, account,
/// ARN, fingerprint and commit. The first bad value is the error. (Closed sets of values —
/// kinds, statuses, account sources, step names — are checked when the report is read.)
pub fn validate(findings: &[Finding]) -> Result<(), ReportError> {
    for (i, f) in findings.iter().enumerate() {
        let o = &f.location.origin;
        let fail = |field: &'static str, message: String| ReportError::Invalid {
            index: i + 1,
            place: format!("{}:{}", o.display_path(), f.location.line),
            field,
            message,
        };
        let check = |field: Field, name: &'static str, value: Option<&str>| match value {
            Some(v) if !field.matches(v) => {
                Err(fail(name, format!("`{name}` is not {}", field.describe())))
            }
            _ => Ok(()),
        };
        check(Field::KeyId, "key_id", f.key_id.as_deref())?;
        check(Field::IamName, "user_name", f.user_name.as_deref())?;
        check(Field::AccountId, "account_id", f.account_id.as_deref())?;
        check(
            Field::Arn,
            "verification.arn",
            f.verification.arn.as_deref(),
        )?;
        check(
            Field::Fingerprint,
            "fingerprint",
            Some(f.fingerprint.as_str()),
        )?;
        check(Field::Commit, "location.commit", o.commit.as_deref())?;
        // A Bedrock API key is reported in `secret`: its own grammar.
        let secret = match f.kind {
            Kind::BedrockLongTermKey | Kind::BedrockShortTermKey => Field::ApiKey,
            _ => Field::Secret,
        };
        // An IAM Identity Center access token is reported in `session_token`, with its
        // cache entry's other values in `sso`: their own grammar.
        let token = match f.kind {
            Kind::SsoToken => Field::SsoToken,
            _ => Field::SessionToken,
        };
        let sso = f.sso.as_ref();
        for (field, name, value) in [
            (secret, "secret", f.secret.as_deref()),
            (token, "session_token", f.session_token.as_deref()),
            (
                Field::SsoToken,
                "sso.refresh_token",
                sso.and_then(|s| s.refresh_token.as_deref()),
            ),
            (
                Field::SsoToken,
                "sso.client_secret",
                sso.and_then(|s| s.client_secret.as_deref()),
            ),
        ] {
            if let Some(v) = value {
                if !field.matches(v) && !is_redacted(v, field) {
                    return Err(fail(
                        name,
                        format!(
                            "`{name}` is not {} (nor its redacted form)",
                            field.describe()
                        ),
                    ));
                }
            }
        }
        if let Some(sso) = sso {
            check(Field::SsoToken, "sso.client_id", sso.client_id.as_deref())?;
            check(Field::Url, "sso.start_url", sso.start_url.as_deref())?;
        }
    }
    Ok(())
}

/// The findings of a `--format json` (array) or `--format jsonl` report, each value checked
/// against its grammar ([`validate`]).
pub fn read_report(text: &str) -> Result<Vec<Finding>, ReportError> {
    let findings = parse_report(text)?;
    validate(&findings)?;
    Ok(findings)
}

fn parse_report(text: &str) -> Result<Vec<Finding>, ReportError> {
    crate::report::read::records(text).map_err(|e| match e {
        ReadError::Json(e) => ReportError::Json(e),
        ReadError::Line { line, source } => ReportError::Line { line, source },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{AccountIdSource, Step};
    use crate::remediate::testing::{finding, WINDOW};
    use crate::remediate::{steps, Lang};

    #[test]
    fn reads_json_and_jsonl_reports() {
        let f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let array = serde_json::to_string(&vec![f.clone(), f.clone()]).unwrap_or_default();
        assert_eq!(read_report(&array).map(|v| v.len()).ok(), Some(2));
        let line = serde_json::to_string(&f).unwrap_or_default();
        let lines = format!("{line}\n\n{line}\n");
        assert_eq!(read_report(&lines).map(|v| v.len()).ok(), Some(2));
        assert!(matches!(
            read_report("{\"rule\": 1}\n"),
            Err(ReportError::Line { line: 1, .. })
        ));
        assert!(matches!(
            read_report("[{\"rule\": 1}]"),
            Err(ReportError::Json(_))
        ));
    }

    #[test]
    fn findings_read_back_as_written() {
        let mut f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        f.account_id = Some("123456789012".into());
        f.account_id_source = Some(AccountIdSource::Decoded);
        f.remediation = steps(&f, WINDOW, Lang::En);
        let json = serde_json::to_value(&f).unwrap_or_default();
        assert_eq!(json["account_id_source"], "decoded");
        assert!(json.get("canary").is_none(), "{json}");
        assert_eq!(json["remediation"][3]["step"], "deactivate");
        assert!(json["remediation"][0].get("since").is_none());
        let again = read_report(&format!("[{json}]")).unwrap_or_default();
        assert_eq!(again, [f.clone()]);
        let inv = again[0]
            .remediation
            .iter()
            .find(|s| s.step == Step::Investigate);
        assert_eq!(inv.and_then(|s| s.since), WINDOW.start);
        // A canary is written as `true`; `false` and `null` read as not one.
        let mut c = f.clone();
        c.canary = true;
        let json = serde_json::to_value(&c).unwrap_or_default();
        assert_eq!(json["canary"], true);
        for flag in ["false", "null"] {
            let text = serde_json::to_string(&f).unwrap_or_default().replacen(
                "{",
                &format!("{{\"canary\":{flag},"),
                1,
            );
            assert_eq!(read_report(&text).ok(), Some(vec![f.clone()]), "{flag}");
        }
    }

    #[test]
    fn closed_sets_refuse_other_values() {
        let f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let line = serde_json::to_string(&f).unwrap_or_default();
        let source = line.replacen("{", "{\"account_id_source\":\"guessed\",", 1);
        assert!(matches!(
            read_report(&source),
            Err(ReportError::Line { line: 1, .. })
        ));
        let step = line.replacen(
            "{",
            "{\"remediation\":[{\"step\":\"rm -rf\",\"why\":\"\",\"command\":\"\"}],",
            1,
        );
        assert!(read_report(&step).is_err());
    }

    #[test]
    fn off_grammar_values_name_their_field() {
        let mut f = finding(Some("AKIA;id"));
        let text = serde_json::to_string(&[&f]).unwrap_or_default();
        let err = read_report(&text).err();
        assert!(
            matches!(
                err,
                Some(ReportError::Invalid {
                    index: 1,
                    field: "key_id",
                    ..
                })
            ),
            "{err:?}"
        );
        f.key_id = Some("AKIAR7VZ3MOXQ4JTLW2N".into());
        f.secret = Some("wJal…(40 chars)".into());
        assert!(validate(&[f.clone()]).is_ok());
        f.secret = Some("$(id)…(40 chars)".into());
        assert!(matches!(
            validate(&[f]),
            Err(ReportError::Invalid {
                field: "secret",
                ..
            })
        ));
    }
}
