//! JSON and JSON Lines reports: the `Finding` fields, as documented in README.md.

use std::io::{self, Write};

use crate::finding::Finding;

pub(super) fn write_array(out: &mut dyn Write, findings: &[&Finding]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, findings)?;
    writeln!(out)
}

pub(super) fn write_lines(out: &mut dyn Write, findings: &[&Finding]) -> io::Result<()> {
    for finding in findings {
        serde_json::to_writer(&mut *out, finding)?;
        writeln!(out)?;
    }
    Ok(())
}
