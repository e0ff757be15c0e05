//! keysweep: find leaked AWS credentials, tell whose they are, say how to shut them down.
//!
//! Data flows one way. A source ([`input`]: files, stdin, archives, git, S3) reads bytes and
//! hands each blob with its [`finding::Origin`] to a sink ([`input::Sink`]); in a scan the
//! sink is the scanner ([`scan`]), whose detector ([`detect`]: prefilter, confirm, check,
//! pair) and decoders ([`detect::decode`]) turn the blob into [`finding::Finding`]s. The
//! findings are then filtered, verified ([`verify`]), given remediation steps ([`remediate`])
//! and written ([`report`]). [`rules`] holds the detection rules as data.
//!
//! # Layers
//!
//! A module may use the modules of its own layer and of the layers below it, never those of
//! a layer above: nothing below reaches up. `tests/structure.rs` reads every `crate::` and
//! `super::` path in `src/` against this list (the longest module path listed decides) and
//! fails on a path that runs upward, or on a module that is in no layer. From the top:
//!
//! 1. the pipeline (what the binary calls after a scan): `pipeline`
//! 2. after the scan: `baseline`, `config`, `merge`, `policy`, `remediate`, `report`, `verify`
//! 3. scan: `scan`
//! 4. sources: `input`
//! 5. decoding: `detect::decode`
//! 6. findings: `finding`
//! 7. detection: `detect`, `allow`
//! 8. foundations: `aws`, `bedrock`, `grammar`, `markup`, `root`, `rules`, `shard`, `shell`, `term`, `time`
//!
//! The command line (`src/bin/keysweep/`) sits above them all and is not part of the library.
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
#[cfg(feature = "verify")]
pub mod aws;
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
pub mod time;
pub mod verify;

pub use config::{Config, ScanRoot};
pub use detect::Detector;
pub use finding::Origin;
pub use finding::{Finding, Kind, Severity};
pub use pipeline::Processed;
pub use report::Format;
pub use rules::Rule;
pub use scan::{scan_paths, BlobScanner, Outcome, ScanOptions};
