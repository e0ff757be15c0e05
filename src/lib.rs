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
//! 1. command line: `cli`, `manual`
//! 2. after the scan: `baseline`, `config`, `merge`, `policy`, `remediate`, `report`, `verify`
//! 3. scan: `scan`
//! 4. sources: `input`
//! 5. decoding: `detect::decode`
//! 6. findings: `finding`
//! 7. detection: `detect`, `allow`
//! 8. foundations: `bedrock`, `grammar`, `markup`, `rules`, `shard`, `shell`, `term`, `time`

pub mod allow;
pub mod baseline;
pub mod bedrock;
pub mod cli;
pub mod config;
pub mod detect;
pub mod finding;
pub mod grammar;
pub mod input;
pub mod manual;
pub mod markup;
pub mod merge;
pub mod policy;
pub mod remediate;
pub mod report;
pub mod rules;
pub mod scan;
pub mod shard;
pub mod shell;
pub mod term;
pub mod time;
pub mod verify;
