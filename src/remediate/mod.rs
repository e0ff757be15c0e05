//! Remediation: for each finding, the ordered steps that shut the key down — identify the
//! owner, deactivate, investigate in CloudTrail, rotate, delete, harden — each an exact `aws`
//! CLI command with the key ID, the user (or role) name and the CloudTrail time window filled
//! in; and the playbooks (`md` checklist, `sh` script) `keysweep remediate` writes from a
//! report. Commands follow aws-facts.md §4; they are identical in every language, only the
//! explanations are translated.
//!
//! One job per module:
//! - [`window`]: the CloudTrail window, from the leak time (commit date, file time) to now;
//! - `case`: whose key it is (IAM user, root, session, Bedrock, SSO), from the finding and
//!   its verified ARN;
//! - `command`: quoting and the command builders every step uses;
//! - `steps`, `bedrock`, `sso`: the steps, pure functions of a finding, its window and a
//!   language;
//! - `text`: the translated strings that are not steps (titles, labels, summaries);
//! - [`read`]: reading and checking a JSON / JSON Lines report;
//! - `group`: findings merged per key;
//! - `markdown`, `shell`: the two playbook renderers.

use std::time::SystemTime;

use crate::finding::{Finding, Kind, Step};

/// Picks the English or Korean text; only the chosen one is evaluated.
macro_rules! tr {
    ($lang:expr, $en:expr, $ko:expr $(,)?) => {
        match $lang {
            $crate::remediate::Lang::En => $en,
            $crate::remediate::Lang::Ko => $ko,
        }
    };
}

mod bedrock;
mod case;
mod command;
mod group;
mod markdown;
pub mod read;
mod shell;
mod sso;
mod steps;
mod text;
pub mod window;

#[cfg(test)]
mod testing;

pub use case::{case_of, Case};
pub use group::{group, KeyGroup};
pub use markdown::markdown;
pub use read::{read_report, validate, ReportError};
pub use shell::{shell, StepClass, PLACEHOLDERS};
pub use steps::steps;
pub use window::{leak_time, Window};

/// Language of the explanations (`why`, headings, messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Korean (한국어).
    Ko,
}

/// Playbook formats of `keysweep remediate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybookFormat {
    /// A Markdown checklist, grouped per key.
    Md,
    /// A bash script: lookups run, changes only with `--execute`.
    Sh,
    /// A standalone HTML incident report (the same page as `scan --format html`).
    Html,
}

/// Attaches remediation steps (English) to every finding, with the CloudTrail window from
/// each finding's leak time to `now`.
pub fn attach(findings: &mut [Finding], now: SystemTime) {
    for finding in findings {
        if finding.kind == Kind::PolicyChange {
            finding.remediation = vec![command::step(
                Step::Review,
                "The reviewed range changes what keysweep reports. Review the change; once it is \
                 approved, re-run the gate with --allow-policy-change.",
                "# review the policy change, then re-run with --allow-policy-change",
            )];
            continue;
        }
        let window = Window::new(leak_time(finding), now);
        finding.remediation = steps(finding, window, Lang::En);
    }
}
