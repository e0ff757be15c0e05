//! The human-readable report: findings grouped by file, one line each, secrets redacted
//! (unless `--show-secrets`), colour only when writing to a terminal.

use std::io::{self, Write};

use crate::finding::{Finding, Severity, VerificationStatus};
use crate::term;

/// Longest free text (author, date, verification message) shown for one finding.
const MAX_FREE_TEXT: usize = 200;

/// Presentation choices of the text report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

fn paint(style: Style, code: &str, text: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn severity_code(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
    }
}

/// A commit id as shown: its first 12 characters, escaped.
fn short_commit(commit: &str) -> String {
    term::escape_short(commit, 12)
        .trim_end_matches('…')
        .to_string()
}

/// The place a finding's group is headed by: path, archive member, commit; every part from
/// the scanned data escaped for the terminal (see [`crate::term`]).
fn group_of(f: &Finding) -> String {
    let o = &f.location.origin;
    let mut head = o.display_path();
    if let Some(member) = &o.archive_member {
        head = format!("{head}!{}", term::escape(member));
    }
    if let Some(version) = &o.version_id {
        head = format!("{head} @ version {version}");
    }
    if let Some(commit) = &o.commit {
        head = format!("{head} @ {}", short_commit(commit));
    }
    head
}

pub(super) fn write(out: &mut dyn Write, findings: &[Finding], style: Style) -> io::Result<()> {
    let mut current: Option<String> = None;
    for f in findings {
        let group = group_of(f);
        if current.as_deref() != Some(group.as_str()) {
            if current.is_some() {
                writeln!(out)?;
            }
            writeln!(out, "{}", paint(style, "1;35", &group))?;
            current = Some(group);
        }
        let mut line = format!(
            "  {}:{}  {}  {}",
            f.location.line,
            f.location.column,
            paint(style, severity_code(f.severity), f.severity.as_str()),
            f.kind.as_str(),
        );
        if let Some(key) = &f.key_id {
            line.push_str(&format!("  {}", paint(style, "1", &term::escape(key))));
        }
        if let Some(secret) = &f.secret {
            line.push_str(&format!("  secret {}", term::escape(secret)));
        }
        if let Some(token) = &f.session_token {
            line.push_str(&format!("  token {}", term::escape(token)));
        }
        if let Some(user) = &f.user_name {
            line.push_str(&format!("  user {}", term::escape(user)));
        }
        if let Some(account) = &f.account_id {
            line.push_str(&format!("  account {}", term::escape(account)));
        }
        if f.canary {
            line.push_str("  CANARY");
        }
        if let Some(change) = &f.policy_change {
            line.push_str(&format!("  {}", term::escape(change)));
        }
        if let Some(decoding) = &f.location.origin.decoded_from {
            line.push_str(&format!("  (decoded from {})", term::escape(decoding)));
        }
        let v = &f.verification;
        if v.status != VerificationStatus::NotChecked {
            line.push_str(&format!(
                "  verified: {}",
                paint(style, "1", v.status.as_str())
            ));
            if let Some(arn) = v.arn.as_ref().or(v.message.as_ref()) {
                line.push_str(&format!(" ({})", term::escape_short(arn, MAX_FREE_TEXT)));
            }
        }
        line.push_str(&format!("  [{}]", term::escape(&f.rule)));
        writeln!(out, "{line}")?;
        let o = &f.location.origin;
        if let Some(commit) = &o.commit {
            let mut provenance = format!("      introduced in {}", short_commit(commit));
            if let Some(author) = &o.author {
                provenance.push_str(&format!(
                    " by {}",
                    term::escape_short(author, MAX_FREE_TEXT)
                ));
            }
            if let Some(date) = &o.date {
                provenance.push_str(&format!(" on {}", term::escape_short(date, MAX_FREE_TEXT)));
            }
            match o.present_at_head {
                Some(true) => provenance.push_str("; still at HEAD"),
                Some(false) => provenance.push_str("; gone from HEAD (still in history)"),
                None => {}
            }
            writeln!(out, "{provenance}")?;
        } else if let (Some(date), true) = (&o.date, crate::config::is_url(&o.path)) {
            writeln!(out, "      object written {date}")?;
        }
        for line in crate::verify::blast::text_lines(f) {
            writeln!(out, "      {line}")?;
        }
        if let Some(step) = f.remediation.first() {
            writeln!(out, "      next: {}", term::escape(&step.command))?;
        }
    }
    Ok(())
}
