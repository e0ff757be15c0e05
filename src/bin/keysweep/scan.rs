//! `keysweep scan`: files, directories, stdin and S3 locations.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use keysweep::config::{Config, ScanRoot};
use keysweep::input::s3;
use keysweep::scan::{self, Outcome, ScanOptions};

use crate::cli::{CommonArgs, ScanArgs};
use crate::progress::Progress;
use crate::setup::{archive_options, Setup};
use crate::threads;

pub fn run(args: ScanArgs) -> Result<u8> {
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
    let mut opts = ScanOptions::default();
    opts.walk.no_ignore = args.no_ignore;
    opts.walk.follow_links = args.follow;
    opts.walk.threads = threads(args.common.threads);
    opts.walk.exclude = exclude_walk(&setup.config, &setup.root);
    opts.archive = archive_options(&args.archive, &setup.config);
    opts.decode_depth = args.archive.decode_depth;
    opts.observer = progress.clone().map(|p| p as Arc<dyn scan::Observer>);
    opts.shard = args.shard.unwrap_or_default();
    let mut outcome = if paths.is_empty() {
        Outcome::default()
    } else {
        scan::scan_paths(detector, &paths, &opts)
    };
    if !targets.is_empty() {
        let mut s3_opts = s3::Options::default();
        s3_opts.all_versions = args.all_versions;
        s3_opts.include = args.include.clone();
        s3_opts.exclude = args.exclude.clone();
        s3_opts.request_payer = args.request_payer;
        s3_opts.concurrency = args
            .s3_concurrency
            .map_or(s3::DEFAULT_CONCURRENCY, usize::from);
        s3_opts.threads = threads(args.common.threads);
        outcome.merge(scan::scan_s3(detector, &targets, &opts, &s3_opts)?);
    }
    if let Some(progress) = progress {
        progress.finish();
    }
    crate::output::finish(outcome, &args.common, &setup, false)
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
fn scan_scope(paths: &[PathBuf]) -> Option<String> {
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

/// The progress line is drawn only on a terminal's stderr, and not when asked for quiet.
pub fn show_progress(common: &CommonArgs) -> bool {
    !common.no_progress && !common.print.quiet && io::stderr().is_terminal()
}
