//! What a scanning command shows: the report (stdout or `--output`), the pipeline's notes
//! and the summary line on stderr, and the exit code.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};

use keysweep::finding::Finding;
use keysweep::input::archive;
use keysweep::pipeline::{self, Suppressed, Verdict};
use keysweep::report::{self, Style};
use keysweep::scan::Outcome;
use keysweep::term::{counts, plural};

use crate::cli::{ColorChoice, CommonArgs};
use crate::setup::Setup;

/// Runs the post-scan pipeline, reports, and returns the exit code.
pub fn finish(
    outcome: Outcome,
    common: &CommonArgs,
    setup: &Setup,
    allow_policy_change: bool,
) -> Result<u8> {
    let mut opts = pipeline::Options::new(&setup.config, &setup.root);
    opts.honour_allow = !common.no_allow;
    opts.own_files = common.baseline.iter().map(|p| p.as_path()).collect();
    opts.write_baseline = common.write_baseline.as_deref();
    opts.baseline = setup
        .baseline
        .as_ref()
        .map(|b| (b, setup.baseline_label.as_str()));
    opts.review = setup.base.as_ref().map(|_| pipeline::Review {
        changes: &setup.policy_changes,
        accept: allow_policy_change,
    });
    opts.verify = common.verify.map(Into::into);
    opts.blast_radius = common.blast_radius;
    opts.my_accounts = &common.my_accounts;
    opts.show_secrets = common.show_secrets;
    let processed = pipeline::run(outcome, &setup.detector, &opts, &mut |event| {
        print_event(event, common.print.quiet)
    })?;
    write_report(&processed.outcome, &processed.suppressed, common, setup)?;
    if !common.print.quiet {
        note!(
            "{}",
            keysweep::term::escape(&summary(
                &processed.outcome,
                &processed.counts,
                processed.policy_changes,
                allow_policy_change,
                &setup.config_label,
                setup.scope.as_deref()
            ))
        );
    }
    Ok(exit_code(processed.verdict(), common))
}

/// Prints what the pipeline reports on stderr.
pub fn print_event(event: pipeline::Event<'_>, quiet: bool) {
    use keysweep::verify;
    use pipeline::Event;
    match event {
        Event::Warning(w) => note!("keysweep: warning: {w}"),
        Event::NotScanned(s) => note!("keysweep: not scanned: {s}"),
        Event::InputError(e) => note!("keysweep: error: {e}"),
        Event::LiveVerification => note!(
            "keysweep: warning: --verify live signs STS GetCallerIdentity with each found \
             key pair: it uses the found secrets and leaves a CloudTrail event in the \
             owners' accounts"
        ),
        Event::Verified { mode, summary } if !quiet => note!(
            "keysweep: verify {}: {}",
            verify::mode_name(mode),
            keysweep::term::escape(&summary.to_string())
        ),
        Event::BlastRadius(summary) if !quiet => note!("keysweep: blast radius: {summary}"),
        _ => {}
    }
}

/// 1 (or `--exit-code`) when findings remain; else 2 when anything was not scanned (an
/// unreadable input, a member past a limit, corrupt data, a skipped special file) unless
/// `--allow-incomplete`; else 0: nothing found and every byte read.
pub fn exit_code(verdict: Verdict, common: &CommonArgs) -> u8 {
    match verdict {
        Verdict::Findings => u8::try_from(common.print.exit_code).unwrap_or(1),
        Verdict::Incomplete if !common.allow_incomplete => 2,
        _ => 0,
    }
}

/// The report's destination: FILE, or stdout (and whether that is a terminal).
pub fn open_output(path: Option<&Path>) -> Result<(Box<dyn Write>, bool)> {
    Ok(match path {
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
    })
}

pub fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Writes a report; a reader that stopped early (`keysweep ... | head`) is not an error.
pub fn emit(
    out: &mut dyn Write,
    findings: &[keysweep::finding::Finding],
    format: report::Format,
    context: &report::Context<'_>,
) -> Result<()> {
    match report::write(out, findings, format, context).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write the report"),
    }
}

pub fn write_report(
    outcome: &Outcome,
    suppressed: &[Finding],
    common: &CommonArgs,
    setup: &Setup,
) -> Result<()> {
    let (mut out, to_terminal) = open_output(common.output.as_deref())?;
    let context = report::Context {
        style: Style {
            color: use_color(common.print.color, to_terminal),
        },
        rules: setup.detector.rules(),
        root: Some(&setup.root),
        suppressed,
        include_suppressed: common.include_suppressed,
        show_secrets: common.show_secrets,
    };
    emit(&mut *out, &outcome.findings, common.format.into(), &context)
}

