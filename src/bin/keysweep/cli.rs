//! Command-line definitions (clap derive) and nothing else. The library knows nothing of
//! clap: the value enums here mirror library types and convert into them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find leaked AWS credentials in files, archives and git history.
#[derive(Debug, Parser)]
#[command(name = "keysweep", version = env!("KEYSWEEP_VERSION"), about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files, directories and S3 buckets (s3://BUCKET/PREFIX; "-" reads stdin) for AWS
    /// credentials.
    Scan(ScanArgs),
    /// Scan a git repository: the whole history (every blob once), a range (the pull-request
    /// gate) or the staged changes (the pre-commit hook).
    Git(GitArgs),
    /// List the detection rules, or check a rules directory against its own examples.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Turn a JSON report (file, or "-" for stdin) into a response playbook, one section per key.
    Remediate(RemediateArgs),
    /// Combine JSON / JSON Lines reports (e.g. of `--shard` jobs) into one report: duplicates
    /// dropped by fingerprint, one sort order, exit code as a scan's.
    Merge(MergeArgs),
    /// Print a shell completion script to stdout (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or write one page per command into DIR.
    Man {
        /// Write keysweep.1 and keysweep-COMMAND.1 pages into DIR instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan, and S3 locations (s3://BUCKET or s3://BUCKET/PREFIX);
    /// "-" reads stdin.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Also scan files excluded by .gitignore / .ignore / .git/info/exclude.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links while walking directories (loops are reported, not followed).
    #[arg(short = 'L', long)]
    pub follow: bool,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Scan only part K of N (K from 0 to N-1): files are split by a stable hash of their
    /// path as reached from the scan roots (S3 objects by `bucket/key`), so N jobs given the
    /// same paths cover every file and object exactly once; `keysweep merge` joins their reports.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<keysweep::shard::Shard>,
    /// S3: scan every version of every object, those behind delete markers included
    /// (ListObjectVersions), not only the current ones.
    #[arg(long)]
    pub all_versions: bool,
    /// S3: scan only keys matching GLOB (repeatable; `*` also matches `/`). Matched against
    /// the whole key.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// S3: do not scan keys matching GLOB (repeatable; wins over --include).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// S3: accept the request and transfer charges of requester-pays buckets.
    #[arg(long)]
    pub request_payer: bool,
    /// S3: downloads (GET requests) in flight at once. [default: 16]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub s3_concurrency: Option<u16>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// How archives and compressed data are opened (files, streams and git blobs alike).
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Nesting levels of archives and compressed files to open (zip, tar, gz, bz2, xz, zst);
    /// 0 scans them as raw bytes. [default: 3, or the config's `archive_depth`]
    #[arg(long, value_name = "N")]
    pub archive_depth: Option<u32>,
    /// Decompressed bytes allowed per input (e.g. 4G); past it what is left is not scanned
    /// and is reported. [default: 1G, or the config's `max_archive_bytes`]
    #[arg(long, value_name = "SIZE", value_parser = keysweep::input::archive::parse_size)]
    pub max_archive_bytes: Option<u64>,
    /// Decompressed-to-compressed size ratio allowed per compressed stream or zip member once
    /// it passes 8 MiB; past it the rest of that stream or member is not scanned and is
    /// reported (decompression bombs).
    /// [default: 1000, or the config's `max_ratio`]
    #[arg(long, value_name = "N")]
    pub max_ratio: Option<u64>,
    /// Nesting levels of encodings to decode (base64 inside base64, gzip inside base64, ...);
    /// 0 decodes nothing but UTF-16 files.
    #[arg(long, value_name = "N", default_value_t = keysweep::detect::decode::DEFAULT_DEPTH)]
    pub decode_depth: u32,
}

