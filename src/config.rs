//! `.keysweep.toml`: paths to skip, accepted findings (each with a reason), an extra rules
//! directory, archive limits and the operator's own accounts.
//!
//! The file is read from the repository keysweep runs in, or `--config FILE` (never from
//! scanned data: see [`crate::policy`]). Unknown keys, bad globs and
//! allow entries without a reason are errors that name the file and line: a typo must never
//! turn into a silently ignored setting. The filters here run after the scan, on findings, so
//! they act the same on files, archives and git history; what they drop is counted, never lost.
//!
//! ```toml
//! my_accounts = ["123456789012"]
//!
//! [scan]
//! exclude = ["vendor", "**/*.min.js", "docs/examples/**"]
//! rules_dir = ".keysweep/rules"
//! max_archive_bytes = 268435456
//! max_ratio = 100
//! archive_depth = 3
//!
//! [[allow]]
//! key_id = "AKIAR7VZ3MOXQ4JTLW2N"
//! reason = "deactivated 2026-01-12, kept in the incident write-up"
//! ```

use std::io;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::finding::{Finding, Kind, Suppression, SuppressionKind};
pub use crate::root::{is_url, ScanRoot};

/// The config file looked for at the scan root.
pub const FILE_NAME: &str = ".keysweep.toml";

/// A config file that cannot be used: each names the file and, when it can, the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config file: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    scan: ScanSection,
    #[serde(default)]
    allow: Vec<Spanned<AllowSyntax>>,
    #[serde(default)]
    my_accounts: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanSection {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    rules_dir: Option<Spanned<String>>,
    // Numbers are read as TOML values and checked here, so that a negative, fractional, NaN
    // or huge value is an error with its line rather than a wrap-around or a silent default.
    #[serde(default)]
    max_archive_bytes: Option<Spanned<toml::Value>>,
    #[serde(default)]
    max_ratio: Option<Spanned<toml::Value>>,
    #[serde(default)]
    archive_depth: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowSyntax {
    #[serde(default)]
    key_id: Option<Spanned<String>>,
    #[serde(default)]
    fingerprint: Option<Spanned<String>>,
    #[serde(default)]
    path: Option<Spanned<String>>,
    reason: Spanned<String>,
}

/// Archive limits from `[scan]`; `None` keeps the built-in default. Parsed and checked here,
/// applied by the archive reader.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ArchiveLimits {
    /// Most bytes unpacked from one archive.
    pub max_archive_bytes: Option<u64>,
    /// Highest unpacked/packed size ratio before a member counts as a zip bomb.
    pub max_ratio: Option<f64>,
    /// How deep archives inside archives are opened.
    pub archive_depth: Option<u32>,
}

/// One `[[allow]]` entry: a finding matching every criterion given is accepted.
#[derive(Debug, Clone)]
pub struct AllowEntry {
    pub key_id: Option<String>,
    pub fingerprint: Option<String>,
    /// The path glob as written.
    pub path: Option<String>,
    matcher: Option<PathGlobs>,
    pub reason: String,
    /// Line of the entry in the config file.
    pub line: usize,
}

impl AllowEntry {
    /// True when `finding` (at `rel_path`, relative to the scan root) matches every criterion.
    pub fn matches(&self, finding: &Finding, rel_path: &str) -> bool {
        self.key_id
            .as_ref()
            .is_none_or(|k| finding.key_id.as_ref() == Some(k))
            && self
                .fingerprint
                .as_ref()
                .is_none_or(|fp| fp.eq_ignore_ascii_case(&finding.fingerprint))
            && self.matcher.as_ref().is_none_or(|m| m.matches(rel_path))
    }
}

/// Path globs with gitignore-like reach: a glob without `/` matches a file or directory name
/// at any depth (`vendor`, `*.min.js`); one with `/` matches the path from the scan root
/// (`docs/examples/**`, a leading `/` is dropped); a glob that matches a directory matches
/// everything under it.
#[derive(Debug, Clone)]
struct PathGlobs {
    set: GlobSet,
}

impl PathGlobs {
    fn compile(glob: &str) -> Result<Glob, globset::Error> {
        let trimmed = glob.trim_end_matches('/');
        let anchored = match trimmed.strip_prefix('/') {
            Some(rest) => rest.to_string(),
            None if trimmed.contains('/') => trimmed.to_string(),
            None => format!("**/{trimmed}"),
        };
        GlobBuilder::new(&anchored)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
    }

