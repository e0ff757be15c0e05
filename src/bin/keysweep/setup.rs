//! What a scanning command sets up before it scans: the config, the baseline, the rules and
//! the scan root, all from trusted places only (see `keysweep::policy`).

use std::path::Path;

use anyhow::Result;

use keysweep::baseline::Baseline;
use keysweep::config::{Config, ScanRoot};
use keysweep::detect::Detector;
use keysweep::input::archive::ArchiveOptions;
use keysweep::policy::{self, BaseTree, PolicyChange, Watched};
use keysweep::rules::{self, Rule};

use crate::cli::{ArchiveArgs, CommonArgs};

/// Built-in rules plus those of `extra` (a directory named on the command line).
pub fn load_rules(extra: Option<&Path>) -> Result<Vec<Rule>> {
    with_builtin(match extra {
        Some(dir) => rules::load_dir(dir)?,
        None => Vec::new(),
    })
}

pub fn with_builtin(extra: Vec<Rule>) -> Result<Vec<Rule>> {
    let mut all = rules::builtin();
    all.extend(extra);
    rules::check_unique(&all)?;
    Ok(all)
}

/// What a scanning command sets up before it scans: the config, the baseline, the scan
/// root and the detector (built-in rules plus `--rules`, else the config's `rules_dir`), all
/// from trusted places only (see `keysweep::policy`).
pub struct Setup {
    pub config: Config,
    /// Which config is in use, for the summary line.
    pub config_label: String,
    pub baseline: Option<Baseline>,
    /// The baseline as named in suppression justifications.
    pub baseline_label: String,
    pub root: ScanRoot,
    pub detector: Detector,
    /// With `git --range`: BASE, where policy files inside the repository are read from.
    pub base: Option<BaseTree>,
    /// With `git --range`: what the range changes in policy files.
    pub policy_changes: Vec<PolicyChange>,
    /// Where the scan looked, for the summary line (`under the current directory (/x)`).
    pub scope: Option<String>,
}

impl Setup {
    pub fn new(common: &CommonArgs, root: ScanRoot, base: Option<BaseTree>) -> Result<Setup> {
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
pub fn work_tree_config(common: &CommonArgs) -> Result<(Config, String)> {
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
pub fn base_config(common: &CommonArgs, base: &BaseTree) -> Result<(Config, String)> {
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
pub fn watched(
    common: &CommonArgs,
    config: &Config,
    base: &BaseTree,
) -> Vec<(Watched, &'static str)> {
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

/// Archive limits: the command line wins over `.keysweep.toml`, which wins over the defaults.
pub fn archive_options(args: &ArchiveArgs, config: &Config) -> ArchiveOptions {
    let limits = &config.archive;
    let mut opts = ArchiveOptions::default();
    opts.depth = args
        .archive_depth
        .or(limits.archive_depth)
        .unwrap_or(opts.depth);
    opts.max_bytes = args
        .max_archive_bytes
        .or(limits.max_archive_bytes)
        .unwrap_or(opts.max_bytes);
    opts.max_ratio = args
        .max_ratio
        .or(limits.max_ratio.map(|r| r.ceil() as u64))
        .unwrap_or(opts.max_ratio);
    opts
}
