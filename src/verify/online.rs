//! The network side of verification (feature `verify`): STS calls on a tokio runtime that is
//! created here and dropped before returning.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::sts::{self, CallError, Identity};
use super::{flag_canary, Mode, Options, Summary, VerifyError};
use crate::finding::{AccountIdSource, Finding, KeyType, Kind, VerificationStatus};

/// Runs the network check of `opts.mode` on `findings` (which must still hold their full
/// secrets) and records the outcome in each finding's `verification`, `account_id` and
/// `account_id_source`. Call [`annotate_offline`] first.
pub fn verify(findings: &mut [Finding], opts: &Options) -> Result<Summary, VerifyError> {
    let (runtime, limits) = opts.runtime()?;
    let summary = runtime.block_on(async {
        let config = sts::load_config(limits).await;
        match opts.mode {
            Mode::Owner => verify_owner(findings, opts, &config).await,
            Mode::Live => verify_live(findings, opts, &config).await,
        }
    });
    Ok(summary)
}

/// Runs `call` on every item, at most `concurrency` at a time; results in input order (`None`
/// for a task that did not finish, which only a panic inside it can cause).
async fn bounded<T, R, F, Fut>(items: Vec<T>, concurrency: usize, call: F) -> Vec<Option<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R> + Send + 'static,
{
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let n = items.len();
    for (i, item) in items.into_iter().enumerate() {
        let semaphore = Arc::clone(&semaphore);
        let fut = call(item);
        set.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (i, fut.await)
        });
    }
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined {
            out[i] = Some(r);
        }
    }
    out
}

const TASK_LOST: &str = "internal error: the verification task stopped";

async fn verify_owner(
    findings: &mut [Finding],
    opts: &Options,
    config: &aws_config::SdkConfig,
) -> Summary {
    let client = sts::operator_client(config);
    let mut summary = Summary::default();
    let keys: Vec<String> = findings
        .iter()
        .filter_map(|f| f.key_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // A Bedrock long-term key names its account itself: no key ID to look up, and no request.
    let named = |f: &Finding| f.kind == Kind::BedrockLongTermKey && f.account_id.is_some();
    if keys.is_empty() && !findings.iter().any(named) {
        return summary;
    }
    // Whose accounts are "mine": --my-accounts, else the account of the operator's credentials.
    let (mine, mine_label) = if opts.my_accounts.is_empty() {
        summary.requests += 1;
        match sts::caller_identity(&client).await {
            Ok(Identity {
                account: Some(a), ..
            }) => (vec![a], "the account of your AWS credentials"),
            _ => (Vec::new(), "--my-accounts"),
        }
    } else {
        (opts.my_accounts.clone(), "--my-accounts")
    };
    summary.requests += keys.len();
    let answers = bounded(keys.clone(), opts.concurrency, |key| {
        let client = client.clone();
        async move { sts::access_key_info(&client, &key).await }
    })
    .await;
    let results: BTreeMap<String, Result<String, CallError>> = keys
        .into_iter()
        .zip(answers)
        .map(|(k, a)| {
            (
                k,
                a.unwrap_or_else(|| Err(CallError::Failed(TASK_LOST.into()))),
            )
        })
        .collect();
    for finding in findings.iter_mut().filter(|f| f.key_id.is_none()) {
        if named(finding) {
            let account = finding.account_id.clone().unwrap_or_default();
            let owned = mine.contains(&account);
            finding.verification.status = if owned {
                VerificationStatus::Owned
            } else {
                VerificationStatus::Foreign
            };
            *summary
                .by_status
                .entry(finding.verification.status.as_str())
                .or_default() += 1;
            finding.verification.message = Some(format!(
                "account {account}, as the Bedrock API key names it (no request needed), {}",
                if owned {
                    format!("is yours ({mine_label})")
                } else if mine.is_empty() {
                    "and your own account is unknown: pass --my-accounts".to_string()
                } else {
                    format!("is not yours ({mine_label}: {})", mine.join(", "))
                }
            ));
            continue;
        }
        finding.verification.message =
            Some("no key ID found with this secret: nothing to look up".to_string());
    }
    for (key, result) in &results {
        let status = match result {
            Ok(account) if mine.contains(account) => VerificationStatus::Owned,
            Ok(_) => VerificationStatus::Foreign,
            Err(_) => VerificationStatus::Error,
        };
        *summary.by_status.entry(status.as_str()).or_default() += 1;
        for finding in findings
            .iter_mut()
            .filter(|f| f.key_id.as_deref() == Some(key))
        {
            finding.verification.status = status;
            match result {
                Ok(account) => {
                    finding.account_id = Some(account.clone());
                    finding.account_id_source = Some(AccountIdSource::Sts);
                    flag_canary(finding);
                    finding.verification.message = Some(if status == VerificationStatus::Owned {
                        format!("account {account} is yours ({mine_label})")
                    } else if mine.is_empty() {
                        format!(
                            "account {account}; your own account is unknown (your credentials \
                             did not answer GetCallerIdentity): pass --my-accounts"
                        )
                    } else {
                        format!(
                            "account {account} is not yours ({mine_label}: {})",
                            mine.join(", ")
                        )
                    });
                }
                Err(err) => {
                    finding.verification.message =
                        Some(format!("STS GetAccessKeyInfo failed: {err}"));
                }
            }
        }
    }
    summary
}

/// A candidate secret of a key and what STS answered when it signed with it.
type Attempt = (Candidate, Result<Identity, CallError>);

/// One live check: a key with one candidate secret (and token).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    secret: String,
    token: Option<String>,
}

