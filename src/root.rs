//! Where a scan is rooted, and paths relative to it: what SARIF URIs, exclude and allow globs
//! and the summary line are written against. Lexical only: no file system access besides the
//! working directory.

use std::io;
use std::path::{Component, Path, PathBuf};

/// The directory a scan is about: the config file is looked for there, report paths
/// (SARIF URIs, exclude and allow globs) are made relative to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRoot {
    /// The root as absolute, lexically normalised path.
    absolute: PathBuf,
    /// What relative finding paths are relative to (the working directory for `scan`, the
    /// repository for `git`).
    base: PathBuf,
    /// The working directory, which paths given on the command line are relative to.
    cwd: PathBuf,
}

impl ScanRoot {
    /// The root of `keysweep scan PATH...`: the first path when it is a directory, else the
    /// working directory. Finding paths are taken relative to the working directory.
    pub fn for_paths(paths: &[PathBuf]) -> io::Result<ScanRoot> {
        let cwd = std::env::current_dir()?;
        let root = paths
            .first()
            .filter(|p| p.as_os_str() != "-" && p.is_dir())
            .map_or_else(|| cwd.clone(), |p| normalize(&cwd.join(p)));
        Ok(ScanRoot {
            absolute: root,
            base: cwd.clone(),
            cwd,
        })
    }

    /// The root of a repository scan: finding paths are relative to the repository itself.
    pub fn repository(dir: &Path) -> io::Result<ScanRoot> {
        let cwd = std::env::current_dir()?;
        let dir = normalize(&cwd.join(dir));
        Ok(ScanRoot {
            absolute: dir.clone(),
            base: dir,
            cwd,
        })
    }

    /// The absolute, normalised form of a path given on the command line.
    pub fn local(&self, path: &Path) -> PathBuf {
        normalize(&self.cwd.join(path))
    }

    /// The root directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.absolute
    }

    /// The absolute, normalised form of a finding path.
    pub fn absolute(&self, path: &str) -> PathBuf {
        normalize(&self.base.join(path))
    }

    /// `path` relative to the root, `/`-separated; `None` when it lies outside the root or
    /// is stdin (`-`).
    pub fn relative(&self, path: &str) -> Option<String> {
        if path == "-" || is_url(path) {
            return None;
        }
        let rel = self
            .absolute(path)
            .strip_prefix(&self.absolute)
            .ok()?
            .to_path_buf();
        Some(slashes(&rel))
    }

    /// The form of `path` that exclude and allow globs are matched against: relative to the
    /// root when inside it, else the path as given (normalised, `/`-separated).
    pub fn match_path(&self, path: &str) -> String {
        if is_url(path) {
            return path.to_string();
        }
        self.relative(path).unwrap_or_else(|| {
            let p = Path::new(path);
            slashes(&normalize(p))
        })
    }
}

/// True for a finding path that is a URL (`s3://bucket/key`), not a file path.
pub fn is_url(path: &str) -> bool {
    path.starts_with("s3://")
}

fn slashes(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let joined = parts.join("/");
    if path.has_root() {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Removes `.` components and resolves `..` lexically (no file system access).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_inside_and_outside_the_root() {
        let root = ScanRoot {
            absolute: PathBuf::from("/w/repo"),
            base: PathBuf::from("/w"),
            cwd: PathBuf::from("/w"),
        };
        assert_eq!(root.relative("./repo/a/b.env").as_deref(), Some("a/b.env"));
        assert_eq!(root.relative("/w/repo/x").as_deref(), Some("x"));
        assert_eq!(root.relative("other/x"), None);
        assert_eq!(root.relative("-"), None);
        assert_eq!(root.match_path("./other/x"), "other/x");
    }
}
