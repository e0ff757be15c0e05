//! The post-scan pipeline: what keysweep does with a scan's findings before they are reported.
//!
//! [`run`] takes the [`Outcome`] of a scan and applies, in this order:
//!
//! 1. **diagnostics**: the detector's rule warnings join the outcome's warnings; every
//!    warning, skipped input and input error is handed to the caller's [`Event`] handler;
//! 2. **inline allow markers** (`keysweep:allow`), unless [`Options::honour_allow`] is off; in a
//!    reviewed range ([`Options::review`]) a marker on a credential line is a policy change
//!    and suppresses only when the change is accepted;
//! 3. **config filter**: `[scan] exclude`, `[[allow]]` entries and lone key IDs in
//!    keysweep's own files ([`Config::filter`]);
//! 4. **baseline write** ([`Options::write_baseline`]): what is left at this point, so a
//!    baseline never accepts what the config already drops, and a re-run with it reports
//!    nothing new;
//! 5. **baseline filter** ([`Options::baseline`]);
//! 6. **policy changes** of a reviewed range: reported, or suppressed when accepted; the
//!    findings are sorted;
//! 7. **annotation**: account IDs decoded offline and canary accounts flagged, then the
//!    network check ([`Options::verify`], [`Options::blast_radius`]), then remediation steps;
//! 8. **redaction** of secrets unless [`Options::show_secrets`]; suppressed findings get their
//!    remediation steps too and are sorted.
//!
//! Steps 2 to 5 move findings to [`Processed::suppressed`], each with its
//! [`Suppression`]; nothing is dropped silently. The pipeline prints nothing: what a command
//! line shows comes through the [`Event`] handler and the returned [`Processed`].

use std::path::Path;
use std::time::SystemTime;

use thiserror::Error;

use crate::baseline::{self, Baseline, BaselineError};
use crate::config::{Config, ScanRoot};
use crate::detect::Detector;
use crate::finding::{Finding, Suppression, SuppressionKind};
use crate::input::InputError;
use crate::scan::Outcome;
#[cfg(feature = "verify")]
use crate::verify;

/// Why the pipeline stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[cfg(feature = "verify")]
    /// `--blast-radius` looks keys up with the operator's own credentials.
    #[error(
        "--blast-radius uses --verify owner (your own credentials); it cannot be combined \
         with --verify live"
    )]
    BlastRadiusNeedsOwner,
    #[cfg(feature = "verify")]
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
}

pub use crate::finding::PolicyChange;

/// A reviewed range (`git --range BASE..HEAD`): policy came from BASE, and what the range
/// changes in it is reported.
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    /// The policy files the range changes.
    pub changes: &'a [PolicyChange],
    /// Accept them (`--allow-policy-change`): reported as suppressed instead of failing.
    pub accept: bool,
}

/// The settings of one [`run`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options<'a> {
    /// The config in use (exclusions, allow-list, own accounts).
    pub config: &'a Config,
    /// What finding paths are matched against the config's globs relative to.
    pub root: &'a ScanRoot,
    /// Honour inline `keysweep:allow` markers and the config's `[[allow]]` entries (off for
    /// audits: `--no-allow`).
    pub honour_allow: bool,
    /// keysweep's own files besides the config (the baseline), where lone key IDs are
    /// accepted.
    pub own_files: Vec<&'a Path>,
    /// Write the findings left after the config filter here as a baseline.
    pub write_baseline: Option<&'a Path>,
    /// Accepted findings, and the name suppression justifications give the baseline.
    pub baseline: Option<(&'a Baseline, &'a str)>,
    /// Set when the scan reviews a range.
    pub review: Option<Review<'a>>,
    #[cfg(feature = "verify")]
    /// The network check to run on the findings left (`--verify`).
    pub verify: Option<verify::Mode>,
    #[cfg(feature = "verify")]
    /// Look up the blast radius of owned keys (implies an owner check).
    pub blast_radius: bool,
    #[cfg(feature = "verify")]
    /// The operator's accounts (empty: the config's `my_accounts`, else the account of the
    /// operator's credentials).
    pub my_accounts: &'a [String],
    /// Keep secrets in full (redacted by default).
    pub show_secrets: bool,
    /// The time remediation steps are dated from.
    pub now: SystemTime,
}