/// Findings that cannot be checked live, and why; `None` when they can.
fn live_skip_reason(finding: &Finding) -> Option<String> {
    if finding.kind.is_bedrock() {
        return Some(
            "a Bedrock API key is a bearer token for Bedrock only, not a key pair: not verified \
             live (--verify owner finds its account)"
                .to_string(),
        );
    }
    let key = finding.key_id.as_deref()?;
    if finding.canary {
        return Some(format!(
            "known canary-token account {}: not verified live (any use of the key alerts \
             whoever planted it)",
            finding.account_id.as_deref().unwrap_or("?")
        ));
    }
    if KeyType::of(key) == Some(KeyType::Temporary)
        && finding.secret.is_some()
        && finding.session_token.is_none()
    {
        return Some(
            "temporary key without its session token: cannot be verified live".to_string(),
        );
    }
    None
}

async fn verify_live(
    findings: &mut [Finding],
    opts: &Options,
    config: &aws_config::SdkConfig,
) -> Summary {
    let mut summary = Summary::default();
    // key ID -> the distinct secrets (and tokens) found with it.
    let mut groups: BTreeMap<String, BTreeSet<Candidate>> = BTreeMap::new();
    for finding in findings.iter() {
        if live_skip_reason(finding).is_some() {
            continue;
        }
        if let (Some(key), Some(secret)) = (&finding.key_id, &finding.secret) {
            groups.entry(key.clone()).or_default().insert(Candidate {
                secret: secret.clone(),
                token: finding.session_token.clone(),
            });
        }
    }
    summary.requests = groups.values().map(BTreeSet::len).sum();
    let config = config.clone();
    let jobs: Vec<(String, Vec<Candidate>)> = groups
        .into_iter()
        .map(|(k, c)| (k, c.into_iter().collect()))
        .collect();
    let keys: Vec<String> = jobs.iter().map(|(k, _)| k.clone()).collect();
    let answers = bounded(jobs, opts.concurrency, |(key, candidates)| {
        let config = config.clone();
        async move { check_key(&config, &key, candidates).await }
    })
    .await;
    let results: BTreeMap<String, Vec<Attempt>> = keys
        .into_iter()
        .zip(answers)
        .map(|(k, a)| (k, a.unwrap_or_default()))
        .collect();

    let mut key_status: BTreeMap<String, VerificationStatus> = BTreeMap::new();
    for finding in findings.iter_mut() {
        if let Some(reason) = live_skip_reason(finding) {
            finding.verification.message = Some(reason);
            continue;
        }
        let Some(key) = finding.key_id.clone() else {
            finding.verification.message =
                Some("no key ID found with this secret: cannot be verified live".to_string());
            continue;
        };
        let Some(tried) = results.get(&key) else {
            finding.verification.message = Some(
                "no secret found with this key ID: live verification needs the pair \
                 (--verify owner needs only the key ID)"
                    .to_string(),
            );
            continue;
        };
        // The exact pair of this finding, else (a lone key ID) the best answer for the key.
        let own = finding.secret.as_ref().and_then(|secret| {
            tried.iter().find(|(c, _)| {
                &c.secret == secret && c.token.as_ref() == finding.session_token.as_ref()
            })
        });
        let chosen = own.or_else(|| {
            tried
                .iter()
                .find(|(_, r)| r.is_ok())
                .or_else(|| {
                    tried
                        .iter()
                        .find(|(_, r)| matches!(r, Err(CallError::Rejected { .. })))
                })
                .or_else(|| tried.first())
        });
        let Some((_, result)) = chosen else {
            finding.verification.status = VerificationStatus::Error;
            finding.verification.message = Some(TASK_LOST.to_string());
            continue;
        };
        apply_live(finding, result);
        let status = finding.verification.status;
        key_status
            .entry(key)
            .and_modify(|s| {
                if live_rank(status) > live_rank(*s) {
                    *s = status;
                }
            })
            .or_insert(status);
    }
    for status in key_status.into_values() {
        *summary.by_status.entry(status.as_str()).or_default() += 1;
    }
    summary
}

