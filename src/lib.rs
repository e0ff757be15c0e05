//! keysweep: find leaked AWS credentials, tell whose they are, say how to shut them down.
//!
//! The stages, in the order data flows through them:
//! [`input`] (bytes with an origin) -> [`detect`] (prefilter, confirm, check, pair) ->
//! [`finding`] (located, fingerprinted findings) -> [`report`] (text, JSON, JSONL).
//! [`rules`] holds the detection rules as data; [`scan`] wires the stages for one run.

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