#[derive(Debug, Args)]
pub struct GitArgs {
    /// The repository: its work tree (or any directory inside it), its git directory, or a
    /// URL (https://, ssh://, git://, file://, user@host:path), which is cloned bare with
    /// all its refs into a temporary directory by `git` (your credential helpers and ssh
    /// agent apply), scanned, and removed.
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// With a URL: clone into DIR (missing or empty) and keep it after the scan.
    #[arg(long, value_name = "DIR")]
    pub keep_clone: Option<PathBuf>,
    /// Scan only part K of N (K from 0 to N-1): blobs are split by a stable hash of the path
    /// they first appeared at, so N jobs cover every blob exactly once; `keysweep merge`
    /// joins their reports into the unsharded report.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<keysweep::shard::Shard>,
    /// Only what the commits in BASE..HEAD wrote; a credential BASE already held is not
    /// reported (the pull-request gate).
    #[arg(long, value_name = "BASE..HEAD", conflicts_with_all = ["since_commit", "staged", "all_objects"])]
    pub range: Option<String>,
    /// Same as --range SHA..HEAD.
    #[arg(long, value_name = "SHA", conflicts_with_all = ["staged", "all_objects"])]
    pub since_commit: Option<String>,
    /// Only the lines `git commit` would add now (the index against HEAD): the pre-commit
    /// hook. A staged binary, archive or compressed file is scanned whole.
    #[arg(long, conflicts_with = "all_objects")]
    pub staged: bool,
    /// Also scan objects no ref reaches (dangling commits and blobs, e.g. left by a force
    /// push or a reset, until git's garbage collection removes them).
    #[arg(long)]
    pub all_objects: bool,
    /// With --range / --since-commit: accept changes the range makes to keysweep's policy
    /// (config file, rules directory, baseline, new `keysweep:allow` markers on credential
    /// lines). They are still reported, as suppressed; without this flag they fail the gate.
    #[arg(long)]
    pub allow_policy_change: bool,
    #[command(flatten)]
    pub archive: ArchiveArgs,
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
    /// Worker threads (default: one per core; at most 4 per core).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    pub print: PrintArgs,
    /// Accept the findings of an earlier JSON report: only findings whose fingerprint is not
    /// in FILE are reported (and fail the run).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the current findings (secrets redacted) to FILE as a baseline.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Config file (default: .keysweep.toml at the root of the repository keysweep runs in,
    /// i.e. of the current directory's work tree; never one inside the scanned data; with
    /// `git --range`, the one BASE has).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Use no config file at all (built-in defaults).
    #[arg(long)]
    pub no_config: bool,
    /// JSON and JSON Lines: also list the suppressed findings (inline marker, allow-list,
    /// baseline), each with a `suppression` object. SARIF always lists them as suppressed
    /// results.
    #[arg(long)]
    pub include_suppressed: bool,
    /// Report everything, for audits: ignore inline `keysweep:allow` markers and the config's
    /// [[allow]] entries.
    #[arg(long)]
    pub no_allow: bool,
    /// Check the found keys over the network with AWS STS (off by default): "owner" asks
    /// GetAccessKeyInfo with your own AWS credentials (never sends the found secret); "live"
    /// signs GetCallerIdentity with each found key pair (uses the secret and leaves a
    /// CloudTrail event in the owner's account).
    #[arg(long, value_enum, value_name = "MODE")]
    pub verify: Option<VerifyMode>,
    /// Your AWS account IDs (comma-separated, 12 digits each): keys of these accounts are
    /// "owned", others "foreign" (default: the account of your own AWS credentials).
    #[arg(long, value_name = "ID,...", value_delimiter = ',', value_parser = parse_account_id)]
    pub my_accounts: Vec<String>,
    /// For keys in your own accounts (implies --verify owner): who owns each key, what its
    /// policies allow and when it was last used, from read-only IAM calls with your own
    /// credentials (never the found secret); sets a `risk` that raises or lowers severity.
    #[arg(long)]
    pub blast_radius: bool,
    /// Do not show the progress line (shown on stderr only when it is a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Exit 0 when nothing was found even if something was not scanned (inputs that could
    /// not be read, members past a limit, encrypted or unsupported members, special files);
    /// by default that exits 2, since the scan cannot say the data is clean.
    #[arg(long)]
    pub allow_incomplete: bool,
}

/// A 12-digit AWS account ID.
fn parse_account_id(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a 12-digit AWS account ID"))
    }
}

