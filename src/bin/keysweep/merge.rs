//! `keysweep merge`: reports of several runs (`--shard` jobs) joined into one.

use std::io;

use anyhow::{Context, Result};

use keysweep::config::ScanRoot;
use keysweep::report::{self, Style};
use keysweep::term::plural;

use crate::output::{emit, open_output, use_color};
use crate::setup::load_rules;

pub fn run(args: crate::cli::MergeArgs) -> Result<u8> {
    let mut reports = Vec::new();
    let mut errors = 0usize;
    for path in &args.reports {
        let (name, text) = if keysweep::input::fs::is_stdin(path) {
            let mut text = String::new();
            io::Read::read_to_string(&mut io::stdin().lock(), &mut text)
                .map(|_| ("<stdin>".to_string(), text))
                .context("cannot read a report from stdin")
        } else {
            std::fs::read_to_string(path)
                .map(|text| (path.display().to_string(), text))
                .with_context(|| format!("cannot read report {}", path.display()))
        }
        .unwrap_or_else(|e| {
            note!("keysweep: error: {e:#}");
            errors += 1;
            (String::new(), String::new())
        });
        if name.is_empty() {
            continue;
        }
        match keysweep::remediate::read_report(&text) {
            Ok(findings) => reports.push(findings),
            Err(e) => {
                note!("keysweep: error: {name}: cannot read the report: {e}");
                errors += 1;
            }
        }
    }
    let read = reports.len();
    let merged = keysweep::merge::merge(reports);
    let rules = load_rules(args.rules.as_deref())?;
    let root = ScanRoot::for_paths(&[]).context("cannot read the working directory")?;
    let (mut out, to_terminal) = open_output(args.output.as_deref())?;
    let context = report::Context {
        style: Style {
            color: use_color(args.print.color, to_terminal),
        },
        rules: &rules,
        root: Some(&root),
        suppressed: &[],
        include_suppressed: false,
        show_secrets: false,
    };
    emit(&mut *out, &merged.findings, args.format.into(), &context)?;
    if !args.print.quiet {
        note!(
            "keysweep: merged {read} report{}: {} finding{} ({} duplicate{} dropped){}",
            plural(read as u64),
            merged.findings.len(),
            plural(merged.findings.len() as u64),
            merged.duplicates,
            plural(merged.duplicates as u64),
            if errors > 0 {
                format!("; {errors} report(s) unreadable")
            } else {
                String::new()
            }
        );
    }
    Ok(if !merged.findings.is_empty() {
        u8::try_from(args.print.exit_code).unwrap_or(1)
    } else if errors > 0 {
        2
    } else {
        0
    })
}
