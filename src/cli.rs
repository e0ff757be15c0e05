//! Command-line definitions (clap derive) and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// Find leaked AWS credentials in files, archives and git history.
#[derive(Debug, Parser)]
#[command(name = "keysweep", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories ("-" reads stdin) for AWS credentials.
    Scan(ScanArgs),
    /// List the detection rules, or check a rules directory against its own examples.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; "-" reads stdin.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Also scan files excluded by .gitignore / .ignore / .git/info/exclude.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links while walking directories (loops are reported, not followed).
    #[arg(short = 'L', long)]
    pub follow: bool,
    /// Nesting levels of archives and compressed files to open (zip, tar, gz, bz2, xz, zst);
    /// 0 scans them as raw bytes.
    #[arg(long, value_name = "N", default_value_t = crate::input::archive::DEFAULT_DEPTH)]
    pub archive_depth: u32,
    /// Decompressed bytes allowed per archive (e.g. 4G); past it the rest of the archive is
    /// skipped with a warning.
    #[arg(long, value_name = "SIZE", default_value = "1G",
          value_parser = crate::input::archive::parse_size)]
    pub max_archive_bytes: u64,
    /// Decompressed-to-compressed size ratio allowed per archive once it passes 8 MiB; past it
    /// the rest of the archive is skipped with a warning (decompression bombs).
    #[arg(long, value_name = "N", default_value_t = crate::input::archive::DEFAULT_MAX_RATIO)]
    pub max_ratio: u64,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options every scanning command shares.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets and session tokens in full (they are redacted by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Extra rules: every *.toml file in DIR, added to the built-in rules.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Exit code to use when findings remain (default 1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: i32,
    /// When to colour the text report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Do not print the summary line on stderr (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not show the progress line (shown on stderr only when it is a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print the rules in use: id, name, keywords.
    List {
        /// Extra rules directory to list with the built-in ones.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Validate a rules directory (default: the built-in rules) and run every example and
    /// counter-example through the detector; exits 1 on any failure.
    Check {
        /// Directory of *.toml rule files.
        dir: Option<PathBuf>,
    },
}
