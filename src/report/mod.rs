//! Reporters: each output format is one writer over the sorted findings.

pub mod html;
mod json;
pub mod read;
pub mod sarif;
mod text;

use std::io::{self, Write};

use crate::config::ScanRoot;
use crate::finding::Finding;
use crate::rules::Rule;

pub use text::Style;

/// Output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable, grouped by file.
    Text,
    /// One JSON array of findings.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// SARIF 2.1.0, for code scanning (GitHub, GitLab, IDEs).
    Sarif,
    /// A standalone HTML incident report: keys by account, blast radius, places, timeline,
    /// playbooks; one file, no network.
    Html,
}

/// What reporters need besides the findings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// Presentation of the text report.
    pub style: Style,
    /// The rules in use (SARIF lists every one).
    pub rules: &'a [Rule],
    /// The scan root that SARIF locations are relative to (`None`: paths as found).
    pub root: Option<&'a ScanRoot>,
    /// Findings not counted (inline marker, allow-list, baseline), each with its
    /// `suppression`: SARIF lists them as suppressed results; JSON and JSON Lines only with
    /// [`Self::include_suppressed`]; the text report counts them in the summary only.
    pub suppressed: &'a [Finding],
    /// `--include-suppressed`: JSON and JSON Lines list the suppressed findings too.
    pub include_suppressed: bool,
    /// Secrets are shown in full (`--show-secrets`); the HTML report redacts them otherwise.
    pub show_secrets: bool,
}

/// Writes `findings` in `format`.
pub fn write(
    out: &mut dyn Write,
    findings: &[Finding],
    format: Format,
    context: &Context<'_>,
) -> io::Result<()> {
    let with_suppressed = || {
        let mut all: Vec<&Finding> = findings.iter().collect();
        if context.include_suppressed {
            all.extend(context.suppressed);
            all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        }
        all
    };
    match format {
        Format::Text => text::write(out, findings, context.style),
        Format::Json => json::write_array(out, &with_suppressed()),
        Format::Jsonl => json::write_lines(out, &with_suppressed()),
        Format::Sarif => sarif::write(
            out,
            findings,
            context.suppressed,
            context.rules,
            context.root,
        ),
        Format::Html => html::write(
            out,
            findings,
            &html::Page {
                now: std::time::SystemTime::now(),
                show_secrets: context.show_secrets,
            },
        ),
    }
}