impl<'a> Options<'a> {
    /// The defaults: allow markers and entries honoured, no baseline, no network check,
    /// secrets redacted.
    pub fn new(config: &'a Config, root: &'a ScanRoot) -> Options<'a> {
        Options {
            config,
            root,
            honour_allow: true,
            own_files: Vec::new(),
            write_baseline: None,
            baseline: None,
            review: None,
            #[cfg(feature = "verify")]
            verify: None,
            #[cfg(feature = "verify")]
            blast_radius: false,
            #[cfg(feature = "verify")]
            my_accounts: &[],
            show_secrets: false,
            now: SystemTime::now(),
        }
    }
}

/// What the pipeline tells its caller while it runs, in order (a command line prints them on
/// stderr).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'e> {
    /// A note that loses nothing (a symbolic link loop, a rule capture dropped, ...).
    Warning(&'e InputError),
    /// An input, or part of one, that was not scanned.
    NotScanned(&'e InputError),
    /// An input that could not be read.
    InputError(&'e InputError),
    #[cfg(feature = "verify")]
    /// Live verification is about to sign requests with the found key pairs.
    LiveVerification,
    #[cfg(feature = "verify")]
    /// The network check is done.
    Verified {
        mode: verify::Mode,
        summary: &'e verify::Summary,
    },
    #[cfg(feature = "verify")]
    /// The blast-radius lookups are done.
    BlastRadius(&'e verify::blast::Summary),
}

/// What the filters dropped, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Suppressed {
    /// By inline `keysweep:allow` markers.
    pub inline: usize,
    /// By the baseline.
    pub baseline: usize,
    /// By `[[allow]]` entries.
    pub allowed: usize,
    /// In paths `[scan] exclude` skips.
    pub excluded: usize,
    /// Lone key IDs in keysweep's own files.
    pub own_files: usize,
}

impl Suppressed {
    /// All findings suppressed.
    pub fn total(&self) -> usize {
        self.inline + self.baseline + self.allowed + self.excluded + self.own_files
    }
}

/// What a scan amounts to, for an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Findings remain after the filters.
    Findings,
    /// Nothing found, but something was not scanned (completely): the data is not known to
    /// be clean.
    Incomplete,
    /// Nothing found and every byte read.
    Clean,
}

/// The outcome of [`run`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Processed {
    /// The scan, its findings filtered, annotated and (unless asked otherwise) redacted.
    pub outcome: Outcome,
    /// The findings the filters moved away, each with its suppression, sorted.
    pub suppressed: Vec<Finding>,
    /// How many each filter moved.
    pub counts: Suppressed,
    /// Policy changes of a reviewed range (in the findings, or suppressed when accepted).
    pub policy_changes: usize,
}

impl Processed {
    /// Findings, else whether everything was scanned.
    pub fn verdict(&self) -> Verdict {
        let outcome = &self.outcome;
        if !outcome.findings.is_empty() {
            Verdict::Findings
        } else if outcome.incomplete()
            || outcome
                .stats
                .s3
                .as_ref()
                .is_some_and(|s| s.not_scanned() > 0)
        {
            Verdict::Incomplete
        } else {
            Verdict::Clean
        }
    }
}