    /// True when `rel_path` or one of its parent directories matches.
    fn matches(&self, rel_path: &str) -> bool {
        if self.set.is_empty() {
            return false;
        }
        let mut end = rel_path.len();
        loop {
            let prefix = &rel_path[..end];
            if !prefix.is_empty() && self.set.is_match(prefix) {
                return true;
            }
            match prefix.rfind('/') {
                Some(slash) => end = slash,
                None => return false,
            }
        }
    }
}

impl Default for PathGlobs {
    fn default() -> Self {
        PathGlobs {
            set: GlobSet::empty(),
        }
    }
}

/// A loaded configuration (the defaults when there is no file).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from; `None` for the defaults.
    pub source: Option<PathBuf>,
    /// `[scan] exclude`, as written.
    pub exclude: Vec<String>,
    exclude_globs: PathGlobs,
    pub allow: Vec<AllowEntry>,
    /// `[scan] rules_dir`, resolved against the config file's directory (lexically inside
    /// it: see [`confined_dir`]).
    pub rules_dir: Option<PathBuf>,
    /// `[scan] rules_dir` as written (relative to the config file's directory).
    pub rules_dir_relative: Option<String>,
    pub archive: ArchiveLimits,
    /// 12-digit account IDs the operator owns (verification marks their keys `owned`).
    pub my_accounts: Vec<String>,
}

/// What [`Config::filter`] dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filtered {
    /// Findings in paths `[scan] exclude` skips.
    pub excluded: usize,
    /// Findings an `[[allow]]` entry accepts.
    pub allowed: usize,
    /// Lone key IDs in keysweep's own files (the config and the baseline name the key IDs
    /// they accept).
    pub own_files: usize,
}

