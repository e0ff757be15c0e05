//! Baselines: an earlier JSON report whose findings are accepted, so a gate fails only on new
//! ones.
//!
//! A finding is known when its fingerprint is in the baseline. Fingerprints hash what was
//! found and the file it is in, not the line, so moving or re-indenting the text keeps them;
//! changing the key makes a new finding. Fingerprints are computed before redaction, so a
//! redacted report (the default) works as a baseline. Baselines written before fingerprints
//! became SHA-256 (16 hex digits) are refused with a message saying how to rewrite them.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::finding::Finding;
use crate::report::{self, Format};

/// A baseline that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read baseline (make one with --write-baseline FILE): {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}: not a keysweep JSON report (array or one object per line): {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: cannot write baseline: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The one field a baseline needs of each finding; the rest of the report is ignored.
#[derive(Debug, Deserialize)]
struct Entry {
    fingerprint: String,
}

/// The fingerprints of an earlier report.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    /// Reads a JSON report (`--format json` or `jsonl`).
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(&text).map_err(|message| BaselineError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses a report: a JSON array of findings, or one finding per line.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let entries: Vec<Entry> = report::read::records(text).map_err(|e| e.to_string())?;
        if let Some(old) = entries
            .iter()
            .find(|e| e.fingerprint.len() == crate::finding::OLD_FINGERPRINT_HEX)
        {
            return Err(format!(
                "fingerprint {:?} is in the old 64-bit format, which keysweep no longer \
                 computes (it could be forged): rewrite the baseline with the current \
                 version, reviewing what it accepts: keysweep scan ... --write-baseline FILE \
                 (or keysweep git ... --write-baseline FILE)",
                old.fingerprint
            ));
        }
        if let Some(bad) = entries
            .iter()
            .find(|e| !crate::grammar::Field::Fingerprint.matches(&e.fingerprint))
        {
            return Err(format!(
                "{:?} is not a keysweep fingerprint ({} hex digits)",
                crate::term::escape_short(&bad.fingerprint, 80),
                crate::finding::FINGERPRINT_HEX
            ));
        }
        Ok(Baseline {
            fingerprints: entries
                .into_iter()
                .map(|e| e.fingerprint.to_ascii_lowercase())
                .collect(),
        })
    }

    /// Number of distinct fingerprints.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// True when the baseline holds `finding`.
    pub fn contains(&self, finding: &Finding) -> bool {
        self.fingerprints
            .contains(&finding.fingerprint.to_ascii_lowercase())
    }

    /// Moves the findings the baseline holds to `suppressed` (justified by `name`, the
    /// baseline as given); returns how many.
    pub fn filter(
        &self,
        findings: &mut Vec<Finding>,
        name: &str,
        suppressed: &mut Vec<Finding>,
    ) -> usize {
        let before = suppressed.len();
        let mut kept = Vec::with_capacity(findings.len());
        for mut f in findings.drain(..) {
            if f.kind != crate::finding::Kind::PolicyChange && self.contains(&f) {
                f.suppression = Some(crate::finding::Suppression {
                    kind: crate::finding::SuppressionKind::External,
                    justification: format!("accepted in the baseline {name}"),
                });
                suppressed.push(f);
            } else {
                kept.push(f);
            }
        }
        *findings = kept;
        suppressed.len() - before
    }
}

/// Writes `findings` to `path` as a baseline: a JSON report with secrets always redacted.
pub fn write(path: &Path, findings: &[Finding]) -> Result<(), BaselineError> {
    let fail = |source| BaselineError::Write {
        path: path.to_path_buf(),
        source,
    };
    let redacted: Vec<Finding> = findings
        .iter()
        .cloned()
        .map(|mut f| {
            f.redact();
            f
        })
        .collect();
    let mut out = BufWriter::new(File::create(path).map_err(fail)?);
    report::write(
        &mut out,
        &redacted,
        Format::Json,
        &report::Context::default(),
    )
    .and_then(|()| out.flush())
    .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_arrays_and_lines() {
        let (a, b) = ("00AA".repeat(8), "11bb".repeat(8));
        let array = format!(r#"[{{"fingerprint": "{a}", "rule": "x"}}, {{"fingerprint": "{b}"}}]"#);
        assert_eq!(Baseline::parse(&array).unwrap().len(), 2);
        let lines = format!("{{\"fingerprint\": \"{a}\"}}\n\n{{\"fingerprint\": \"{b}\"}}\n");
        assert_eq!(Baseline::parse(&lines).unwrap().len(), 2);
        let old = Baseline::parse(r#"[{"fingerprint": "0123456789abcdef"}]"#).unwrap_err();
        assert!(old.contains("--write-baseline"), "{old}");
        assert!(Baseline::parse("[{\"rule\": \"x\"}]").is_err());
        assert!(Baseline::parse("{\"fingerprint\": 1}").is_err());
    }
}
