//! The integration test suite as one test binary: one link of the library and its SDKs instead
//! of one per file (each file below was its own binary; they keep their names as modules, so
//! `cargo test --release --test suite s3::` runs what `--test s3` used to). Shared helpers live
//! in `common` only (`common::moto`, `common::pytools`).

mod common;
// The binary's clap definitions, for the docs test that parses every documented command line.
#[path = "../src/bin/keysweep/cli.rs"]
#[allow(dead_code)]
mod cli_args;

mod archives;
mod baseline;
mod bedrock;
mod blast;
mod chunks;
mod cli;
mod config;
mod detection2;
mod docs;
mod formats;
mod fuzz_regressions;
mod git;
mod html;
mod manual;
mod messages;
mod pipeline;
mod reliability;
mod remediate;
mod remediate_props;
mod s3;
mod sarif;
mod sources;
mod structure;
mod test_tools;
mod trust;
mod verify;
