//! Helpers shared by the integration tests: made-up credentials, running the real binary and
//! reading its JSON report, writing input files.
//!
//! All keys here are made up (random base32 / base64), never real credentials.

// Each test binary compiles this module and uses only some of it.
#![allow(dead_code)]

pub mod moto;
pub mod pytools;

use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use assert_cmd::Command;
use keysweep::config::{Config, ScanRoot};
use keysweep::pipeline::{self, Event, Verdict};
use keysweep::report;
use keysweep::{Detector, ScanOptions};
use serde_json::Value;

/// The main made-up key pair.
pub const KEY: &str = "AKIAR7VZ3MOXQ4JTLW2N";
pub const SECRET: &str = "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";
/// A second made-up long-term key ID.
pub const OTHER_KEY: &str = "AKIAW4NZ7QK2XHR3MT5P";
/// A made-up key ID used without a secret.
pub const LONE_KEY: &str = "AKIA5FJ3RQM2WZ7XK4TB";
/// A made-up temporary (session) key ID and session token.
pub const SESSION_KEY: &str = "ASIAT4PZQ6HNB2LKW7XM";
pub const TOKEN: &str = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6Wn3q4Zk8sR2vLm0pXc7yTg5hJd9fBe1oKa6uNiMwQIgS3rV8lYq2Zp4mWx7cTf1bHn6gKd0jRe9sUa5oLi3kqKgQIIhAAGgwxMjM0NTY3ODkwMTIiDGx1c2Vyc2Vzc2lvbg";
/// A made-up key pair whose key ID decodes to account 210987654321.
pub const ACCOUNT_KEY: &str = "AKIATCH6YDSYSNSRGJYO";
pub const ACCOUNT_SECRET: &str = "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";
/// A made-up key ID in a Thinkst canary-token account (171436882533), and a secret to go with
/// it.
pub const CANARY_KEY: &str = "AKIASP2TPHJSVHZKOTPE";
pub const CANARY_SECRET: &str = "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";

/// The real `keysweep` binary.
pub fn keysweep() -> Command {
    Command::cargo_bin("keysweep").unwrap()
}

/// `keysweep scan --format json`, to finish with arguments, paths and a working directory.
pub fn json_scan() -> Command {
    let mut cmd = keysweep();
    cmd.args(["scan", "--format", "json"]);
    cmd
}

/// One run of a `--format json` command: exit code, findings, stderr.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub findings: Vec<Value>,
    pub stderr: String,
}

impl Run {
    /// Reads a run whose stdout may be empty (usage errors print no report): stdout that is not a
    /// JSON report counts as no findings.
    pub fn lenient(out: Output) -> Run {
        let code = exit_code(&out);
        Run {
            code,
            findings: serde_json::from_slice(&out.stdout).unwrap_or_default(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Reads a run whose stdout must be one JSON report (the test fails otherwise).
    pub fn report(out: Output) -> Run {
        let code = exit_code(&out);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let findings: Vec<Value> = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON report ({e}): {stdout}"));
        Run {
            code,
            findings,
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// The key ID of each finding ("" for none), in report order.
    pub fn key_ids(&self) -> Vec<&str> {
        self.findings
            .iter()
            .map(|f| f["key_id"].as_str().unwrap_or(""))
            .collect()
    }

    /// The key ID of each finding ("" for none), sorted.
    pub fn sorted_key_ids(&self) -> Vec<&str> {
        let mut ids = self.key_ids();
        ids.sort_unstable();
        ids
    }
}

/// The detector of the built-in rules (what `keysweep scan` builds without `--rules` or a
/// config), built once for every in-process scan.
pub fn builtin_detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| Detector::new(keysweep::rules::builtin()).expect("built-in rules"))
}

/// What `keysweep scan --format json --show-secrets -q DIR` does, in-process through the
/// library with the binary's defaults (no config file, as in this repository): the scan
/// (`opts`), the post-scan pipeline, the JSON report. The exit code is the binary's (0 clean,
/// 1 findings, 2 incomplete); `stderr` holds what the pipeline reports (warnings, inputs not
/// scanned, input errors), one a line as the binary writes them.
pub fn scan_in_process(dir: &Path, opts: &ScanOptions) -> Run {
    let detector = builtin_detector();
    let roots = [dir.to_path_buf()];
    let config = Config::default();
    let root = ScanRoot::for_paths(&roots).expect("scan root");
    let outcome = keysweep::scan_paths(detector, &roots, opts);
    let mut pipeline_opts = pipeline::Options::new(&config, &root);
    pipeline_opts.show_secrets = true;
    let mut stderr = String::new();
    let processed = pipeline::run(outcome, detector, &pipeline_opts, &mut |event| {
        let line = match event {
            Event::Warning(w) => format!("keysweep: warning: {w}"),
            Event::NotScanned(s) => format!("keysweep: not scanned: {s}"),
            Event::InputError(e) => format!("keysweep: error: {e}"),
            _ => return,
        };
        stderr.push_str(&line);
        stderr.push('\n');
    })
    .expect("the post-scan pipeline");
    let code = match processed.verdict() {
        Verdict::Findings => 1,
        Verdict::Incomplete => 2,
        _ => 0,
    };
    let mut json = Vec::new();
    let context = report::Context {
        rules: detector.rules(),
        root: Some(&root),
        suppressed: &processed.suppressed,
        show_secrets: true,
        ..Default::default()
    };
    report::write(
        &mut json,
        &processed.outcome.findings,
        report::Format::Json,
        &context,
    )
    .expect("write the report");
    let findings: Vec<Value> = serde_json::from_slice(&json).expect("one JSON report");
    Run {
        code,
        findings,
        stderr,
    }
}

/// The exit code; a process ended by a signal fails the test.
pub fn exit_code(out: &Output) -> i32 {
    out.status.code().expect("keysweep exited by a signal")
}

/// Writes `data` to `dir/rel`, creating the parent directories.
pub fn write(dir: &Path, rel: &str, data: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, data).unwrap();
}