impl Config {
    /// Reads and checks the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses config text; `source` names the file in errors and anchors `rules_dir`.
    pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
        let invalid = |span: Range<usize>, message: String| {
            let (line, column) = line_column(text, span.start);
            ConfigError::Invalid {
                path: source.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let file: ConfigFile = toml::from_str(text).map_err(|e| {
            let mut message = e.message().trim_end().to_string();
            if message == "missing field `reason`" {
                message.push_str(" in this [[allow]] entry: say why the finding is accepted");
            }
            invalid(e.span().unwrap_or(0..0), message)
        })?;

        let mut exclude = Vec::new();
        let mut set = GlobSetBuilder::new();
        for glob in &file.scan.exclude {
            set.add(
                PathGlobs::compile(glob.get_ref())
                    .map_err(|e| invalid(glob.span(), bad_glob("exclude", glob.get_ref(), &e)))?,
            );
            exclude.push(glob.get_ref().clone());
        }
        let exclude_globs = PathGlobs {
            set: set
                .build()
                .map_err(|e| invalid(0..0, format!("invalid `exclude` globs: {e}")))?,
        };

        let mut allow = Vec::new();
        for entry in &file.allow {
            let span = entry.span();
            let syntax = entry.get_ref();
            if syntax.reason.get_ref().trim().is_empty() {
                return Err(invalid(
                    syntax.reason.span(),
                    "`reason` may not be empty: say why this finding is accepted".into(),
                ));
            }
            if syntax.key_id.is_none() && syntax.fingerprint.is_none() && syntax.path.is_none() {
                return Err(invalid(
                    span,
                    "an [[allow]] entry needs `key_id`, `fingerprint` or `path`".into(),
                ));
            }
            if let Some(key) = &syntax.key_id {
                let k = key.get_ref();
                let ok = k.len() == 20
                    && k.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !ok {
                    return Err(invalid(
                        key.span(),
                        format!("`key_id` {k:?} is not an access key ID (20 characters A-Z, 0-9)"),
                    ));
                }
            }
            if let Some(fp) = &syntax.fingerprint {
                let f = fp.get_ref();
                if f.len() == crate::finding::OLD_FINGERPRINT_HEX {
                    return Err(invalid(
                        fp.span(),
                        format!("`fingerprint` {f:?} is in the old 64-bit format, which keysweep no longer computes: copy the finding's current fingerprint from a JSON report"),
                    ));
                }
                if f.len() != crate::finding::FINGERPRINT_HEX
                    || !f.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(invalid(
                        fp.span(),
                        format!("`fingerprint` {f:?} is not a finding fingerprint ({} hex digits, as in a JSON report)", crate::finding::FINGERPRINT_HEX),
                    ));
                }
            }
            let matcher = match &syntax.path {
                Some(glob) => {
                    let compiled = PathGlobs::compile(glob.get_ref())
                        .map_err(|e| invalid(glob.span(), bad_glob("path", glob.get_ref(), &e)))?;
                    let set = GlobSetBuilder::new()
                        .add(compiled)
                        .build()
                        .map_err(|e| invalid(glob.span(), bad_glob("path", glob.get_ref(), &e)))?;
                    Some(PathGlobs { set })
                }
                None => None,
            };
            allow.push(AllowEntry {
                key_id: syntax.key_id.as_ref().map(|k| k.get_ref().clone()),
                fingerprint: syntax.fingerprint.as_ref().map(|f| f.get_ref().clone()),
                path: syntax.path.as_ref().map(|p| p.get_ref().clone()),
                matcher,
                reason: syntax.reason.get_ref().trim().to_string(),
                line: line_column(text, span.start).0,
            });
        }

        let mut my_accounts = Vec::new();
        for account in &file.my_accounts {
            let a = account.get_ref();
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    account.span(),
                    format!("`my_accounts` entry {a:?} is not a 12-digit AWS account ID"),
                ));
            }
            my_accounts.push(a.clone());
        }

        let defaults = crate::input::archive::ArchiveOptions::default();
        let max_archive_bytes = file
            .scan
            .max_archive_bytes
            .as_ref()
            .map(|v| {
                let n = whole_number(v, "max_archive_bytes").map_err(|m| invalid(v.span(), m))?;
                at_most(
                    n,
                    defaults.max_bytes,
                    "max_archive_bytes",
                    "--max-archive-bytes",
                    1,
                )
                .map_err(|m| invalid(v.span(), m))
            })
            .transpose()?;
        let archive_depth = file
            .scan
            .archive_depth
            .as_ref()
            .map(|v| {
                let n = whole_number(v, "archive_depth").map_err(|m| invalid(v.span(), m))?;
                let n = at_most(
                    n,
                    u64::from(defaults.depth),
                    "archive_depth",
                    "--archive-depth",
                    0,
                )
                .map_err(|m| invalid(v.span(), m))?;
                Ok::<_, ConfigError>(u32::try_from(n).unwrap_or(0))
            })
            .transpose()?;
        let max_ratio = file
            .scan
            .max_ratio
            .as_ref()
            .map(|v| {
                let r = match v.get_ref() {
                    toml::Value::Float(f) => *f,
                    toml::Value::Integer(i) => *i as f64,
                    _ => return Err(invalid(v.span(), "`max_ratio` must be a number".into())),
                };
                if !r.is_finite() || r < 1.0 {
                    return Err(invalid(
                        v.span(),
                        format!("`max_ratio` must be a finite number of at least 1, not {r}"),
                    ));
                }
                if r > defaults.max_ratio as f64 {
                    return Err(invalid(
                        v.span(),
                        format!(
                            "`max_ratio` {r} is above the built-in limit {}: a config file can \
                             only lower archive limits (raise it with --max-ratio)",
                            defaults.max_ratio
                        ),
                    ));
                }
                Ok(r)
            })
            .transpose()?;
        let rules_dir = match &file.scan.rules_dir {
            Some(dir) => Some(confined_dir(dir.get_ref()).map_err(|m| invalid(dir.span(), m))?),
            None => None,
        };
        let base = source.parent().unwrap_or(Path::new(""));
        Ok(Config {
            source: Some(source.to_path_buf()),
            exclude,
            exclude_globs,
            allow,
            rules_dir: rules_dir.map(|d| base.join(d)),
            rules_dir_relative: file.scan.rules_dir.as_ref().map(|d| d.get_ref().clone()),
            archive: ArchiveLimits {
                max_archive_bytes,
                max_ratio,
                archive_depth,
            },
            my_accounts,
        })
    }

    /// True when `[scan] exclude` skips `rel_path` (relative to the scan root, `/`-separated).
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        self.exclude_globs.matches(rel_path)
    }

    /// The first allow entry accepting `finding` at `rel_path`.
    pub fn allowed_by(&self, finding: &Finding, rel_path: &str) -> Option<&AllowEntry> {
        self.allow.iter().find(|e| e.matches(finding, rel_path))
    }

    /// Drops findings in excluded paths, lone key IDs in `own_files` (this config file and
    /// the baseline, as given on the command line) and, when `use_allow`, the findings an
    /// allow entry accepts; returns how many of each it dropped.
    /// The findings dropped go to `suppressed`, each with its [`Suppression`].
    pub fn filter(
        &self,
        findings: &mut Vec<Finding>,
        root: &ScanRoot,
        use_allow: bool,
        own_files: &[&Path],
        suppressed: &mut Vec<Finding>,
    ) -> Filtered {
        let mut filtered = Filtered::default();
        let own: Vec<PathBuf> = self
            .source
            .iter()
            .map(PathBuf::as_path)
            .chain(own_files.iter().copied())
            .map(|p| root.local(p))
            .collect();
        let config = self
            .source
            .as_ref()
            .map_or_else(|| "the config".to_string(), |p| p.display().to_string());
        let mut kept = Vec::with_capacity(findings.len());
        for mut f in findings.drain(..) {
            let path = &f.location.origin.path;
            let rel = root.match_path(path);
            let why = if f.kind == Kind::PolicyChange {
                None
            } else if self.is_excluded(&rel) {
                filtered.excluded += 1;
                Some(format!("in a path `[scan] exclude` of {config} skips"))
            } else if f.kind == Kind::AccessKeyId
                && f.location.origin.archive_member.is_none()
                && own.contains(&root.absolute(path))
            {
                filtered.own_files += 1;
                Some("a key ID named in keysweep's own config or baseline".to_string())
            } else if let Some(entry) = use_allow.then(|| self.allowed_by(&f, &rel)).flatten() {
                filtered.allowed += 1;
                Some(format!(
                    "allowed by {config}:{} [[allow]]: {}",
                    entry.line, entry.reason
                ))
            } else {
                None
            };
            match why {
                Some(justification) => {
                    f.suppression = Some(Suppression {
                        kind: SuppressionKind::External,
                        justification,
                    });
                    suppressed.push(f);
                }
                None => kept.push(f),
            }
        }
        *findings = kept;
        filtered
    }
}

