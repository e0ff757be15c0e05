//! The `keysweep` binary: parse arguments, run a command, map the outcome to an exit code
//! (0 clean, 1 findings, 2 usage or input error with no findings).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;

use keysweep::baseline::{self, Baseline};
use keysweep::cli::{
    Cli, ColorChoice, Command, CommonArgs, GitArgs, RemediateArgs, RulesCommand, ScanArgs,
};
use keysweep::config::{Config, ScanRoot};
use keysweep::detect::Detector;
use keysweep::input::archive::{self, ArchiveOptions};
use keysweep::input::fs::WalkOptions;
use keysweep::input::git::{self, GitOptions, Selection};
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
        Command::Git(args) => cmd_git(args),
        Command::Rules(RulesCommand::List { rules }) => cmd_rules_list(rules.as_deref()),
        Command::Rules(RulesCommand::Check { dir }) => cmd_rules_check(dir.as_deref()),
        Command::Remediate(args) => cmd_remediate(args),
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

/// What a scanning command sets up before it scans: the config, the baseline, the scan
/// root and the detector (built-in rules plus `--rules`, else the config's `rules_dir`).
struct Setup {
    config: Config,
    baseline: Option<Baseline>,
    root: ScanRoot,
    detector: Detector,
}

impl Setup {
    fn new(common: &CommonArgs, root: ScanRoot) -> Result<Setup> {
        let config = Config::discover(common.config.as_deref(), &root)?;
        let extra = common.rules.as_deref().or(config.rules_dir.as_deref());
        let detector = Detector::new(load_rules(extra)?)?;
        let baseline = common.baseline.as_deref().map(Baseline::load).transpose()?;
        Ok(Setup {
            config,
            baseline,
            root,
            detector,
        })
    }
}

/// What the filters after the scan dropped, for the summary line.
#[derive(Debug, Default)]
struct Suppressed {
    inline: usize,
    baseline: usize,
    allowed: usize,
    excluded: usize,
    own_files: usize,
}

fn cmd_scan(args: ScanArgs) -> Result<u8> {
    let root = ScanRoot::for_paths(&args.paths).context("cannot read the working directory")?;
    let setup = Setup::new(&args.common, root)?;
    let detector = &setup.detector;
    let progress = show_progress(&args.common).then(|| Arc::new(Progress::new()));
    let opts = ScanOptions {
        walk: WalkOptions {
            no_ignore: args.no_ignore,
            follow_links: args.follow,
            threads: args.common.threads,
        },
        archive: archive_options(&args, &setup.config),
        decode_depth: args.decode_depth,
        observer: progress.clone().map(|p| p as Arc<dyn scan::Observer>),
        ..ScanOptions::default()
    };
    let outcome = scan::scan_paths(detector, &args.paths, &opts);
    if let Some(progress) = progress {
        progress.finish();
    }
    finish(outcome, &args.common, &setup)
}

/// Archive limits: the command line wins over `.keysweep.toml`, which wins over the defaults.
fn archive_options(args: &ScanArgs, config: &Config) -> ArchiveOptions {
    let limits = &config.archive;
    let defaults = ArchiveOptions::default();
    ArchiveOptions {
        depth: args
            .archive_depth
            .or(limits.archive_depth)
            .unwrap_or(defaults.depth),
        max_bytes: args
            .max_archive_bytes
            .or(limits.max_archive_bytes)
            .unwrap_or(defaults.max_bytes),
        max_ratio: args
            .max_ratio
            .or(limits.max_ratio.map(|r| r.ceil() as u64))
            .unwrap_or(defaults.max_ratio),
    }
}

fn cmd_git(args: GitArgs) -> Result<u8> {
    let selection = if args.staged {
        Selection::Staged
    } else if let Some(range) = &args.range {
        let (base, head) = git::parse_range(range)?;
        Selection::Range { base, head }
    } else if let Some(base) = &args.since_commit {
        Selection::Range {
            base: base.clone(),
            head: "HEAD".into(),
        }
    } else {
        Selection::History {
            all_objects: args.all_objects,
        }
    };
    let root = ScanRoot::repository(&args.repo).context("cannot read the working directory")?;
    let setup = Setup::new(&args.common, root)?;
    let opts = GitOptions {
        selection,
        threads: args.common.threads,
    };
    let scanned = git::scan(&setup.detector, &args.repo, &opts)?;
    for warning in &scanned.warnings {
        eprintln!("keysweep: warning: {warning}");
    }
    finish(scanned.outcome, &args.common, &setup)
}

/// The progress line is drawn only on a terminal's stderr, and not when asked for quiet.
fn show_progress(common: &CommonArgs) -> bool {
    !common.no_progress && !common.quiet && io::stderr().is_terminal()
}

/// Filters, reports an outcome and returns the exit code.
fn finish(mut outcome: Outcome, common: &CommonArgs, setup: &Setup) -> Result<u8> {
    for warning in &outcome.warnings {
        eprintln!("keysweep: warning: {warning}");
    }
    for err in &outcome.errors {
        eprintln!("keysweep: error: {err}");
    }
    // Inline `keysweep:allow` markers, unless `--no-allow` (audits see everything).
    let before = outcome.findings.len();
    if !common.no_allow {
        outcome.findings.retain(|f| !f.inline_allowed);
    }
    let inline = before - outcome.findings.len();
    let own_files: Vec<&Path> = common.baseline.iter().map(|p| p.as_path()).collect();
    let filtered = setup.config.filter(
        &mut outcome.findings,
        &setup.root,
        !common.no_allow,
        &own_files,
    );
    if let Some(path) = &common.write_baseline {
        baseline::write(path, &outcome.findings)?;
    }
    let suppressed = Suppressed {
        inline,
        baseline: setup
            .baseline
            .as_ref()
            .map_or(0, |b| b.filter(&mut outcome.findings)),
        allowed: filtered.allowed,
        excluded: filtered.excluded,
        own_files: filtered.own_files,
    };
    respond(&mut outcome.findings, common, &setup.config)?;
    if !common.show_secrets {
        outcome.findings.iter_mut().for_each(|f| f.redact());
    }
    write_report(&outcome, common, setup)?;
    if !common.quiet {
        eprintln!("{}", summary(&outcome, &suppressed));
    }
    Ok(if !outcome.findings.is_empty() {
        u8::try_from(common.exit_code).unwrap_or(1)
    } else if !outcome.errors.is_empty() {
        2
    } else {
        0
    })
}

