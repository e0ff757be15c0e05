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
    ArchiveArgs, Cli, ColorChoice, Command, CommonArgs, GitArgs, MergeArgs, RemediateArgs,
    RulesCommand, ScanArgs,
};
use keysweep::config::{Config, ScanRoot};
use keysweep::detect::Detector;
use keysweep::finding::{Finding, Suppression, SuppressionKind};
use keysweep::input::archive::{self, ArchiveOptions};
use keysweep::input::fs::WalkOptions;
use keysweep::input::git::{self, GitOptions, Selection};
use keysweep::input::remote;
use keysweep::input::s3;
use keysweep::policy::{self, BaseTree, PolicyChange, Watched};
use keysweep::report::progress::Progress;
use keysweep::report::{self, Style};
use keysweep::rules::{self, Rule};
use keysweep::scan::{self, Outcome, ScanOptions};

/// Writes a line to stderr. A closed stderr (`keysweep ... 2>&1 | head -1`) is not an
/// error of the scan: the line is dropped and the scan finishes with its own exit code.
macro_rules! note {
    ($($arg:tt)*) => {{
        let _ = writeln!(io::stderr().lock(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // Errors may quote paths and names from scanned data: escaped for the terminal.
            note!(
                "keysweep: error: {}",
                keysweep::term::escape(&describe(&err))
            );
            ExitCode::from(2)
        }
    }
}

/// Worker threads per core above which `-j` is capped: more only adds contention.
const MAX_THREADS_PER_CORE: usize = 4;

/// `-j N`, capped at [`MAX_THREADS_PER_CORE`] per core (with a warning).
fn threads(requested: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = cores * MAX_THREADS_PER_CORE;
    if requested > cap {
        note!(
            "keysweep: warning: -j {requested} capped to {cap} ({MAX_THREADS_PER_CORE} per core \
             on {cores} core{})",
            if cores == 1 { "" } else { "s" }
        );
        cap
    } else {
        requested
    }
}

/// An error and its causes on one line, each said once (library errors often carry their
/// source in their own message already).
fn describe(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => cmd_scan(args),
        Command::Git(args) => cmd_git(args),
        Command::Rules(RulesCommand::List { rules }) => cmd_rules_list(rules.as_deref()),
        Command::Rules(RulesCommand::Check { dir }) => cmd_rules_check(dir.as_deref()),
        Command::Remediate(args) => cmd_remediate(args),
        Command::Merge(args) => cmd_merge(args),
        Command::Completions { shell } => cmd_completions(shell),
        Command::Man { dir } => cmd_man(dir.as_deref()),
    }
}

/// Built-in rules plus those of `extra` (a directory named on the command line).
fn load_rules(extra: Option<&Path>) -> Result<Vec<Rule>> {
    with_builtin(match extra {
        Some(dir) => rules::load_dir(dir)?,
        None => Vec::new(),
    })
}

fn with_builtin(extra: Vec<Rule>) -> Result<Vec<Rule>> {
    let mut all = rules::builtin();
    all.extend(extra);
    rules::check_unique(&all)?;
    Ok(all)
}

/// What a scanning command sets up before it scans: the config, the baseline, the scan
/// root and the detector (built-in rules plus `--rules`, else the config's `rules_dir`), all
/// from trusted places only (see `keysweep::policy`).
struct Setup {
    config: Config,
    /// Which config is in use, for the summary line.
    config_label: String,
    baseline: Option<Baseline>,
    /// The baseline as named in suppression justifications.
    baseline_label: String,
    root: ScanRoot,
    detector: Detector,
    /// With `git --range`: BASE, where policy files inside the repository are read from.
    base: Option<BaseTree>,
    /// With `git --range`: what the range changes in policy files.
    policy_changes: Vec<PolicyChange>,
    /// Where the scan looked, for the summary line (`under the current directory (/x)`).
    scope: Option<String>,
}

impl Setup {
    fn new(common: &CommonArgs, root: ScanRoot, base: Option<BaseTree>) -> Result<Setup> {
        let (config, config_label) = match &base {
            Some(base) => base_config(common, base)?,
            None => work_tree_config(common)?,
        };
        let extra = match (&common.rules, &base) {
            (Some(dir), Some(base)) => match base.relative(dir) {
                Some(rel) => base.rules(&rel)?,
                None => rules::load_dir(dir)?,
            },
            (Some(dir), None) => rules::load_dir(dir)?,
            (None, Some(base)) => match (&config.rules_dir, &config.source) {
                (Some(dir), Some(source)) if base.relative(source).is_some() => {
                    base.rules(&dir.to_string_lossy())?
                }
                (Some(dir), Some(source)) => {
                    let home = source.parent().unwrap_or(Path::new("."));
                    rules::load_dir_confined(dir, Some(home))?
                }
                _ => Vec::new(),
            },
            (None, None) => match (&config.rules_dir, &config.source) {
                (Some(dir), Some(source)) => {
                    let home = source.parent().unwrap_or(Path::new("."));
                    rules::load_dir_confined(dir, Some(home))?
                }
                (Some(dir), None) => rules::load_dir(dir)?,
                _ => Vec::new(),
            },
        };
        let detector = Detector::new(with_builtin(extra)?)?;
        let baseline = match (&common.baseline, &base) {
            (Some(path), Some(base)) => match base.relative(path) {
                Some(rel) => Some(match base.read(&rel)? {
                    Some(bytes) => {
                        Baseline::parse(&String::from_utf8_lossy(&bytes)).map_err(|m| {
                            anyhow::anyhow!("{}:{rel}: not a keysweep JSON report: {m}", base.label)
                        })?
                    }
                    None => Baseline::default(),
                }),
                None => Some(Baseline::load(path)?),
            },
            (Some(path), None) => Some(Baseline::load(path)?),
            (None, _) => None,
        };
        let baseline_label = match (&common.baseline, &base) {
            (Some(path), Some(base)) => match base.relative(path) {
                Some(rel) => format!("{rel} (as in BASE {})", base.label),
                None => path.display().to_string(),
            },
            (Some(path), None) => path.display().to_string(),
            (None, _) => String::new(),
        };
        let policy_changes = match &base {
            Some(base) => base.changes(&watched(common, &config, base))?,
            None => Vec::new(),
        };
        Ok(Setup {
            config,
            config_label,
            baseline,
            baseline_label,
            root,
            detector,
            base,
            policy_changes,
            scope: None,
        })
    }
}

/// The config of a work-tree scan: `--no-config`, `--config FILE`, or `.keysweep.toml` of the
/// repository keysweep runs in.
fn work_tree_config(common: &CommonArgs) -> Result<(Config, String)> {
    if common.no_config {
        return Ok((Config::default(), "none (--no-config)".into()));
    }
    if let Some(path) = &common.config {
        return Ok((Config::load(path)?, path.display().to_string()));
    }
    let home = policy::home()?;
    match policy::home_config(&home)? {
        Some(path) => {
            let label = path.display().to_string();
            Ok((Config::load(&path)?, label))
        }
        None => Ok((Config::default(), "none".into())),
    }
}

/// The config of a range review: files inside the repository as BASE has them.
fn base_config(common: &CommonArgs, base: &BaseTree) -> Result<(Config, String)> {
    if common.no_config {
        return Ok((Config::default(), "none (--no-config)".into()));
    }
    let rel = match &common.config {
        Some(path) => match base.relative(path) {
            Some(rel) => rel,
            None => return Ok((Config::load(path)?, path.display().to_string())),
        },
        None => keysweep::config::FILE_NAME.to_string(),
    };
    Ok(match base.config(&rel)? {
        Some(config) => (config, format!("{rel} as in BASE {}", base.label)),
        None => (
            Config::default(),
            format!("none ({rel} is not in BASE {})", base.label),
        ),
    })
}

/// The policy files a range must not change unnoticed: the config, the rules directories and
/// the baseline, as far as they lie in the repository.
fn watched(common: &CommonArgs, config: &Config, base: &BaseTree) -> Vec<(Watched, &'static str)> {
    let mut out = Vec::new();
    let config_rel = match &common.config {
        Some(path) => base.relative(path),
        None => Some(keysweep::config::FILE_NAME.to_string()),
    };
    if let Some(rel) = config_rel {
        out.push((Watched::File(rel), "config file"));
    }
    if let Some(rel) = common.baseline.as_deref().and_then(|p| base.relative(p)) {
        out.push((Watched::File(rel), "baseline"));
    }
    if let Some(rel) = common.rules.as_deref().and_then(|p| base.relative(p)) {
        out.push((Watched::Dir(rel), "rules file"));
    }
    if let (Some(dir), true) = (&config.rules_dir, common.rules.is_none()) {
        if config
            .source
            .as_deref()
            .is_some_and(|s| base.relative(s).is_some())
        {
            out.push((
                Watched::Dir(dir.to_string_lossy().replace('\\', "/")),
                "rules file",
            ));
        }
    }
    out
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
    // `s3://` arguments are buckets; the rest are local paths.
    let mut targets = Vec::new();
    let mut paths = Vec::new();
    for arg in &args.paths {
        match arg.to_str().and_then(s3::Target::parse) {
            Some(target) => targets.push(target?),
            None => paths.push(arg.clone()),
        }
    }
    if targets.is_empty()
        && (!args.include.is_empty()
            || !args.exclude.is_empty()
            || args.all_versions
            || args.request_payer
            || args.s3_concurrency.is_some())
    {
        anyhow::bail!(
            "--include, --exclude, --all-versions, --request-payer and --s3-concurrency apply \
             to s3:// locations, and none was given"
        );
    }
    let root = ScanRoot::for_paths(&paths).context("cannot read the working directory")?;
    let mut setup = Setup::new(&args.common, root, None)?;
    setup.scope = scan_scope(&paths);
    let detector = &setup.detector;
    let progress = show_progress(&args.common).then(|| Arc::new(Progress::new()));
    let opts = ScanOptions {
        walk: WalkOptions {
            no_ignore: args.no_ignore,
            follow_links: args.follow,
            threads: threads(args.common.threads),
            exclude: exclude_walk(&setup.config, &setup.root),
        },
        archive: archive_options(&args.archive, &setup.config),
        decode_depth: args.archive.decode_depth,
        observer: progress.clone().map(|p| p as Arc<dyn scan::Observer>),
        shard: args.shard.unwrap_or_default(),
        ..ScanOptions::default()
    };
    let mut outcome = if paths.is_empty() {
        Outcome::default()
    } else {
        scan::scan_paths(detector, &paths, &opts)
    };
    if !targets.is_empty() {
        let s3_opts = s3::Options {
            all_versions: args.all_versions,
            include: args.include.clone(),
            exclude: args.exclude.clone(),
            request_payer: args.request_payer,
            concurrency: args
                .s3_concurrency
                .map_or(s3::DEFAULT_CONCURRENCY, usize::from),
            threads: threads(args.common.threads),
            ..s3::Options::default()
        };
        outcome.merge(scan::scan_s3(detector, &targets, &opts, &s3_opts)?);
    }
    if let Some(progress) = progress {
        progress.finish();
    }
    finish(outcome, &args.common, &setup, false)
}

/// `[scan] exclude` applied while walking, so an excluded directory is never read; its
/// paths are matched as the findings filter matches them (relative to the scan root).
fn exclude_walk(config: &Config, root: &ScanRoot) -> Option<keysweep::input::fs::Exclude> {
    if config.exclude.is_empty() {
        return None;
    }
    let (config, root) = (config.clone(), root.clone());
    Some(keysweep::input::fs::Exclude::new(move |path| {
        let origin = keysweep::finding::Origin::from_path(path);
        config.is_excluded(&root.match_path(&origin.path))
    }))
}

/// "under DIR" when the scan has one directory to walk (the current directory, named in full,
/// when no path was given), so the summary line says where it looked.
fn scan_scope(paths: &[std::path::PathBuf]) -> Option<String> {
    let [path] = paths else { return None };
    if !path.is_dir() {
        return None;
    }
    if path.as_os_str() == "." {
        let cwd = std::env::current_dir().ok()?;
        Some(format!("under the current directory ({})", cwd.display()))
    } else {
        Some(format!("under {}", path.display()))
    }
}

/// Archive limits: the command line wins over `.keysweep.toml`, which wins over the defaults.
fn archive_options(args: &ArchiveArgs, config: &Config) -> ArchiveOptions {
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
        ..defaults
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
    let url = args.repo.to_str().filter(|s| remote::is_remote(s));
    if url.is_none() && args.keep_clone.is_some() {
        anyhow::bail!("--keep-clone needs a repository URL");
    }
    // A remote repository is cloned bare (removed when `clone` drops, unless kept). Policy
    // never comes from it: config from where keysweep runs, a range's from its BASE.
    let clone = match url {
        Some(url) => {
            if selection == Selection::Staged {
                anyhow::bail!("--staged needs a local repository (a clone has no index)");
            }
            Some(remote::clone(url, args.keep_clone.as_deref())?)
        }
        None => None,
    };
    let repo = clone.as_ref().map_or(args.repo.as_path(), |c| c.dir());
    let root = ScanRoot::repository(repo).context("cannot read the working directory")?;
    // A range is a review of HEAD: policy comes from BASE.
    let base = match &selection {
        Selection::Range { base, head } => Some(BaseTree::open(repo, base, head)?),
        _ => None,
    };
    let setup = Setup::new(&args.common, root, base)?;
    let opts = GitOptions {
        selection,
        threads: threads(args.common.threads),
        archive: archive_options(&args.archive, &setup.config),
        shard: args.shard.unwrap_or_default(),
        decode_depth: args.archive.decode_depth,
    };
    let scanned = scan::scan_git(&setup.detector, repo, &opts)?;
    for warning in &scanned.notes {
        note!("keysweep: warning: {warning}");
    }
    finish(scanned, &args.common, &setup, args.allow_policy_change)
}

/// The progress line is drawn only on a terminal's stderr, and not when asked for quiet.
fn show_progress(common: &CommonArgs) -> bool {
    !common.no_progress && !common.quiet && io::stderr().is_terminal()
}

/// Filters, reports an outcome and returns the exit code.
fn finish(
    mut outcome: Outcome,
    common: &CommonArgs,
    setup: &Setup,
    allow_policy_change: bool,
) -> Result<u8> {
    for dropped in setup.detector.rejected_captures() {
        outcome.warnings.push(keysweep::input::InputError {
            path: "<rules>".into(),
            message: dropped,
        });
    }
    for warning in &outcome.warnings {
        note!("keysweep: warning: {warning}");
    }
    for skipped in &outcome.skipped {
        note!("keysweep: not scanned: {skipped}");
    }
    for err in &outcome.errors {
        note!("keysweep: error: {err}");
    }
    let mut suppressed: Vec<Finding> = Vec::new();
    let mut changes: Vec<Finding> = setup
        .policy_changes
        .iter()
        .map(|c| {
            Finding::policy_change(
                &c.path,
                0,
                format!("{} {} {} by the range", c.role, c.path, c.status),
            )
        })
        .collect();
    // Inline `keysweep:allow` markers, unless `--no-allow` (audits see everything). In a
    // reviewed range, a marker on a credential line was added by the range: a policy change.
    let before = outcome.findings.len();
    if !common.no_allow {
        let mut kept = Vec::with_capacity(outcome.findings.len());
        for mut f in outcome.findings.drain(..) {
            if !f.inline_allowed {
                kept.push(f);
                continue;
            }
            if setup.base.is_some() {
                changes.push(Finding::policy_change(
                    &f.location.origin.path,
                    f.location.line,
                    format!(
                        "keysweep:allow marker added by the range on a line holding {}",
                        f.key_id.as_deref().unwrap_or("a credential")
                    ),
                ));
                if !allow_policy_change {
                    kept.push(f);
                    continue;
                }
            }
            f.suppression = Some(Suppression {
                kind: SuppressionKind::InSource,
                justification: "keysweep:allow marker on the line".into(),
            });
            suppressed.push(f);
        }
        outcome.findings = kept;
    }
    let inline = before - outcome.findings.len();
    let own_files: Vec<&Path> = common.baseline.iter().map(|p| p.as_path()).collect();
    let filtered = setup.config.filter(
        &mut outcome.findings,
        &setup.root,
        !common.no_allow,
        &own_files,
        &mut suppressed,
    );
    if let Some(path) = &common.write_baseline {
        baseline::write(path, &outcome.findings)?;
    }
    let suppressed_counts = Suppressed {
        inline,
        baseline: setup.baseline.as_ref().map_or(0, |b| {
            b.filter(
                &mut outcome.findings,
                &setup.baseline_label,
                &mut suppressed,
            )
        }),
        allowed: filtered.allowed,
        excluded: filtered.excluded,
        own_files: filtered.own_files,
    };
    // Policy changes: reported in every format; with --allow-policy-change as suppressed.
    let policy_changes = changes.len();
    for mut change in changes {
        if allow_policy_change {
            change.suppression = Some(Suppression {
                kind: SuppressionKind::External,
                justification: "accepted with --allow-policy-change".into(),
            });
            suppressed.push(change);
        } else {
            outcome.findings.push(change);
        }
    }
    outcome
        .findings
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    respond(&mut outcome.findings, common, &setup.config)?;
    keysweep::remediate::attach(&mut suppressed, std::time::SystemTime::now());
    if !common.show_secrets {
        outcome.findings.iter_mut().for_each(|f| f.redact());
        suppressed.iter_mut().for_each(|f| f.redact());
    }
    suppressed.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    write_report(&outcome, &suppressed, common, setup)?;
    if !common.quiet {
        note!(
            "{}",
            keysweep::term::escape(&summary(
                &outcome,
                &suppressed_counts,
                policy_changes,
                allow_policy_change,
                &setup.config_label,
                setup.scope.as_deref()
            ))
        );
    }
    Ok(exit_code(&outcome, common))
}

/// 1 (or `--exit-code`) when findings remain; else 2 when anything was not scanned (an
/// unreadable input, a member past a limit, corrupt data, a skipped special file) unless
/// `--allow-incomplete`; else 0: nothing found and every byte read.
fn exit_code(outcome: &Outcome, common: &CommonArgs) -> u8 {
    if !outcome.findings.is_empty() {
        u8::try_from(common.exit_code).unwrap_or(1)
    } else if (outcome.incomplete()
        || outcome
            .stats
            .s3
            .as_ref()
            .is_some_and(|s| s.not_scanned() > 0))
        && !common.allow_incomplete
    {
        2
    } else {
        0
    }
}

/// Whose keys, are they live (`--verify`), and how to shut them down: annotates findings that
/// still hold their full secrets, before redaction.
/// `--my-accounts` wins over the config's `my_accounts`.
fn respond(findings: &mut [Finding], common: &CommonArgs, config: &Config) -> Result<()> {
    use keysweep::verify;
    verify::annotate_offline(findings);
    if common.blast_radius && common.verify == Some(verify::Mode::Live) {
        anyhow::bail!(
            "--blast-radius uses --verify owner (your own credentials); it cannot be combined \
             with --verify live"
        );
    }
    let mode = if common.blast_radius {
        Some(verify::Mode::Owner)
    } else {
        common.verify
    };
    if let Some(mode) = mode.filter(|_| !findings.is_empty()) {
        if mode == verify::Mode::Live {
            note!(
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
            note!(
                "keysweep: verify {}: {}",
                verify::mode_name(mode),
                keysweep::term::escape(&summary.to_string())
            );
        }
        if common.blast_radius {
            let summary = verify::blast::blast_radius(findings, &opts)?;
            if !common.quiet {
                note!("keysweep: blast radius: {summary}");
            }
        }
    }
    keysweep::remediate::attach(findings, std::time::SystemTime::now());
    Ok(())
}

/// `remediate --blast-radius`: keys of the report not yet placed in an account are checked
/// with STS GetAccessKeyInfo (key IDs only), then the owned ones get their blast radius.
fn remediate_blast_radius(
    findings: &mut [keysweep::finding::Finding],
    my_accounts: &[String],
) -> Result<()> {
    use keysweep::finding::VerificationStatus;
    use keysweep::verify;
    verify::annotate_offline(findings);
    let opts = verify::Options::new(verify::Mode::Owner, my_accounts.to_vec());
    // Verify a copy: a report's `live` verdicts stay, and only the ownership is taken over.
    let mut checked = findings.to_vec();
    let summary = verify::verify(&mut checked, &opts)?;
    note!("keysweep: verify owner: {summary}");
    for (f, c) in findings.iter_mut().zip(checked) {
        let keep = matches!(
            f.verification.status,
            VerificationStatus::Live | VerificationStatus::InactiveOrInvalid
        );
        if c.verification.status == VerificationStatus::Owned || !keep {
            f.verification.status = c.verification.status;
            f.verification.message = c.verification.message;
            if c.verification.arn.is_some() {
                f.verification.arn = c.verification.arn;
            }
        }
        f.account_id = c.account_id;
        f.account_id_source = c.account_id_source;
        f.canary = c.canary;
    }
    let summary = verify::blast::blast_radius(findings, &opts)?;
    note!("keysweep: blast radius: {summary}");
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
    let mut findings = remediate::read_report(&text).with_context(|| {
        format!(
            "{name}: cannot read the report (it takes a keysweep JSON report: \
             keysweep scan --format json -o FILE)"
        )
    })?;
    if args.blast_radius && !findings.is_empty() {
        remediate_blast_radius(&mut findings, &args.my_accounts)?;
    }
    let now = std::time::SystemTime::now();
    let groups = remediate::group(&findings, args.lang, now);
    let playbook = match args.format {
        PlaybookFormat::Md => remediate::markdown(&groups, args.lang, now),
        PlaybookFormat::Sh => remediate::shell(&groups, args.lang, now),
        PlaybookFormat::Html => report::html::render(
            &findings,
            &report::html::Page {
                now,
                show_secrets: args.show_secrets,
            },
        ),
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
    note!(
        "keysweep: playbook for {} key(s) from {} finding(s) in {}",
        groups.len(),
        findings.len(),
        keysweep::term::escape(&name)
    );
    Ok(0)
}

fn cmd_merge(args: MergeArgs) -> Result<u8> {
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
            color: use_color(args.color, to_terminal),
        },
        rules: &rules,
        root: Some(&root),
        suppressed: &[],
        include_suppressed: false,
        show_secrets: false,
    };
    emit(&mut *out, &merged.findings, args.format, &context)?;
    if !args.quiet {
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
        u8::try_from(args.exit_code).unwrap_or(1)
    } else if errors > 0 {
        2
    } else {
        0
    })
}

