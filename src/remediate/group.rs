//! Findings merged per key: one playbook section per key, whatever the number of places it
//! was found at.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use crate::finding::{AccountIdSource, Finding, Kind, RemediationStep, Step, VerificationStatus};

use super::steps::steps;
use super::window::{leak_time, Window};
use super::Lang;

/// One key of a playbook: the findings that share it, merged.
#[derive(Debug, Clone)]
pub struct KeyGroup {
    /// The merged finding the steps are computed from.
    pub finding: Finding,
    /// Every place the key was found.
    pub places: Vec<String>,
    pub steps: Vec<RemediationStep>,
}

fn status_rank(s: VerificationStatus) -> u8 {
    match s {
        VerificationStatus::Live => 5,
        VerificationStatus::InactiveOrInvalid => 4,
        VerificationStatus::Owned | VerificationStatus::Foreign => 3,
        VerificationStatus::Error => 1,
        VerificationStatus::NotChecked => 0,
    }
}

fn place(f: &Finding) -> String {
    let o = &f.location.origin;
    let mut s = format!("{}:{}:{}", o.path, f.location.line, f.location.column);
    if let Some(m) = &o.archive_member {
        let _ = write!(s, " (member {m})");
    }
    if let Some(c) = &o.commit {
        let _ = write!(s, " (commit {})", c.get(..12).unwrap_or(c));
    }
    if let Some(d) = &o.decoded_from {
        let _ = write!(s, " ({d})");
    }
    s
}

/// Where the report's own investigation of `f` started (the window its steps searched), if
/// it says.
fn reported_start(f: &Finding) -> Option<i64> {
    f.remediation
        .iter()
        .filter(|s| s.step == Step::Investigate)
        .find_map(|s| s.since)
}

/// Groups `findings` per key (key ID; findings without one stay on their own), merges what
/// each says about the key, and computes its steps in `lang` (a window never starts after `now`).
pub fn group(findings: &[Finding], lang: Lang, now: SystemTime) -> Vec<KeyGroup> {
    let mut groups: BTreeMap<String, (Finding, Vec<String>, Option<i64>)> = BTreeMap::new();
    // Policy changes are not keys; suppressed findings (`--include-suppressed`) are accepted.
    for f in findings
        .iter()
        .filter(|f| f.kind != Kind::PolicyChange && f.suppression.is_none())
    {
        let id = bedrock_group_id(f).unwrap_or_else(|| {
            f.key_id
                .clone()
                .unwrap_or_else(|| format!("~{}", f.fingerprint))
        });
        let leak = leak_time(f).or_else(|| reported_start(f));
        match groups.get_mut(&id) {
            None => {
                groups.insert(id, (f.clone(), vec![place(f)], leak));
            }
            Some((merged, places, start)) => {
                places.push(place(f));
                *start = match (*start, leak) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if merged.user_name.is_none() {
                    merged.user_name.clone_from(&f.user_name);
                }
                if merged.secret.is_none() {
                    merged.secret.clone_from(&f.secret);
                }
                if merged.session_token.is_none() {
                    merged.session_token.clone_from(&f.session_token);
                }
                merged.canary |= f.canary;
                if merged.account_id_source != Some(AccountIdSource::Sts) && f.account_id.is_some()
                {
                    merged.account_id.clone_from(&f.account_id);
                    merged.account_id_source = f.account_id_source;
                }
                if status_rank(f.verification.status) > status_rank(merged.verification.status) {
                    merged.verification = f.verification.clone();
                }
            }
        }
    }
    groups
        .into_values()
        .map(|(finding, places, leak)| {
            let steps = steps(&finding, Window::new(leak, now), lang);
            KeyGroup {
                finding,
                places,
                steps,
            }
        })
        .collect()
}