/// Options of `keysweep remediate`.
#[derive(Debug, Args)]
pub struct RemediateArgs {
    /// A keysweep JSON or JSON Lines report (`scan --format json`); "-" or none reads stdin.
    pub report: Option<PathBuf>,
    /// Playbook format: a Markdown checklist, or a bash script whose changes run only with
    /// `--execute`.
    #[arg(long, value_enum, default_value_t = PlaybookFormat::Md)]
    pub format: PlaybookFormat,
    /// Language of the explanations (commands are the same in every language).
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// Write the playbook to FILE instead of stdout (an sh playbook is made executable).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Look up the blast radius of the report's keys that are in your accounts (read-only IAM
    /// calls with your own credentials; keys not yet verified are checked with STS
    /// GetAccessKeyInfo first).
    #[arg(long)]
    pub blast_radius: bool,
    /// Your AWS account IDs for --blast-radius (default: the account of your credentials).
    #[arg(long, value_name = "ID,...", value_delimiter = ',', value_parser = parse_account_id)]
    pub my_accounts: Vec<String>,
    /// Show secrets in full in the HTML report (redacted by default).
    #[arg(long)]
    pub show_secrets: bool,
}

/// Options of `keysweep merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// keysweep reports written with `--format json` or `--format jsonl` ("-" reads stdin).
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Extra rules the reports' findings may name (SARIF describes every rule).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub print: PrintArgs,
}

/// How a command that reports findings ends: its exit code, colour, the summary line.
#[derive(Debug, Args)]
pub struct PrintArgs {
    /// Exit code to use when findings remain (default 1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: i32,
    /// When to colour the text report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Do not print the summary line on stderr (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
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

/// Output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, grouped by file.
    Text,
    /// One JSON array of findings.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// SARIF 2.1.0, for code scanning (GitHub, GitLab, IDEs).
    Sarif,
    /// A standalone HTML incident report: keys by account, blast radius, places, timeline,
    /// playbooks; one file, no network.
    Html,
}

impl From<Format> for keysweep::report::Format {
    fn from(format: Format) -> Self {
        use keysweep::report::Format as F;
        match format {
            Format::Text => F::Text,
            Format::Json => F::Json,
            Format::Jsonl => F::Jsonl,
            Format::Sarif => F::Sarif,
            Format::Html => F::Html,
        }
    }
}

/// Which network check `--verify` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyMode {
    /// STS GetAccessKeyInfo with your own AWS credentials: the owning account; the found secret
    /// is never sent. Marks keys `owned` or `foreign` (see --my-accounts).
    Owner,
    /// STS GetCallerIdentity signed with each found key pair: `live` (with the ARN) or
    /// `inactive_or_invalid`. Uses the found secret and leaves a CloudTrail event in the
    /// owner's account.
    Live,
}

impl From<VerifyMode> for keysweep::verify::Mode {
    fn from(mode: VerifyMode) -> Self {
        match mode {
            VerifyMode::Owner => keysweep::verify::Mode::Owner,
            VerifyMode::Live => keysweep::verify::Mode::Live,
        }
    }
}

/// Language of the explanations (`why`, headings, messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Korean (한국어).
    Ko,
}

impl From<Lang> for keysweep::remediate::Lang {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::En => keysweep::remediate::Lang::En,
            Lang::Ko => keysweep::remediate::Lang::Ko,
        }
    }
}

/// Playbook formats of `keysweep remediate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlaybookFormat {
    /// A Markdown checklist, grouped per key.
    Md,
    /// A bash script: lookups run, changes only with `--execute`.
    Sh,
    /// A standalone HTML incident report (the same page as `scan --format html`).
    Html,
}

impl From<PlaybookFormat> for keysweep::remediate::PlaybookFormat {
    fn from(format: PlaybookFormat) -> Self {
        use keysweep::remediate::PlaybookFormat as P;
        match format {
            PlaybookFormat::Md => P::Md,
            PlaybookFormat::Sh => P::Sh,
            PlaybookFormat::Html => P::Html,
        }
    }
}