/// Runs the pipeline (see the [module documentation](self) for its steps and their order)
/// on the outcome of a scan by `detector`.
pub fn run(
    mut outcome: Outcome,
    detector: &Detector,
    opts: &Options<'_>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Processed, PipelineError> {
    // 1. Diagnostics.
    for dropped in detector.rejected_captures() {
        outcome.warnings.push(InputError {
            path: "<rules>".into(),
            message: dropped,
        });
    }
    outcome
        .warnings
        .iter()
        .for_each(|w| on_event(Event::Warning(w)));
    outcome
        .skipped
        .iter()
        .for_each(|s| on_event(Event::NotScanned(s)));
    outcome
        .errors
        .iter()
        .for_each(|e| on_event(Event::InputError(e)));

    let mut suppressed: Vec<Finding> = Vec::new();
    let (changes, accept) = match opts.review {
        Some(review) => (review.changes, review.accept),
        None => (&[][..], false),
    };
    let mut changes: Vec<Finding> = changes
        .iter()
        .map(|c| {
            Finding::policy_change(
                &c.path,
                0,
                format!("{} {} {} by the range", c.role, c.path, c.status),
            )
        })
        .collect();

    // 2. Inline markers. In a reviewed range, a marker on a credential line was added by the
    // range: a policy change.
    let before = outcome.findings.len();
    if opts.honour_allow {
        let mut kept = Vec::with_capacity(outcome.findings.len());
        for mut f in outcome.findings.drain(..) {
            if !f.inline_allowed {
                kept.push(f);
                continue;
            }
            if opts.review.is_some() {
                changes.push(Finding::policy_change(
                    &f.location.origin.path,
                    f.location.line,
                    format!(
                        "keysweep:allow marker added by the range on a line holding {}",
                        f.key_id.as_deref().unwrap_or("a credential")
                    ),
                ));
                if !accept {
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

    // 3. Config.
    let filtered = opts.config.filter(
        &mut outcome.findings,
        opts.root,
        opts.honour_allow,
        &opts.own_files,
        &mut suppressed,
    );

    // 4. Baseline write, 5. baseline filter.
    if let Some(path) = opts.write_baseline {
        baseline::write(path, &outcome.findings)?;
    }
    let counts = Suppressed {
        inline,
        baseline: opts.baseline.map_or(0, |(baseline, label)| {
            baseline.filter(&mut outcome.findings, label, &mut suppressed)
        }),
        allowed: filtered.allowed,
        excluded: filtered.excluded,
        own_files: filtered.own_files,
    };

    // 6. Policy changes.
    let policy_changes = changes.len();
    for mut change in changes {
        if accept {
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

    // 7. Annotation, verification, remediation; 8. redaction.
    annotate(&mut outcome.findings, opts, on_event)?;
    crate::remediate::attach(&mut suppressed, opts.now);
    if !opts.show_secrets {
        outcome.findings.iter_mut().for_each(|f| f.redact());
        suppressed.iter_mut().for_each(|f| f.redact());
    }
    suppressed.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(Processed {
        outcome,
        suppressed,
        counts,
        policy_changes,
    })
}

/// Whose keys, are they live, and how to shut them down: annotates findings that still hold
/// their full secrets. The command line's accounts win over the config's.
fn annotate(
    findings: &mut [Finding],
    opts: &Options<'_>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), PipelineError> {
    crate::verify::annotate_offline(findings);
    #[cfg(feature = "verify")]
    {
        if opts.blast_radius && opts.verify == Some(verify::Mode::Live) {
            return Err(PipelineError::BlastRadiusNeedsOwner);
        }
        let mode = if opts.blast_radius {
            Some(verify::Mode::Owner)
        } else {
            opts.verify
        };
        if let Some(mode) = mode.filter(|_| !findings.is_empty()) {
            if mode == verify::Mode::Live {
                on_event(Event::LiveVerification);
            }
            let accounts = if opts.my_accounts.is_empty() {
                opts.config.my_accounts.clone()
            } else {
                opts.my_accounts.to_vec()
            };
            let verify_opts = verify::Options::new(mode, accounts);
            let summary = verify::verify(findings, &verify_opts)?;
            on_event(Event::Verified {
                mode,
                summary: &summary,
            });
            if opts.blast_radius {
                let summary = verify::blast::blast_radius(findings, &verify_opts)?;
                on_event(Event::BlastRadius(&summary));
            }
        }
    }
    #[cfg(not(feature = "verify"))]
    let _ = on_event;
    crate::remediate::attach(findings, opts.now);
    Ok(())
}
