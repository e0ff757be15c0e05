//! keysweep: find leaked AWS credentials, tell whose they are, say how to shut them down.
//!
//! The stages, in the order data flows through them:
//! [`input`] (bytes with an origin) -> [`detect`] (prefilter, confirm, check, pair) ->
//! [`finding`] (located, fingerprinted findings) -> [`report`] (text, JSON, JSONL).
//! [`rules`] holds the detection rules as data; [`scan`] wires the stages for one run.
//!
//! # Embedding
//!
//! The `keysweep` binary is a thin shell over this library: it parses arguments, calls a
//! scanner and [`pipeline::run`], prints, and maps the verdict to an exit code. An embedder
//! does the same with the types re-exported here:
//!
//! ```
//! use keysweep::{BlobScanner, Detector, Origin};
//!
//! let detector = Detector::new(keysweep::rules::builtin()).expect("the built-in rules compile");
//! let mut scanner = BlobScanner::new(&detector);
//! let text = b"aws_access_key_id = AKIAR7VZ3MOXQ4JTLW2N\n\
//!              aws_secret_access_key = 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\n";
//! let findings = scanner.scan_bytes(text, &Origin::file("deploy.env"));
//!
//! assert_eq!(findings.len(), 1);
//! let finding = &findings[0];
//! assert_eq!(finding.key_id.as_deref(), Some("AKIAR7VZ3MOXQ4JTLW2N"));
//! assert_eq!(finding.location.line, 1);
//! assert!(finding.fingerprint.len() >= 32);
//! ```
//!
//! Files and directories go through [`scan_paths`] (parallel walk, archives, decoding), and
//! its [`Outcome`] through [`pipeline::run`] (allow markers, config, baseline, verification,
//! remediation, redaction); [`report::write`] renders findings as text, JSON, JSON Lines,
//! SARIF or HTML.
//!
//! # Features
//!
//! All on by default. `cargo build --no-default-features` builds the detector, the file,
//! stream and document scanner, the pipeline and the reporters without libgit2, tokio, the
//! AWS SDK or the archive crates.
//!
//! - `git`: git history, ranges and staged changes ([`input::git`]), remote clones, policy
//!   read from a range's BASE ([`policy`]); libgit2, and memmap2 for pack files (the only
//!   memory-mapped files).
//! - `archive`: zip, tar, bzip2, xz and zstd opened (gzip and zlib streams are always
//!   decoded); without it, archives are scanned as raw bytes.
//! - `verify`: the network: STS verification ([`verify::verify`]), blast radius, S3 sources;
//!   the AWS SDK and tokio.
//! - `cli`: the `keysweep` binary (clap, completions, man pages, the progress line); needs the
//!   other three.

pub mod allow;
pub mod baseline;
pub mod bedrock;
pub mod config;
pub mod detect;
pub mod finding;
pub mod grammar;
pub mod input;
pub mod markup;
pub mod merge;
pub mod pipeline;
#[cfg(feature = "git")]
pub mod policy;
pub mod remediate;
pub mod report;
pub mod root;
pub mod rules;
pub mod scan;
pub mod shard;
pub mod shell;
pub mod term;
pub mod verify;

pub use config::{Config, ScanRoot};
pub use detect::Detector;
pub use finding::{Finding, Kind, Severity};
pub use input::Origin;
pub use pipeline::Processed;
pub use report::Format;
pub use rules::Rule;
pub use scan::{scan_paths, BlobScanner, Outcome, ScanOptions};
