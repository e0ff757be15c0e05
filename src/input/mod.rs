//! Where bytes come from: files and directories (walked in parallel), stdin, archive members
//! ([`archive`]), text behind an encoding ([`decode`]) and git history ([`git`]).
//!
//! Every input yields blobs of bytes together with an [`Origin`] that says where they came
//! from; the detector never sees a path.

pub mod archive;
pub mod decode;
pub mod file;
pub mod fs;
pub mod git;
pub mod joined;
pub mod office;
pub mod pdf;
pub mod sqlite;

use serde::{Deserialize, Serialize};

/// Where a blob came from. Fields that do not apply are `None` and left out of reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The file path as reached from the scan roots (`-` for stdin).
    pub path: String,
    /// The member inside an archive (`config/prod.env`), when the blob came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_member: Option<String>,
    /// The decoding that revealed the bytes (`base64`, `utf-16le`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded_from: Option<String>,
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
}

/// An input that could not be read: reported with its path, and the scan goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
