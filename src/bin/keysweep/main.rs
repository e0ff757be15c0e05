//! The `keysweep` binary: parse arguments, run a command, map the outcome to an exit code
//! (0 clean, 1 findings, 2 usage or input error with no findings). Each subcommand is one
//! module; what a scan means after it ran (filters, baseline, verification, redaction) is the
//! library's [`keysweep::pipeline`], and this binary only prints it.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use cli::{Cli, Command, RulesCommand};

/// Writes a line to stderr. A closed stderr (`keysweep ... 2>&1 | head -1`) is not an
/// error of the scan: the line is dropped and the scan finishes with its own exit code.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod cli;
mod git;
mod manual;
mod merge;
mod output;
mod progress;
mod remediate;
mod rules;
mod scan;
mod setup;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // Errors may quote paths and names from scanned data: escaped for the terminal.
            note!(
                "keysweep: error: {}",
                keysweep::term::escape(&describe(&err))
            );
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Git(args) => git::run(args),
        Command::Rules(RulesCommand::List { rules }) => rules::list(rules.as_deref()),
        Command::Rules(RulesCommand::Check { dir }) => rules::check(dir.as_deref()),
        Command::Remediate(args) => remediate::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Completions { shell } => manual::completions(shell),
        Command::Man { dir } => manual::man(dir.as_deref()),
    }
}

/// Worker threads per core above which `-j` is capped: more only adds contention.
const MAX_THREADS_PER_CORE: usize = 4;

/// `-j N`, capped at [`MAX_THREADS_PER_CORE`] per core (with a warning).
fn threads(requested: usize) -> usize {
    let cores = keysweep::input::cores();
    let cap = cores * MAX_THREADS_PER_CORE;
    if requested > cap {
        note!(
            "keysweep: warning: -j {requested} capped to {cap} ({MAX_THREADS_PER_CORE} per core \
             on {cores} core{})",
            keysweep::term::plural(cores as u64)
        );
        cap
    } else {
        requested
    }
}

/// An error and its causes on one line, each said once (library errors often carry their
/// source in their own message already).
fn describe(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}
