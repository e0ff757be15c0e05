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
pub mod s3;

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

    /// The input as messages name it: `path`, `!member` inside archives, and ` @ version ID`
    /// for a versioned S3 object.
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