/// Whose keys, are they live (`--verify`), and how to shut them down: annotates findings that
/// still hold their full secrets, before redaction.
/// `--my-accounts` wins over the config's `my_accounts`.
fn respond(
    findings: &mut [keysweep::finding::Finding],
    common: &CommonArgs,
    config: &Config,
) -> Result<()> {
    use keysweep::verify;
    verify::annotate_offline(findings);
    if let Some(mode) = common.verify.filter(|_| !findings.is_empty()) {
        if mode == verify::Mode::Live {
            eprintln!(
                "keysweep: warning: --verify live signs STS GetCallerIdentity with each found \
                 key pair: it uses the found secrets and leaves a CloudTrail event in the \
                 owners' accounts"
            );
        }
        let accounts = if common.my_accounts.is_empty() {
            config.my_accounts.clone()
        } else {
            common.my_accounts.clone()
        };
        let opts = verify::Options::new(mode, accounts);
        let summary = verify::verify(findings, &opts)?;
        if !common.quiet {
            eprintln!("keysweep: verify {}: {summary}", verify::mode_name(mode));
        }
    }
    keysweep::remediate::attach(findings, std::time::SystemTime::now());
    Ok(())
}

fn cmd_remediate(args: RemediateArgs) -> Result<u8> {
    use keysweep::remediate::{self, PlaybookFormat};
    let (name, text) = match args
        .report
        .as_deref()
        .filter(|p| !keysweep::input::fs::is_stdin(p))
    {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read report {}", path.display()))?,
        ),
        None => {
            let mut text = String::new();
            io::Read::read_to_string(&mut io::stdin().lock(), &mut text)
                .context("cannot read the report from stdin")?;
            ("<stdin>".to_string(), text)
        }
    };
    let findings =
        remediate::read_report(&text).with_context(|| format!("{name}: cannot read the report"))?;
    let now = std::time::SystemTime::now();
    let groups = remediate::group(&findings, args.lang, now);
    let playbook = match args.format {
        PlaybookFormat::Md => remediate::markdown(&groups, args.lang, now),
        PlaybookFormat::Sh => remediate::shell(&groups, args.lang, now),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, playbook)
                .with_context(|| format!("cannot write playbook {}", path.display()))?;
            #[cfg(unix)]
            if args.format == PlaybookFormat::Sh {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                    .with_context(|| format!("cannot make {} executable", path.display()))?;
            }
        }
        None => io::stdout()
            .lock()
            .write_all(playbook.as_bytes())
            .context("cannot write the playbook")?,
    }
    eprintln!(
        "keysweep: playbook for {} key(s) from {} finding(s) in {name}",
        groups.len(),
        findings.len()
    );
    Ok(0)
}

fn write_report(outcome: &Outcome, common: &CommonArgs, setup: &Setup) -> Result<()> {
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
    let context = report::Context {
        style: Style { color },
        rules: setup.detector.rules(),
        root: Some(&setup.root),
    };
    match report::write(&mut out, &outcome.findings, common.format, &context)
        .and_then(|()| out.flush())
    {
        // A reader that stopped early (`keysweep ... | head`) is not an error of the scan.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write the report"),
    }
}

/// The plural ending for a count.
fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn summary(outcome: &Outcome, suppressed: &Suppressed) -> String {
    let s = &outcome.stats;
    let mut line = format!(
        "keysweep: scanned {} {}{} ({:.1} MB) in {:.2} s: {} finding{}",
        s.files,
        if s.blobs { "blob" } else { "file" },
        plural(s.files),
        s.bytes as f64 / 1e6,
        s.elapsed.as_secs_f64(),
        outcome.findings.len(),
        plural(outcome.findings.len() as u64),
    );
    if let Some(ignored) = s.ignored.filter(|&n| n > 0) {
        line.push_str(&format!(
            "; {ignored} file{} skipped by ignore rules (--no-ignore scans them)",
            plural(ignored)
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
    if !outcome.warnings.is_empty() {
        line.push_str(&format!("; {} warning(s)", outcome.warnings.len()));
    }
    let mut dropped = Vec::new();
    if suppressed.inline > 0 {
        dropped.push(format!("{} by keysweep:allow", suppressed.inline));
    }
    if suppressed.baseline > 0 {
        dropped.push(format!("{} by baseline", suppressed.baseline));
    }
    if suppressed.allowed > 0 {
        dropped.push(format!("{} by config allow-list", suppressed.allowed));
    }
    if suppressed.excluded > 0 {
        dropped.push(format!("{} in excluded paths", suppressed.excluded));
    }
    if suppressed.own_files > 0 {
        dropped.push(format!(
            "{} key ID{} in keysweep's config or baseline",
            suppressed.own_files,
            plural(suppressed.own_files as u64)
        ));
    }
    if !dropped.is_empty() {
        line.push_str(&format!(
            "; {} suppressed ({})",
            suppressed.inline
                + suppressed.baseline
                + suppressed.allowed
                + suppressed.excluded
                + suppressed.own_files,
            dropped.join(", ")
        ));
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