fn summary(
    outcome: &Outcome,
    suppressed: &Suppressed,
    policy_changes: usize,
    allow_policy_change: bool,
    config: &str,
    scope: Option<&str>,
) -> String {
    let s = &outcome.stats;
    let objects = s.s3.as_ref().map_or(0, |s3| s3.objects);
    let files = s.files.saturating_sub(objects);
    let what = match &s.s3 {
        None => format!(
            "{files} {}{}",
            if s.blobs { "blob" } else { "file" },
            plural(files)
        ),
        Some(_) if files == 0 => format!("{objects} S3 object{}", plural(objects)),
        Some(_) => format!(
            "{files} file{} and {objects} S3 object{}",
            plural(files),
            plural(objects)
        ),
    };
    let mut line = format!(
        "keysweep: scanned {what} ({:.1} MB){} in {:.2} s: {} finding{}",
        s.bytes as f64 / 1e6,
        scope.map(|w| format!(" {w}")).unwrap_or_default(),
        s.elapsed.as_secs_f64(),
        outcome.findings.len(),
        plural(outcome.findings.len() as u64),
    );
    if let Some(ignored) = s.ignored.filter(|&n| n > 0) {
        line.push_str(&format!(
            "; {ignored} file{} skipped by ignore rules (--no-ignore scans them)",
            plural(ignored)
        ));
    } else if s.files == 0 && !s.blobs && outcome.errors.is_empty() && s.excluded == 0 {
        line.push_str(if scope.is_some() {
            "; the directory has no files"
        } else {
            "; nothing to scan"
        });
    }
    if s.excluded > 0 {
        line.push_str(&format!(
            "; {} path{} left out by [scan] exclude",
            s.excluded,
            plural(s.excluded)
        ));
    }
    if s.archives > 0 {
        line.push_str(&format!(
            "; {} archive{} opened ({} unpacked)",
            s.archives,
            plural(s.archives),
            archive::human_bytes(s.decompressed)
        ));
    }
    if let Some(s3) = &s.s3 {
        line.push_str(&format!(
            "; S3: {} LIST + {} GET request{} ({} other), {} downloaded",
            s3.list_requests,
            s3.get_requests,
            plural(s3.get_requests),
            s3.other_requests,
            archive::human_bytes(s3.bytes_read)
        ));
        if s3.filtered > 0 {
            line.push_str(&format!(
                ", {} key{} left out by --include/--exclude",
                s3.filtered,
                plural(s3.filtered)
            ));
        }
        let not_scanned = s3.not_scanned();
        if not_scanned > 0 {
            let why = counts(&[
                (s3.archived, "in Glacier/Deep Archive"),
                (s3.failed, "unreadable"),
                (s3.interrupted, "interrupted"),
            ]);
            line.push_str(&format!(
                ", {not_scanned} object{} not scanned ({})",
                plural(not_scanned),
                why.join(", ")
            ));
        }
        if s3.was_interrupted {
            line.push_str(", INTERRUPTED");
        }
    }
    if !outcome.warnings.is_empty() {
        line.push_str(&format!("; {} warning(s)", outcome.warnings.len()));
    }
    let unscanned = s
        .unscanned
        .max((outcome.errors.len() + outcome.skipped.len()) as u64);
    if unscanned > 0 {
        line.push_str(&format!(
            "; {unscanned} item{} NOT scanned (see above)",
            plural(unscanned)
        ));
    }
    let dropped = counts(&[
        (suppressed.inline as u64, "by keysweep:allow"),
        (suppressed.baseline as u64, "by baseline"),
        (suppressed.allowed as u64, "by config allow-list"),
        (suppressed.excluded as u64, "in excluded paths"),
        (
            suppressed.own_files as u64,
            "key ID{s} in keysweep's config or baseline",
        ),
    ]);
    if !dropped.is_empty() {
        line.push_str(&format!(
            "; {} suppressed ({})",
            suppressed.total(),
            dropped.join(", ")
        ));
    }
    if policy_changes > 0 {
        line.push_str(&format!(
            "; {policy_changes} policy change{} ({})",
            plural(policy_changes as u64),
            if allow_policy_change {
                "accepted with --allow-policy-change"
            } else {
                "failing: review, then --allow-policy-change"
            }
        ));
    }
    if !outcome.errors.is_empty() {
        line.push_str(&format!("; {} input error(s)", outcome.errors.len()));
    }
    line.push_str(&format!("; config: {config}"));
    line
}
