//! Where policy comes from. Policy is everything that decides what a scan reports: the config
//! file (exclusions, allow-list, archive limits, own accounts), custom rules and the baseline.
//!
//! The rule: data being scanned is never a source of policy. Policy comes from the command
//! line (`--config`, `--rules`, `--baseline`), or from the repository keysweep runs in (the
//! work tree of the current directory, as the pre-commit hook and CI run it) — never from a
//! scan target (a dump, a stranger's directory, an archive). A `git --range BASE..HEAD` scan
//! reviews HEAD, so HEAD's files are data: policy files inside the repository are read as
//! BASE has them (from git objects), and a range that changes one is a [`PolicyChange`].

use std::io;
use std::path::{Component, Path, PathBuf};

use git2::{Delta, ObjectType, Oid, Repository};

use crate::config::{self, Config, ConfigError};
use crate::root::normalize;
use crate::rules::{self, Rule, RuleError};

/// Policy that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error("{path}: the config file must stay inside {root} (the repository keysweep runs in); symbolic links may not leave it")]
    ConfigOutside { path: PathBuf, root: PathBuf },
    #[error("{context}: {message}")]
    Git { context: String, message: String },
    #[error("{path}: {message}")]
    Tree { path: String, message: String },
    #[error("cannot read the working directory: {0}")]
    Cwd(io::Error),
}

fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> PolicyError {
    let context = context.into();
    move |e| PolicyError::Git {
        context,
        message: e.message().to_string(),
    }
}

/// The repository keysweep runs in: the work tree of the git repository holding the current
/// directory, else the current directory itself.
pub fn home() -> Result<PathBuf, PolicyError> {
    let cwd = std::env::current_dir().map_err(PolicyError::Cwd)?;
    Ok(Repository::discover(&cwd)
        .ok()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .unwrap_or(cwd))
}

/// The `.keysweep.toml` of `home`, when there is one; a symbolic link that leaves `home` is
/// an error (its target is not read).
pub fn home_config(home: &Path) -> Result<Option<PathBuf>, PolicyError> {
    let candidate = home.join(config::FILE_NAME);
    let Ok(meta) = std::fs::symlink_metadata(&candidate) else {
        return Ok(None);
    };
    if meta.file_type().is_symlink() {
        let outside = || PolicyError::ConfigOutside {
            path: candidate.clone(),
            root: home.to_path_buf(),
        };
        let real = candidate.canonicalize().map_err(|_| outside())?;
        let root = home.canonicalize().map_err(|_| outside())?;
        if !real.starts_with(&root) {
            return Err(outside());
        }
    }
    Ok(Some(candidate))
}

/// A file or rules directory whose change a range makes a policy change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    File(String),
    Dir(String),
}

pub use crate::finding::PolicyChange;

/// BASE of a reviewed range: the commit policy files are read from.
pub struct BaseTree {
    repo: Repository,
    base: Oid,
    head: Oid,
    workdir: Option<PathBuf>,
    cwd: PathBuf,
    /// BASE's short id, for messages.
    pub label: String,
}

impl std::fmt::Debug for BaseTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaseTree")
            .field("base", &self.base)
            .field("head", &self.head)
            .finish()
    }
}

impl BaseTree {
    /// Opens the repository at or above `repo` and resolves `base` and `head`.
    pub fn open(repo: &Path, base: &str, head: &str) -> Result<BaseTree, PolicyError> {
        let cwd = std::env::current_dir().map_err(PolicyError::Cwd)?;
        let r = Repository::discover(repo).map_err(git(repo.display().to_string()))?;
        let resolve = |rev: &str| {
            r.revparse_single(rev)
                .and_then(|o| o.peel_to_commit())
                .map(|c| c.id())
                .map_err(git(format!(
                    "cannot resolve {rev:?} to a commit{}",
                    if r.is_shallow() {
                        " (the clone is shallow: fetch the base too, e.g. with fetch-depth 0)"
                    } else {
                        " (name a branch, tag or commit of this repository; fetch it first if \
                         it is on a remote, e.g. `git fetch origin`)"
                    }
                )))
        };
        let (base, head) = (resolve(base)?, resolve(head)?);
        let workdir = r.workdir().map(|w| normalize(&cwd.join(w)));
        let label = base.to_string().get(..12).unwrap_or_default().to_string();
        Ok(BaseTree {
            repo: r,
            base,
            head,
            workdir,
            cwd,
            label,
        })
    }