/// The playbook group of a Bedrock finding: one per user and account (long-term), one per
/// signing key (short-term).
fn bedrock_group_id(f: &Finding) -> Option<String> {
    match f.kind {
        Kind::BedrockLongTermKey => Some(format!(
            "bedrock:{}:{}",
            f.account_id.as_deref().unwrap_or("?"),
            f.user_name.as_deref().unwrap_or(&f.fingerprint)
        )),
        Kind::BedrockShortTermKey => Some(format!(
            "bedrock-short:{}",
            f.key_id.as_deref().unwrap_or(&f.fingerprint)
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediate::testing::finding;
    use std::time::{Duration, UNIX_EPOCH};

    const NOW: u64 = 1_717_243_200;

    #[test]
    fn grouping_merges_per_key() {
        let mut a = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let mut b = a.clone();
        b.location.line = 9;
        b.user_name = Some("alice".into());
        b.verification.status = VerificationStatus::Live;
        b.canary = true;
        b.account_id = Some("123456789012".into());
        b.account_id_source = Some(AccountIdSource::Sts);
        a.location.origin.date = Some("2024-05-01T12:00:00Z".into());
        let mut c = finding(Some("AKIAQ3EGUFABCDEFGHIJ"));
        c.account_id = Some("210987654321".into());
        c.account_id_source = Some(AccountIdSource::Decoded);
        let now = UNIX_EPOCH + Duration::from_secs(NOW);
        let groups = group(&[a, b.clone(), c], Lang::En, now);
        assert_eq!(groups.len(), 2);
        let g = &groups[1];
        assert_eq!(g.finding.key_id.as_deref(), Some("AKIAR7VZ3MOXQ4JTLW2N"));
        assert_eq!(
            g.places,
            [
                "does/not/exist.env:3:5".to_string(),
                "does/not/exist.env:9:5".to_string()
            ]
        );
        assert_eq!(g.finding.verification.status, VerificationStatus::Live);
        assert!(g.finding.canary);
        assert_eq!(g.finding.account_id_source, Some(AccountIdSource::Sts));
        // A canary's steps: nothing but identify and notify.
        assert!(g
            .steps
            .iter()
            .all(|s| matches!(s.step, Step::Identify | Step::Notify)));
        // Without the canary: the user and the window merged from both places.
        b.canary = false;
        let mut a = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        a.location.origin.date = Some("2024-05-01T12:00:00Z".into());
        let groups = group(&[a, b], Lang::En, now);
        let g = &groups[0];
        assert!(g
            .steps
            .iter()
            .any(|s| s.step == Step::Delete && s.command.contains("--user-name alice ")));
        assert!(g.steps.iter().any(|s| s.step == Step::Investigate
            && s.command.contains("--start-time 2024-05-01T12:00:00Z")));
    }

    #[test]
    fn a_reports_own_window_is_kept_when_the_leak_time_is_gone() {
        // The report was made where the file existed; here it does not.
        let mut f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let earlier = super::super::steps(
            &f,
            Window {
                start: Some(1_700_000_000),
            },
            Lang::En,
        );
        let json = serde_json::to_string(&earlier).unwrap_or_default();
        f.remediation = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(f.remediation, earlier);
        assert_eq!(reported_start(&f), Some(1_700_000_000));
        let now = UNIX_EPOCH + Duration::from_secs(NOW);
        let groups = group(std::slice::from_ref(&f), Lang::En, now);
        assert!(groups[0].steps.iter().any(|s| s.step == Step::Investigate
            && s.since == Some(1_700_000_000)
            && s.command.contains("--start-time 2023-11-14T22:13:20Z")));
        // Without it (and without a leak time) CloudTrail's 90 days.
        f.remediation.clear();
        let groups = group(&[f], Lang::En, now);
        assert!(groups[0].steps.iter().all(|s| s.since.is_none()));
    }

    #[test]
    fn policy_changes_are_not_grouped_and_bedrock_keys_group_per_user() {
        let mut p = finding(None);
        p.kind = Kind::PolicyChange;
        let mut l1 = finding(None);
        l1.kind = Kind::BedrockLongTermKey;
        l1.user_name = Some("bob".into());
        l1.account_id = Some("123456789012".into());
        let mut l2 = l1.clone();
        l2.fingerprint = "fedcba9876543210".into();
        let groups = group(&[p, l1, l2], Lang::En, UNIX_EPOCH);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].places.len(), 2);
        assert_eq!(
            bedrock_group_id(&groups[0].finding).as_deref(),
            Some("bedrock:123456789012:bob")
        );
    }
}
