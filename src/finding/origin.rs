//! Where a finding's bytes came from: the path as reached from the scan roots (lossless when
//! it is not UTF-8), the archive member, the decoding that revealed them, and for git the
//! commit that introduced them. Every source fills one in for each blob it hands on.

use serde::{Deserialize, Serialize};

/// Where a blob came from. Fields that do not apply are `None` and left out of reports.
/// Made with [`Origin::file`] (or `Default`) and its fields set: more may come.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Origin {
    /// The file path as reached from the scan roots (`-` for stdin). A path that is not
    /// UTF-8 is written with each invalid byte as `\xNN` (and control characters and `\`
    /// escaped, as [`crate::term::escape_bytes`] does), and [`Self::path_bytes`] holds it
    /// exactly.
    pub path: String,
    /// Only for a path that is not UTF-8: its exact bytes, base64 (standard alphabet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
    /// The member inside an archive (`config/prod.env`), when the blob came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_member: Option<String>,
    /// The decoding that revealed the bytes (`base64`, `utf-16le`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded_from: Option<String>,
    /// The version of an S3 object (`s3://bucket/key` in `path`), when the bucket keeps
    /// versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The git commit that introduced the blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present_at_head: Option<bool>,
}

impl Origin {
    /// The origin of a plain file.
    pub fn file(path: impl Into<String>) -> Origin {
        Origin {
            path: path.into(),
            ..Origin::default()
        }
    }

    /// The origin of a file reached by the walk: lossless when the path is not UTF-8.
    pub fn from_path(path: &std::path::Path) -> Origin {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            Origin::from_path_bytes(path.as_os_str().as_bytes())
        }
        #[cfg(not(unix))]
        {
            Origin::file(path.display().to_string())
        }
    }

    /// The origin of a path given as bytes (a file name, a git tree path).
    pub fn from_path_bytes(bytes: &[u8]) -> Origin {
        match std::str::from_utf8(bytes) {
            Ok(path) => Origin::file(path),
            Err(_) => Origin {
                path: crate::term::escape_bytes(bytes),
                path_bytes: Some(base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    bytes,
                )),
                ..Origin::default()
            },
        }
    }

    /// The origin of a path made of [`path_key`] pieces.
    pub fn from_path_key(key: &str) -> Origin {
        if !key.contains(NOT_UTF8) {
            return Origin::file(key);
        }
        // Pieces alternate: as they are, escaped, as they are, ...
        let mut bytes = Vec::with_capacity(key.len());
        for (i, piece) in key.split(NOT_UTF8).enumerate() {
            if i % 2 == 0 {
                bytes.extend_from_slice(piece.as_bytes());
            } else {
                match crate::term::unescape_bytes(piece) {
                    Some(b) => bytes.extend_from_slice(&b),
                    None => bytes.extend_from_slice(piece.as_bytes()),
                }
            }
        }
        Origin::from_path_bytes(&bytes)
    }

    /// The exact bytes of the path.
    pub fn path_raw(&self) -> std::borrow::Cow<'_, [u8]> {
        self.path_bytes
            .as_deref()
            .and_then(|b| {
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok()
            })
            .map_or_else(
                || std::borrow::Cow::Borrowed(self.path.as_bytes()),
                std::borrow::Cow::Owned,
            )
    }

    /// The path as a terminal may show it (control characters escaped, see
    /// [`crate::term`]); a path that is not UTF-8 is already written that way.
    pub fn display_path(&self) -> String {
        if self.path_bytes.is_some() {
            self.path.clone()
        } else {
            crate::term::escape(&self.path).into_owned()
        }
    }

    /// The origin of member `name` of the blob from this origin (an archive member, a PDF
    /// stream, a SQLite table): the same input, its member chain one longer (joined by `!`).
    pub fn member(&self, name: &str) -> Origin {
        Origin {
            archive_member: Some(match &self.archive_member {
                Some(outer) => format!("{outer}!{name}"),
                None => name.to_string(),
            }),
            ..self.clone()
        }
    }

    /// The input as messages name it: `path`, `!member` inside archives, and ` @ version ID`
    /// for a versioned S3 object. Not escaped: the error that names it escapes it
    /// for the terminal.
    pub fn name(&self) -> String {
        let mut name = self.path.clone();
        if let Some(member) = &self.archive_member {
            name.push('!');
            name.push_str(member);
        }
        if let Some(version) = &self.version_id {
            name.push_str(" @ version ");
            name.push_str(version);
        }
        name
    }
}

/// Brackets the escaped form of bytes that are not UTF-8 in a [`path_key`]: no real path
/// holds a NUL.
const NOT_UTF8: char = '\0';

/// A path (or one name of it) as bytes, as a string that keeps it exactly: itself when UTF-8,
/// else its escaped form between NUL markers, so keys of names can be joined with `/`. For
/// inputs that keep paths as strings (git trees); turn a key into an origin with
/// [`Origin::from_path_key`].
pub fn path_key(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => std::borrow::Cow::Owned(format!(
            "{NOT_UTF8}{}{NOT_UTF8}",
            crate::term::escape_bytes(bytes)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_keys_keep_every_byte() {
        for path in [
            &b"a/b.env"[..],
            b"d\\x/a\xff.env",
            b"a\xfe.env",
            b"x\xff/y\\z/\xc3",
        ] {
            let key: String = path
                .split(|&b| b == b'/')
                .map(|n| path_key(n).into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let origin = Origin::from_path_key(&key);
            assert_eq!(&*origin.path_raw(), path, "{key:?}");
        }
        let a = Origin::from_path_bytes(b"a\xff.env");
        let b = Origin::from_path_bytes(b"a\xfe.env");
        assert_eq!(a.path, "a\\xff.env");
        assert_ne!(a.path, b.path);
        assert_eq!(a.path_bytes.as_deref(), Some("Yf8uZW52"));
        // A UTF-8 name that looks escaped stays itself and is told apart.
        let literal = Origin::from_path_bytes(b"a\\xff.env");
        assert!(literal.path_bytes.is_none());
        assert_ne!(&*literal.path_raw(), &*a.path_raw());
    }
}