/// A TOML integer that is not negative.
fn whole_number(v: &Spanned<toml::Value>, name: &str) -> Result<u64, String> {
    match v.get_ref() {
        toml::Value::Integer(i) => {
            u64::try_from(*i).map_err(|_| format!("`{name}` may not be negative ({i})"))
        }
        other => Err(format!(
            "`{name}` must be a whole number, not {}",
            other.type_str()
        )),
    }
}

/// `n` when it lies in `min..=builtin`: a config file may lower an archive limit, never raise
/// it (that takes `flag` on the command line), and never set it to a meaningless value.
fn at_most(n: u64, builtin: u64, name: &str, flag: &str, min: u64) -> Result<u64, String> {
    if n < min {
        return Err(format!("`{name}` must be at least {min}"));
    }
    if n > builtin {
        return Err(format!(
            "`{name}` {n} is above the built-in limit {builtin}: a config file can only lower \
             archive limits (raise it with {flag})"
        ));
    }
    Ok(n)
}

/// Checks that a `rules_dir` stays inside the config file's directory, as far as its text
/// says: relative, no `..`, no root or drive prefix. Symbolic links are checked when the
/// directory is read (see [`crate::policy`]).
pub fn confined_dir(dir: &str) -> Result<PathBuf, String> {
    let path = Path::new(dir);
    if dir.is_empty() {
        return Err("`rules_dir` may not be empty".into());
    }
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(
                    "`rules_dir` must stay inside the config file's directory (no `..`)".into(),
                )
            }
            Component::RootDir | Component::Prefix(_) => return Err(
                "`rules_dir` must be relative to the config file's directory (no absolute path)"
                    .into(),
            ),
        }
    }
    Ok(path.to_path_buf())
}

fn bad_glob(field: &str, glob: &str, err: &globset::Error) -> String {
    format!("invalid `{field}` glob {glob:?}: {}", err.kind())
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(list: &[&str]) -> PathGlobs {
        let mut b = GlobSetBuilder::new();
        for g in list {
            b.add(PathGlobs::compile(g).unwrap());
        }
        PathGlobs {
            set: b.build().unwrap(),
        }
    }

    #[test]
    fn globs_reach_like_gitignore() {
        let g = globs(&["vendor", "*.min.js", "docs/examples/**", "/top.env"]);
        assert!(g.matches("vendor/a/b.env"));
        assert!(g.matches("src/vendor/x"));
        assert!(g.matches("web/app.min.js"));
        assert!(g.matches("docs/examples/a/b.txt"));
        assert!(g.matches("top.env"));
        assert!(!g.matches("sub/top.env"));
        assert!(!g.matches("docs/other/b.txt"));
        assert!(!g.matches("vendored/x"));
    }

    #[test]
    fn line_and_column_of_offsets() {
        let text = "a = 1\n[scan]\n  bad = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, text.find("bad").unwrap()), (3, 3));
    }
}
