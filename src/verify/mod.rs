//! Verification: whose key is it, and is it live?
//!
//! Offline and always ([`annotate_offline`]): the owning account decoded from the key ID
//! ([`account`]) and the known canary-token accounts flagged ([`canary`]). Opt-in and over the
//! network ([`verify`]): `owner` asks STS GetAccessKeyInfo with the operator's own credentials
//! (the found secret is never sent); `live` signs STS GetCallerIdentity with the found pair.
//! Both make one request per distinct key, at most [`Options::concurrency`] at a time, with
//! timeouts and retries. The tokio runtime is created here and dropped before returning: the
//! scan itself never runs on it.

pub mod account;
pub mod blast;
pub mod canary;
#[cfg(feature = "verify")]
mod online;
#[cfg(feature = "verify")]
pub(crate) mod sts;

#[cfg(feature = "verify")]
pub use online::verify;

use std::collections::BTreeMap;
use std::time::Duration;

use thiserror::Error;

use crate::finding::{AccountIdSource, Finding};

/// Which network check `--verify` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// STS GetAccessKeyInfo with your own AWS credentials: the owning account; the found secret
    /// is never sent. Marks keys `owned` or `foreign` (see --my-accounts).
    Owner,
    /// STS GetCallerIdentity signed with each found key pair: `live` (with the ARN) or
    /// `inactive_or_invalid`. Uses the found secret and leaves a CloudTrail event in the
    /// owner's account.
    Live,
}

/// Settings of one verification run.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// Accounts that are yours (`owned`); empty: the account of your own credentials.
    pub my_accounts: Vec<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Time for one attempt of one request.
    pub timeout: Duration,
    /// Attempts per request (throttling and transient failures are retried with backoff).
    pub max_attempts: u32,
    /// Least time between two IAM requests of `--blast-radius`.
    pub pace: Duration,
}

impl Options {
    /// The runtime the requests run on (one thread) and the limits of each request.
    #[cfg(feature = "verify")]
    pub(crate) fn runtime(&self) -> Result<(tokio::runtime::Runtime, sts::Limits), VerifyError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let limits = sts::Limits {
            attempt_timeout: self.timeout,
            max_attempts: self.max_attempts,
        };
        Ok((runtime, limits))
    }

    pub fn new(mode: Mode, my_accounts: Vec<String>) -> Options {
        Options {
            mode,
            my_accounts,
            concurrency: 8,
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            pace: Duration::from_millis(50),
        }
    }
}

/// A verification run that could not start at all (per-key failures are `error` statuses).
#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("cannot start the async runtime for verification: {0}")]
    Runtime(#[from] std::io::Error),
}

/// What a run did, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// STS requests sent.
    pub requests: usize,
    /// Distinct keys checked, by resulting status.
    pub by_status: BTreeMap<&'static str, usize>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: usize = self.by_status.values().sum();
        write!(
            f,
            "{keys} distinct key{} checked with {} STS request{}",
            if keys == 1 { "" } else { "s" },
            self.requests,
            if self.requests == 1 { "" } else { "s" }
        )?;
        let parts: Vec<String> = self
            .by_status
            .iter()
            .map(|(status, n)| format!("{n} {status}"))
            .collect();
        if !parts.is_empty() {
            write!(f, ": {}", parts.join(", "))?;
        }
        Ok(())
    }
}

/// The command-line name of a mode.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Owner => "owner",
        Mode::Live => "live",
    }
}

/// Sets `account_id` (`account_id_source: "decoded"`) from each finding's key ID and flags
/// known canary-token accounts. Keys whose format does not encode the account (5th character
/// `I` or `J`) keep `account_id` absent. No network.
pub fn annotate_offline(findings: &mut [Finding]) {
    for finding in findings {
        if finding.account_id.is_none() {
            if let Some(account) = finding
                .key_id
                .as_deref()
                .and_then(|k| account::account_id(k).ok())
            {
                finding.account_id = Some(account);
                finding.account_id_source = Some(AccountIdSource::Decoded);
            }
        }
        flag_canary(finding);
    }
}

fn flag_canary(finding: &mut Finding) {
    if finding
        .account_id
        .as_deref()
        .is_some_and(canary::is_canary_account)
    {
        finding.canary = true;
    }
}
