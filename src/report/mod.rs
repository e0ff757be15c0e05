//! Reporters: each output format is one writer over the sorted findings.

mod json;
pub mod progress;
mod text;

use std::io::{self, Write};

use crate::finding::Finding;

pub use text::Style;

/// Output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, grouped by file.
    Text,
    /// One JSON array of findings.
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// Writes `findings` in `format`.
pub fn write(
    out: &mut dyn Write,
    findings: &[Finding],
    format: Format,
    style: Style,
) -> io::Result<()> {
    match format {
        Format::Text => text::write(out, findings, style),
        Format::Json => json::write_array(out, findings),
        Format::Jsonl => json::write_lines(out, findings),
    }
}