    /// `path` (as given on the command line) relative to the repository's work tree when it
    /// lies inside it, `/`-separated: such a file is read from BASE.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let workdir = self.workdir.as_ref()?;
        let abs = normalize(&self.cwd.join(path));
        let rel = abs.strip_prefix(workdir).ok()?;
        let parts: Option<Vec<&str>> = rel
            .components()
            .map(|c| match c {
                Component::Normal(s) => s.to_str(),
                _ => None,
            })
            .collect();
        Some(parts?.join("/"))
    }

    /// The absolute work-tree path of repository path `rel` (for matching findings).
    pub fn work_path(&self, rel: &str) -> PathBuf {
        self.workdir
            .as_ref()
            .map_or_else(|| PathBuf::from(rel), |w| w.join(rel))
    }

    /// The content of file `rel` in BASE; `None` when BASE has no such path. A symbolic link
    /// or a directory there is an error.
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, PolicyError> {
        let tree = self
            .repo
            .find_commit(self.base)
            .and_then(|c| c.tree())
            .map_err(git("cannot read BASE's tree"))?;
        let entry = match tree.get_path(Path::new(rel)) {
            Ok(e) => e,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(git(format!("{rel} in BASE"))(e)),
        };
        if entry.filemode() == 0o120000 || entry.kind() != Some(ObjectType::Blob) {
            return Err(PolicyError::Tree {
                path: format!("{}:{rel}", self.label),
                message: "not a regular file in BASE (symbolic links are not followed)".into(),
            });
        }
        let blob = self
            .repo
            .find_blob(entry.id())
            .map_err(git(format!("{rel} in BASE")))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// The config file `rel` as BASE has it (`None` when BASE has none).
    pub fn config(&self, rel: &str) -> Result<Option<Config>, PolicyError> {
        let Some(bytes) = self.read(rel)? else {
            return Ok(None);
        };
        let name = PathBuf::from(format!("{}:{rel}", self.label));
        let text = String::from_utf8(bytes).map_err(|_| PolicyError::Tree {
            path: name.display().to_string(),
            message: "config file is not UTF-8".into(),
        })?;
        let mut config = Config::parse(&text, &name)?;
        // Anchor what the file names at its place in the repository, not at the label.
        let dir = Path::new(rel).parent().unwrap_or(Path::new(""));
        config.rules_dir = config
            .rules_dir_relative
            .as_deref()
            .map(|d| normalize(&dir.join(d)));
        config.source = Some(self.work_path(rel));
        Ok(Some(config))
    }

    /// The rules of every `*.toml` file of directory `rel` in BASE (none when BASE has no
    /// such directory). Symbolic links are errors.
    pub fn rules(&self, rel: &str) -> Result<Vec<Rule>, PolicyError> {
        let tree = self
            .repo
            .find_commit(self.base)
            .and_then(|c| c.tree())
            .map_err(git("cannot read BASE's tree"))?;
        let rel = rel.trim_end_matches('/');
        let dir = if rel.is_empty() || rel == "." {
            tree
        } else {
            match tree.get_path(Path::new(rel)) {
                Ok(e) if e.kind() == Some(ObjectType::Tree) => self
                    .repo
                    .find_tree(e.id())
                    .map_err(git(format!("{rel} in BASE")))?,
                Ok(_) => {
                    return Err(PolicyError::Tree {
                        path: format!("{}:{rel}", self.label),
                        message: "rules directory is not a directory in BASE".into(),
                    })
                }
                Err(_) => return Ok(Vec::new()),
            }
        };
        let mut out = Vec::new();
        let mut names: Vec<(String, Oid, i32)> = dir
            .iter()
            .filter_map(|e| Some((e.name().ok()?.to_string(), e.id(), e.filemode())))
            .filter(|(n, _, _)| n.ends_with(".toml"))
            .collect();
        names.sort();
        for (name, id, mode) in names {
            let path = format!("{}:{rel}/{name}", self.label);
            if mode == 0o120000 {
                return Err(PolicyError::Tree {
                    path,
                    message: "rules file is a symbolic link (not followed)".into(),
                });
            }
            let Ok(blob) = self.repo.find_blob(id) else {
                continue;
            };
            let text = std::str::from_utf8(blob.content()).map_err(|_| PolicyError::Tree {
                path: path.clone(),
                message: "rules file is not UTF-8".into(),
            })?;
            out.extend(rules::parse(text, Path::new(&path))?);
        }
        Ok(out)
    }

    /// The changes the range makes (merge base of BASE and HEAD against HEAD, as a pull
    /// request shows them) to the watched files and directories.
    pub fn changes(
        &self,
        watched: &[(Watched, &'static str)],
    ) -> Result<Vec<PolicyChange>, PolicyError> {
        let since = self
            .repo
            .merge_base(self.base, self.head)
            .unwrap_or(self.base);
        let tree = |id: Oid| {
            self.repo
                .find_commit(id)
                .and_then(|c| c.tree())
                .map_err(git("cannot read the range's trees"))
        };
        let (old, new) = (tree(since)?, tree(self.head)?);
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&old), Some(&new), None)
            .map_err(git("cannot compare BASE and HEAD"))?;
        let mut out = Vec::new();
        for delta in diff.deltas() {
            let status = match delta.status() {
                Delta::Added | Delta::Copied => "added",
                Delta::Deleted => "deleted",
                Delta::Modified => "modified",
                Delta::Renamed => "renamed",
                Delta::Typechange => "type changed",
                _ => continue,
            };
            for file in [delta.old_file(), delta.new_file()] {
                let Some(path) = file.path() else { continue };
                let path = path.to_string_lossy().replace('\\', "/");
                let hit = watched.iter().find(|(w, _)| match w {
                    Watched::File(f) => *f == path,
                    Watched::Dir(d) if d.is_empty() || d == "." => path.ends_with(".toml"),
                    Watched::Dir(d) => path.starts_with(&format!("{}/", d.trim_end_matches('/'))),
                });
                if let Some((_, role)) = hit {
                    if !out.iter().any(|c: &PolicyChange| c.path == path) {
                        out.push(PolicyChange { path, status, role });
                    }
                    break;
                }
            }
        }
        Ok(out)
    }
}
