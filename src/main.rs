//! The `keysweep` binary: parse arguments, run a command, map the outcome to an exit code
//! (0 clean, 1 findings, 2 usage or input error with no findings).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;

use keysweep::cli::{Cli, ColorChoice, Command, CommonArgs, RulesCommand, ScanArgs};
use keysweep::detect::Detector;
use keysweep::input::archive::{self, ArchiveOptions};
use keysweep::input::fs::WalkOptions;
use keysweep::report::progress::Progress;
use keysweep::report::{self, Style};
use keysweep::rules::{self, Rule};
use keysweep::scan::{self, Outcome, ScanOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("keysweep: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => cmd_scan(args),
        Command::Rules(RulesCommand::List { rules }) => cmd_rules_list(rules.as_deref()),
        Command::Rules(RulesCommand::Check { dir }) => cmd_rules_check(dir.as_deref()),
    }
}

/// Built-in rules plus those of `extra`, compiled into a detector.
fn load_rules(extra: Option<&Path>) -> Result<Vec<Rule>> {
    let mut all = rules::builtin();
    if let Some(dir) = extra {
        all.extend(rules::load_dir(dir)?);
    }
    rules::check_unique(&all)?;
    Ok(all)
}

fn cmd_scan(args: ScanArgs) -> Result<u8> {
    let detector = Detector::new(load_rules(args.common.rules.as_deref())?)?;
    let progress = show_progress(&args.common).then(|| Arc::new(Progress::new()));
    let opts = ScanOptions {
        walk: WalkOptions {
            no_ignore: args.no_ignore,
            follow_links: args.follow,
            threads: args.common.threads,
        },
        archive: ArchiveOptions {
            depth: args.archive_depth,
            max_bytes: args.max_archive_bytes,
            max_ratio: args.max_ratio,
        },
        observer: progress.clone().map(|p| p as Arc<dyn scan::Observer>),
        ..ScanOptions::default()
    };
    let outcome = scan::scan_paths(&detector, &args.paths, &opts);
    if let Some(progress) = progress {
        progress.finish();
    }
    finish(outcome, &args.common)
}

/// The progress line is drawn only on a terminal's stderr, and not when asked for quiet.
fn show_progress(common: &CommonArgs) -> bool {
    !common.no_progress && !common.quiet && io::stderr().is_terminal()
}

/// Reports an outcome and returns the exit code.
fn finish(mut outcome: Outcome, common: &CommonArgs) -> Result<u8> {
    for warning in &outcome.warnings {
        eprintln!("keysweep: warning: {warning}");
    }
    for err in &outcome.errors {
        eprintln!("keysweep: error: {err}");
    }
    if !common.show_secrets {
        outcome.findings.iter_mut().for_each(|f| f.redact());
    }
    write_report(&outcome, common)?;
    if !common.quiet {
        eprintln!("{}", summary(&outcome));
    }
    Ok(if !outcome.findings.is_empty() {
        u8::try_from(common.exit_code).unwrap_or(1)
    } else if !outcome.errors.is_empty() {
        2
    } else {
        0
    })
}

fn write_report(outcome: &Outcome, common: &CommonArgs) -> Result<()> {
    let (mut out, to_terminal): (Box<dyn Write>, bool) = match &common.output {
        Some(path) => (
            Box::new(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create report file {}", path.display())
            })?)),
            false,
        ),
        None => (
            Box::new(BufWriter::new(io::stdout().lock())),
            io::stdout().is_terminal(),
        ),
    };
    let color = match common.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    report::write(&mut out, &outcome.findings, common.format, Style { color })
        .and_then(|()| out.flush())
        .context("cannot write the report")
}

fn summary(outcome: &Outcome) -> String {
    let s = &outcome.stats;
    let mut line = format!(
        "keysweep: scanned {} file{} ({:.1} MB) in {:.2} s: {} finding{}",
        s.files,
        if s.files == 1 { "" } else { "s" },
        s.bytes as f64 / 1e6,
        s.elapsed.as_secs_f64(),
        outcome.findings.len(),
        if outcome.findings.len() == 1 { "" } else { "s" },
    );
    if let Some(ignored) = s.ignored.filter(|&n| n > 0) {
        line.push_str(&format!(
            "; {ignored} file{} skipped by ignore rules (--no-ignore scans them)",
            if ignored == 1 { "" } else { "s" }
        ));
    }
    if s.archives > 0 {
        line.push_str(&format!(
            "; {} archive{} opened ({} unpacked)",
            s.archives,
            if s.archives == 1 { "" } else { "s" },
            archive::human_bytes(s.decompressed)
        ));
    }
    if !outcome.warnings.is_empty() {
        line.push_str(&format!("; {} warning(s)", outcome.warnings.len()));
    }
    if !outcome.errors.is_empty() {
        line.push_str(&format!("; {} input error(s)", outcome.errors.len()));
    }
    line
}

fn cmd_rules_list(extra: Option<&Path>) -> Result<u8> {
    let rules = load_rules(extra)?;
    let mut out = io::stdout().lock();
    for rule in &rules {
        let trigger = if rule.syntax.keywords.is_empty() {
            "near a key ID".to_string()
        } else {
            format!("keywords: {}", rule.syntax.keywords.join(", "))
        };
        writeln!(out, "{}\t{}\t{}", rule.id(), rule.syntax.name, trigger)?;
    }
    Ok(0)
}

fn cmd_rules_check(dir: Option<&Path>) -> Result<u8> {
    let rules = load_rules(dir)?;
    let checked: Vec<String> = match dir {
        Some(_) => rules
            .iter()
            .filter(|r| !r.is_builtin())
            .map(|r| r.id().to_string())
            .collect(),
        None => rules.iter().map(|r| r.id().to_string()).collect(),
    };
    let detector = Detector::new(rules)?;
    let failures = detector.check_examples(&checked);
    let total: usize = detector
        .rules()
        .iter()
        .filter(|r| checked.iter().any(|c| c == r.id()))
        .map(|r| r.syntax.examples.len() + r.syntax.counter_examples.len())
        .sum();
    for failure in &failures {
        println!("FAIL {failure}");
    }
    println!(
        "{} rules, {} examples checked, {} failed",
        checked.len(),
        total,
        failures.len()
    );
    Ok(if failures.is_empty() { 0 } else { 1 })
}