/// Which status wins when one key has several answers.
fn live_rank(status: VerificationStatus) -> u8 {
    match status {
        VerificationStatus::Live => 3,
        VerificationStatus::InactiveOrInvalid => 2,
        VerificationStatus::Error => 1,
        _ => 0,
    }
}

fn apply_live(finding: &mut Finding, result: &Result<Identity, CallError>) {
    match result {
        Ok(identity) => {
            finding.verification.status = VerificationStatus::Live;
            finding.verification.arn = identity.arn.clone();
            finding.verification.message =
                Some("STS GetCallerIdentity accepted the key: it is live".to_string());
            if let Some(account) = &identity.account {
                finding.account_id = Some(account.clone());
                finding.account_id_source = Some(AccountIdSource::Sts);
                flag_canary(finding);
            }
        }
        Err(err @ CallError::Rejected { .. }) => {
            finding.verification.status = VerificationStatus::InactiveOrInvalid;
            finding.verification.message = Some(format!("STS rejected the key: {err}"));
        }
        Err(err) => {
            finding.verification.status = VerificationStatus::Error;
            finding.verification.message = Some(format!("STS GetCallerIdentity failed: {err}"));
        }
    }
}

/// STS may answer a spurious 403 when one key ID is tried with a second secret within a few
/// seconds of the first; such a rejection is retried once after this pause.
const SAME_KEY_PAUSE: Duration = Duration::from_secs(5);

/// Tries each candidate secret of one key in turn (never two at once for the same key ID).
async fn check_key(
    config: &aws_config::SdkConfig,
    key: &str,
    candidates: Vec<Candidate>,
) -> Vec<Attempt> {
    let mut out = Vec::with_capacity(candidates.len());
    let mut last_call: Option<Instant> = None;
    for candidate in candidates {
        let client =
            sts::found_key_client(config, key, &candidate.secret, candidate.token.as_deref());
        let mut result = sts::caller_identity(&client).await;
        if let (Err(CallError::Rejected { .. }), Some(prev)) = (&result, last_call) {
            if let Some(wait) = SAME_KEY_PAUSE.checked_sub(prev.elapsed()) {
                tokio::time::sleep(wait).await;
                result = sts::caller_identity(&client).await;
            }
        }
        last_call = Some(Instant::now());
        out.push((candidate, result));
    }
    out
}