/// The report's destination: FILE, or stdout (and whether that is a terminal).
fn open_output(path: Option<&Path>) -> Result<(Box<dyn Write>, bool)> {
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

fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Writes a report; a reader that stopped early (`keysweep ... | head`) is not an error.
fn emit(
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

fn write_report(
    outcome: &Outcome,
    suppressed: &[Finding],
    common: &CommonArgs,
    setup: &Setup,
) -> Result<()> {
    let (mut out, to_terminal) = open_output(common.output.as_deref())?;
    let context = report::Context {
        style: Style {
            color: use_color(common.color, to_terminal),
        },
        rules: setup.detector.rules(),
        root: Some(&setup.root),
        suppressed,
        include_suppressed: common.include_suppressed,
        show_secrets: common.show_secrets,
    };
    emit(&mut *out, &outcome.findings, common.format, &context)
}

/// The plural ending for a count.
fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
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
            let mut why = Vec::new();
            if s3.archived > 0 {
                why.push(format!("{} in Glacier/Deep Archive", s3.archived));
            }
            if s3.failed > 0 {
                why.push(format!("{} unreadable", s3.failed));
            }
            if s3.interrupted > 0 {
                why.push(format!("{} interrupted", s3.interrupted));
            }
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
    if let (Some(dir), true) = (dir, checked.is_empty()) {
        anyhow::bail!(
            "{}: no rules files (*.toml) found, nothing to check: point it at a directory of \
             rule files (see rules/aws.toml for the format)",
            dir.display()
        );
    }
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

fn cmd_completions(shell: clap_complete::Shell) -> Result<u8> {
    let mut out = Vec::new();
    keysweep::manual::completions(shell, &mut out);
    write_stdout(&out, "the completion script")
}

fn cmd_man(dir: Option<&Path>) -> Result<u8> {
    match dir {
        Some(dir) => {
            let pages = keysweep::manual::man_pages(dir)
                .with_context(|| format!("{}: cannot write the man pages", dir.display()))?;
            note!(
                "keysweep: wrote {} man pages into {} (e.g. man -l {})",
                pages.len(),
                dir.display(),
                dir.join("keysweep.1").display()
            );
            Ok(0)
        }
        None => {
            let mut out = Vec::new();
            keysweep::manual::man_page(&mut out).context("cannot render the man page")?;
            write_stdout(&out, "the man page")
        }
    }
}

/// Writes generated text to stdout; a reader that stopped early is not an error.
fn write_stdout(bytes: &[u8], what: &str) -> Result<u8> {
    match io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(e).with_context(|| format!("cannot write {what} to stdout"))
        }
        _ => Ok(0),
    }
}
