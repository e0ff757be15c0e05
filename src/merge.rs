//! `keysweep merge`: the reports of several runs (the N jobs of a `--shard` split, or scans
//! of several repositories) combined into one, as if one run had produced it.
//!
//! Findings are kept once per fingerprint and put in the order every report uses
//! ([`Finding::sort_key`]). When two reports hold the same fingerprint (overlapping runs), the
//! one kept is the oldest by commit date, then the first in report order, so the result does
//! not depend on the order the reports are given in.

use std::collections::HashMap;

use crate::finding::Finding;
use crate::time::parse_date;

/// The merged findings and how many duplicates were dropped.
#[derive(Debug, Default)]
pub struct Merged {
    pub findings: Vec<Finding>,
    pub duplicates: usize,
}

/// Merges the findings of several reports.
pub fn merge(reports: impl IntoIterator<Item = Vec<Finding>>) -> Merged {
    let mut kept: HashMap<String, Finding> = HashMap::new();
    let mut duplicates = 0;
    for finding in reports.into_iter().flatten() {
        match kept.get_mut(&finding.fingerprint) {
            Some(existing) => {
                duplicates += 1;
                if earlier(&finding, existing) {
                    *existing = finding;
                }
            }
            None => {
                kept.insert(finding.fingerprint.clone(), finding);
            }
        }
    }
    let mut findings: Vec<Finding> = kept.into_values().collect();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Merged {
        findings,
        duplicates,
    }
}

/// True when `a` should be kept over `b` (same fingerprint): the older commit, then the one
/// first in report order. A finding with a date wins over one without.
fn earlier(a: &Finding, b: &Finding) -> bool {
    let date = |f: &Finding| {
        f.location
            .origin
            .date
            .as_deref()
            .and_then(parse_date)
            .unwrap_or(i64::MAX)
    };
    (date(a), a.sort_key()) < (date(b), b.sort_key())
}
