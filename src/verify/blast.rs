//! Blast radius (`--blast-radius`): for each key in one of the operator's own accounts, who
//! owns it (IAM user or root, groups, console login, MFA), what it may do (the policies of the
//! user and its groups, summarised) and when it was last used, and from that a `risk` with
//! reasons that raises or lowers the finding's severity.
//!
//! Only read-only IAM calls, signed with the operator's own credentials (the found secret is
//! never used). Requests go one at a time, paced ([`Options::pace`]), retried on throttling by
//! the SDK's standard retry policy; one set of user calls per distinct user, one set of group
//! calls per distinct group, one policy document fetch per distinct managed policy. A failed
//! lookup is recorded on the keys it concerns (`blast_radius.errors`) and the rest goes on.
//!
//! The permission summary is computed here from the policy documents (no
//! `simulate-principal-policy`: moto does not implement it, and it needs an extra
//! permission): Allow statements are read, an unconditional Deny of an action removes it from
//! the high-impact list, and conditions are not evaluated (a conditional Allow counts as an
//! Allow), so the summary errs towards "may do more".

use std::collections::{BTreeMap, BTreeSet};
#[cfg(feature = "verify")]
use std::time::{Duration, Instant, SystemTime};

#[cfg(feature = "verify")]
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use serde_json::Value;

#[cfg(feature = "verify")]
use super::sts::{self, CallError};
#[cfg(feature = "verify")]
use super::{Options, VerifyError};
use crate::finding::{Finding, Severity};
#[cfg(feature = "verify")]
use crate::finding::{KeyType, Kind, VerificationStatus};
#[cfg(feature = "verify")]
use crate::time::format_utc;

/// The AWS managed policy that grants everything.
const ADMIN_POLICY_ARN_SUFFIX: &str = ":iam::aws:policy/AdministratorAccess";

#[cfg(feature = "verify")]
/// `UserName` GetAccessKeyLastUsed answers for a key of the account's root user.
const ROOT_USER_NAMES: &[&str] = &["<root_account>"];

/// Actions that let a principal give itself (or anyone) more access: creating users, keys,
/// console passwords, attaching or writing policies, joining groups, passing roles.
pub const ESCALATION_ACTIONS: &[&str] = &[
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:PutRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AddUserToGroup",
    "iam:UpdateAssumeRolePolicy",
    "iam:PassRole",
];

/// Other high-impact actions checked against the policies: compute, data, secrets, audit.
pub const HIGH_IMPACT_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "ec2:RunInstances",
    "lambda:CreateFunction",
    "s3:GetObject",
    "s3:PutBucketPolicy",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "kms:Decrypt",
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "organizations:LeaveOrganization",
];

/// Last use within this long raises the risk one level.
const RECENT: i64 = 7 * 24 * 3600;
/// Keys older than this are called out.
const OLD_KEY_DAYS: i64 = 90;
/// Specific resources listed at most.
const MAX_RESOURCES: usize = 20;

pub use crate::finding::blast::{BlastRadius, KeyState, Permissions, PolicyRef, Risk};

/// What a blast-radius run did, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub keys: usize,
    pub users: usize,
    pub requests: usize,
    pub failed_keys: usize,
    pub by_level: BTreeMap<Severity, usize>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} owned key{} of {} user{} looked up with {} IAM request{}",
            self.keys,
            if self.keys == 1 { "" } else { "s" },
            self.users,
            if self.users == 1 { "" } else { "s" },
            self.requests,
            if self.requests == 1 { "" } else { "s" }
        )?;
        let mut parts: Vec<String> = self
            .by_level
            .iter()
            .rev()
            .map(|(level, n)| format!("{n} {}", level.as_str()))
            .collect();
        if self.failed_keys > 0 {
            parts.push(format!("{} with failed lookups", self.failed_keys));
        }
        if !parts.is_empty() {
            write!(f, ": {}", parts.join(", "))?;
        }
        Ok(())
    }
}

/// The playbook's summary-line parts for a finding with a blast radius: `risk: critical
/// (administrator, no MFA, ...)` and who the key belongs to.
pub fn summary_parts(f: &Finding) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(risk) = &f.risk {
        parts.push(format!(
            "risk: {} ({})",
            risk.level.as_str(),
            risk.summary()
        ));
    }
    if let Some(b) = &f.blast_radius {
        if b.principal.is_some() {
            parts.push(b.who());
        }
        parts.extend(b.what());
        if let Some(e) = b.errors.first() {
            parts.push(format!("blast radius incomplete: {e}"));
        }
    }
    parts
}

/// The text report's lines under a finding: its risk, who owns the key and what it may do.
pub fn text_lines(f: &Finding) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(risk) = &f.risk {
        lines.push(format!(
            "risk: {} ({})",
            risk.level.as_str(),
            risk.summary()
        ));
    }
    if let Some(b) = &f.blast_radius {
        if b.principal.is_some() {
            let mut owner = format!("owner: {}", b.who());
            if let Some(what) = b.what() {
                owner.push_str(&format!("; may do: {what}"));
            }
            lines.push(owner);
        }
        for e in &b.errors {
            lines.push(format!("blast radius: {e}"));
        }
    }
    lines
}

#[cfg(feature = "verify")]
/// Whether `finding` gets a blast radius: an owned long-term key that is not a canary.
fn eligible(finding: &Finding) -> bool {
    finding.verification.status == VerificationStatus::Owned
        && !finding.canary
        && finding.key_id.as_deref().and_then(KeyType::of) == Some(KeyType::LongTerm)
}

#[cfg(feature = "verify")]
/// Looks up the blast radius of every owned long-term key in `findings` (run `--verify owner`
/// first) and sets `blast_radius`, `risk` and `severity` on each finding of those keys.
pub fn blast_radius(findings: &mut [Finding], opts: &Options) -> Result<Summary, VerifyError> {
    let keys: BTreeSet<String> = findings
        .iter()
        .filter(|f| eligible(f))
        .filter_map(|f| f.key_id.clone())
        .collect();
    let mut summary = Summary::default();
    for f in findings.iter_mut() {
        if f.verification.status == VerificationStatus::Owned
            && f.key_id.as_deref().and_then(KeyType::of) == Some(KeyType::Temporary)
        {
            f.blast_radius = Some(BlastRadius {
                errors: vec![
                    "temporary (ASIA) key: IAM does not track it; find the role that issued it \
                     in CloudTrail (AssumeRole events)"
                        .to_string(),
                ],
                ..BlastRadius::default()
            });
        }
    }
    if keys.is_empty() {
        return Ok(summary);
    }
    let (runtime, limits) = opts.runtime()?;
    let now = unix_now();
    let results = runtime.block_on(async {
        let config = sts::load_config(limits).await;
        let client = aws_sdk_iam::Client::new(&config);
        let mut lookup = Lookup {
            client,
            pacer: Pacer::new(opts.pace),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            policies: BTreeMap::new(),
            requests: 0,
            now,
        };
        let mut out = BTreeMap::new();
        for key in &keys {
            let radius = lookup.key(key).await;
            out.insert(key.clone(), radius);
        }
        summary.users = lookup.users.len();
        summary.requests = lookup.requests;
        out
    });
    summary.keys = keys.len();
    for (key, radius) in &results {
        let risk = assess(radius, now);
        if !radius.errors.is_empty() {
            summary.failed_keys += 1;
        }
        if let Some(risk) = &risk {
            *summary.by_level.entry(risk.level).or_default() += 1;
        }
        for f in findings
            .iter_mut()
            .filter(|f| eligible(f) && f.key_id.as_deref() == Some(key))
        {
            apply(f, radius, risk.clone());
        }
    }
    Ok(summary)
}

#[cfg(feature = "verify")]
/// Records `radius` and `risk` on `f`: the severity becomes the risk level for a usable
/// credential (the secret was found) and can only go down for a lone key ID; the user's ARN
/// becomes the verification ARN (remediation fills in the user name from it).
fn apply(f: &mut Finding, radius: &BlastRadius, risk: Option<Risk>) {
    if let Some(risk) = &risk {
        let base = Severity::base(f.kind, f.key_type, f.key_id.is_some());
        f.severity = match f.kind {
            Kind::AccessKeyPair | Kind::SessionCredentials => risk.level,
            _ => risk.level.min(base),
        };
    }
    if f.verification.arn.is_none() {
        f.verification.arn = radius.arn.clone();
    }
    f.blast_radius = Some(radius.clone());
    f.risk = risk;
}

/// The risk of a key from its blast radius; `None` when too little is known to say.
pub fn assess(radius: &BlastRadius, now: i64) -> Option<Risk> {
    let mut reasons = Vec::new();
    let key = radius.key.as_ref();
    let status = key.and_then(|k| k.status.as_deref());
    let perms = radius.permissions.as_ref();
    let mut level = if status == Some("not_found") {
        reasons.push("key no longer exists in IAM".to_string());
        Severity::Low
    } else if status == Some("Inactive") {
        reasons.push("key is inactive".to_string());
        Severity::Low
    } else if radius.principal.as_deref() == Some("root") {
        reasons.push("root user key (unrestricted)".to_string());
        Severity::Critical
    } else if let Some(p) = perms {
        if p.administrator {
            let via_group = p.policies.iter().filter(|r| r.via != "user").any(|r| {
                r.arn
                    .as_deref()
                    .is_some_and(|a| a.ends_with(ADMIN_POLICY_ARN_SUFFIX))
            });
            reasons.push(if via_group && !user_has_admin(p) {
                "administrator (through a group)".to_string()
            } else {
                "administrator".to_string()
            });
            Severity::Critical
        } else if !p.iam_write.is_empty() {
            reasons.push(format!(
                "IAM write ({}): can escalate",
                p.iam_write
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            Severity::Critical
        } else if !p.full_access_services.is_empty() {
            reasons.push(format!(
                "full access to {}",
                p.full_access_services.join(", ")
            ));
            Severity::High
        } else if !p.high_impact.is_empty() {
            reasons.push(format!("may {}", p.high_impact.join(", ")));
            Severity::High
        } else if p.allowed_actions == 0 {
            reasons.push("no allowed actions".to_string());
            Severity::Low
        } else if !p.wildcard_actions.is_empty() {
            reasons.push(format!(
                "wildcard actions in {} service{}",
                p.wildcard_actions.len(),
                if p.wildcard_actions.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
            Severity::Medium
        } else {
            reasons.push("limited permissions".to_string());
            Severity::Medium
        }
    } else {
        return None;
    };
    if radius.principal.as_deref() == Some("iam_user") {
        match radius.mfa_devices {
            Some(0) => reasons.push("no MFA".to_string()),
            Some(_) => reasons.push("MFA".to_string()),
            None => {}
        }
        if radius.console_login == Some(true) {
            reasons.push("console login".to_string());
        }
    }
    if let Some(k) = key {
        match (
            &k.last_used,
            k.last_used.as_deref().and_then(crate::time::parse_date),
        ) {
            (Some(_), Some(t)) => {
                let mut used = format!("used {}", ago(now - t));
                if let Some(region) = k.last_used_region.as_deref().filter(|r| is_region(r)) {
                    used.push_str(&format!(" in {region}"));
                }
                if let Some(service) = k.last_used_service.as_deref().filter(|s| is_region(s)) {
                    used.push_str(&format!(" ({service})"));
                }
                reasons.push(used);
                let active = status.is_none_or(|s| s == "Active");
                if active && now - t <= RECENT && level < Severity::Critical {
                    level = raise(level);
                }
            }
            _ if status != Some("not_found") => reasons.push("never used".to_string()),
            _ => {}
        }
        if let Some(days) = k.age_days.filter(|&d| d > OLD_KEY_DAYS) {
            reasons.push(format!("key {days} days old"));
        }
    }
    if !radius.errors.is_empty() {
        reasons.push(format!(
            "incomplete: {} lookup{} failed",
            radius.errors.len(),
            if radius.errors.len() == 1 { "" } else { "s" }
        ));
    }
    Some(Risk { level, reasons })
}

fn user_has_admin(p: &Permissions) -> bool {
    p.policies.iter().any(|r| {
        r.via == "user"
            && r.arn
                .as_deref()
                .is_some_and(|a| a.ends_with(ADMIN_POLICY_ARN_SUFFIX))
    })
}

fn raise(level: Severity) -> Severity {
    match level {
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// A region or service name as AWS writes them (`ap-northeast-2`, `s3`): nothing else is
/// copied into a reason.
fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s != "N/A"
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// `3 hours ago`, `12 days ago`, `just now`.
pub fn ago(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match secs {
        s if s < 60 => "just now".to_string(),
        s if s < 3600 => plural(s / 60, "minute"),
        s if s < 86400 => plural(s / 3600, "hour"),
        s => plural(s / 86400, "day"),
    }
}

#[cfg(feature = "verify")]
fn unix_now() -> i64 {
    crate::time::unix(SystemTime::now())
}

#[cfg(feature = "verify")]
/// At most one request every `interval`.
struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

#[cfg(feature = "verify")]
impl Pacer {
    fn new(interval: Duration) -> Pacer {
        Pacer {
            interval,
            next: None,
        }
    }

    async fn wait(&mut self) {
        let now = Instant::now();
        if let Some(next) = self.next.filter(|&n| n > now) {
            tokio::time::sleep(next - now).await;
        }
        self.next = Some(Instant::now() + self.interval);
    }
}

#[cfg(feature = "verify")]
/// An IAM call that failed: the entity does not exist, or anything else.
enum IamError {
    NotFound,
    Other(String),
}

#[cfg(feature = "verify")]
fn iam_error<E>(err: SdkError<E>) -> IamError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if err.code() == Some("NoSuchEntity") {
        return IamError::NotFound;
    }
    IamError::Other(match sts::classify(err) {
        CallError::Rejected { code, message } if message.is_empty() => code,
        CallError::Rejected { code, message } => format!("{code}: {message}"),
        CallError::Failed(reason) => reason,
    })
}

#[cfg(feature = "verify")]
/// What is known about one user (shared by all its keys).
#[derive(Clone, Default)]
struct UserFacts {
    arn: Option<String>,
    groups: Vec<String>,
    console_login: Option<bool>,
    mfa_devices: Option<usize>,
    /// Policy documents with where they came from.
    documents: Vec<(PolicyRef, Option<Value>)>,
    /// Key ID -> (status, created).
    keys: BTreeMap<String, (Option<String>, Option<i64>)>,
    errors: Vec<String>,
}

#[cfg(feature = "verify")]
/// What is known about one group.
#[derive(Clone, Default)]
struct GroupFacts {
    documents: Vec<(PolicyRef, Option<Value>)>,
    errors: Vec<String>,
}

#[cfg(feature = "verify")]
/// Who holds a policy: an IAM user or group (by name).
#[derive(Debug, Clone, Copy)]
enum Holder<'a> {
    User(&'a str),
    Group(&'a str),
}

#[cfg(feature = "verify")]
/// The lookups of one run, with per-user, per-group and per-policy caches.
struct Lookup {
    client: aws_sdk_iam::Client,
    pacer: Pacer,
    users: BTreeMap<String, UserFacts>,
    groups: BTreeMap<String, GroupFacts>,
    /// Managed policy ARN -> its default version's document (or why it could not be read).
    policies: BTreeMap<String, Result<Value, String>>,
    requests: usize,
    now: i64,
}

#[cfg(feature = "verify")]
/// Runs one paced, counted IAM request.
macro_rules! call {
    ($self:ident, $req:expr) => {{
        $self.pacer.wait().await;
        $self.requests += 1;
        $req.send().await.map_err(iam_error)
    }};
}

#[cfg(feature = "verify")]
impl Lookup {
    async fn key(&mut self, key: &str) -> BlastRadius {
        let mut radius = BlastRadius::default();
        let answer = call!(
            self,
            self.client.get_access_key_last_used().access_key_id(key)
        );
        let out = match answer {
            Ok(out) => out,
            Err(IamError::NotFound) => {
                radius.key = Some(KeyState {
                    status: Some("not_found".to_string()),
                    ..KeyState::default()
                });
                return radius;
            }
            Err(IamError::Other(e)) => {
                radius.errors.push(format!("GetAccessKeyLastUsed: {e}"));
                return radius;
            }
        };
        let mut state = KeyState::default();
        if let Some(used) = out.access_key_last_used() {
            state.last_used = used.last_used_date().map(|d| format_utc(d.secs()));
            state.last_used_service =
                Some(used.service_name().to_string()).filter(|s| is_region(s));
            state.last_used_region = Some(used.region().to_string()).filter(|s| is_region(s));
        }
        let Some(user) = out.user_name().map(str::to_string) else {
            radius
                .errors
                .push("GetAccessKeyLastUsed named no user".to_string());
            radius.key = Some(state);
            return radius;
        };
        if ROOT_USER_NAMES.contains(&user.as_str()) {
            radius.principal = Some("root".to_string());
            radius.key = Some(state);
            return radius;
        }
        radius.principal = Some("iam_user".to_string());
        let facts = self.user(&user).await;
        if let Some((status, created)) = facts.keys.get(key) {
            state.status.clone_from(status);
            state.created = created.map(format_utc);
            state.age_days = created.map(|c| (self.now - c).max(0) / 86400);
        } else if !facts.errors.iter().any(|e| e.starts_with("ListAccessKeys")) {
            radius
                .errors
                .push(format!("ListAccessKeys: {user} has no key {key}"));
        }
        radius.user_name = Some(user);
        radius.arn.clone_from(&facts.arn);
        radius.groups.clone_from(&facts.groups);
        radius.console_login = facts.console_login;
        radius.mfa_devices = facts.mfa_devices;
        radius.errors.extend(facts.errors.iter().cloned());
        let mut documents = facts.documents.clone();
        for group in &facts.groups {
            let g = self.group(group).await;
            documents.extend(g.documents);
            radius.errors.extend(g.errors);
        }
        radius.permissions = Some(summarise(&documents));
        radius.key = Some(state);
        radius
    }

    async fn user(&mut self, user: &str) -> UserFacts {
        if let Some(f) = self.users.get(user) {
            return f.clone();
        }
        let mut f = UserFacts::default();
        match call!(self, self.client.get_user().user_name(user)) {
            Ok(out) => f.arn = out.user().map(|u| u.arn().to_string()),
            Err(e) => f.errors.push(describe("GetUser", e)),
        }
        match call!(
            self,
            self.client
                .list_groups_for_user()
                .user_name(user)
                .max_items(1000)
        ) {
            Ok(out) => {
                f.groups = out
                    .groups()
                    .iter()
                    .map(|g| g.group_name().to_string())
                    .collect();
                if out.is_truncated() {
                    f.errors
                        .push("ListGroupsForUser: more than 1000 groups".to_string());
                }
            }
            Err(e) => f.errors.push(describe("ListGroupsForUser", e)),
        }
        match call!(self, self.client.get_login_profile().user_name(user)) {
            Ok(_) => f.console_login = Some(true),
            Err(IamError::NotFound) => f.console_login = Some(false),
            Err(e) => f.errors.push(describe("GetLoginProfile", e)),
        }
        match call!(
            self,
            self.client
                .list_mfa_devices()
                .user_name(user)
                .max_items(1000)
        ) {
            Ok(out) => f.mfa_devices = Some(out.mfa_devices().len()),
            Err(e) => f.errors.push(describe("ListMFADevices", e)),
        }
        match call!(
            self,
            self.client
                .list_access_keys()
                .user_name(user)
                .max_items(1000)
        ) {
            Ok(out) => {
                for k in out.access_key_metadata() {
                    if let Some(id) = k.access_key_id() {
                        f.keys.insert(
                            id.to_string(),
                            (
                                k.status().map(|s| s.as_str().to_string()),
                                k.create_date().map(|d| d.secs()),
                            ),
                        );
                    }
                }
            }
            Err(e) => f.errors.push(describe("ListAccessKeys", e)),
        }
        self.policies(Holder::User(user), &mut f.documents, &mut f.errors)
            .await;
        self.users.insert(user.to_string(), f.clone());
        f
    }

    async fn group(&mut self, group: &str) -> GroupFacts {
        if let Some(g) = self.groups.get(group) {
            return g.clone();
        }
        let mut g = GroupFacts::default();
        self.policies(Holder::Group(group), &mut g.documents, &mut g.errors)
            .await;
        self.groups.insert(group.to_string(), g.clone());
        g
    }

    /// The managed and inline policy documents of a user or group, with where they came
    /// from; failed lookups are added to `errors`.
    async fn policies(
        &mut self,
        holder: Holder<'_>,
        documents: &mut Vec<(PolicyRef, Option<Value>)>,
        errors: &mut Vec<String>,
    ) {
        let via = match holder {
            Holder::User(_) => "user".to_string(),
            Holder::Group(group) => format!("group {group}"),
        };
        match self.attached_policies(holder).await {
            Ok(attached) => {
                for (name, arn) in attached {
                    let doc = self.managed(&arn, errors).await;
                    documents.push((managed_ref(name, arn, via.clone()), doc));
                }
            }
            Err(e) => errors.push(e),
        }
        match self.inline_policy_names(holder).await {
            Ok(names) => {
                for name in names {
                    let doc = self.inline_policy(holder, &name).await.unwrap_or_else(|e| {
                        errors.push(e);
                        None
                    });
                    documents.push((inline_ref(name, via.clone()), doc));
                }
            }
            Err(e) => errors.push(e),
        }
    }

    /// (name, ARN) of the managed policies attached to a user or group.
    async fn attached_policies(
        &mut self,
        holder: Holder<'_>,
    ) -> Result<Vec<(String, String)>, String> {
        let pairs = |list: &[aws_sdk_iam::types::AttachedPolicy]| -> Vec<(String, String)> {
            list.iter()
                .filter_map(|p| Some((p.policy_name()?.to_string(), p.policy_arn()?.to_string())))
                .collect()
        };
        match holder {
            Holder::User(user) => call!(
                self,
                self.client
                    .list_attached_user_policies()
                    .user_name(user)
                    .max_items(1000)
            )
            .map(|out| pairs(out.attached_policies()))
            .map_err(|e| describe("ListAttachedUserPolicies", e)),
            Holder::Group(group) => call!(
                self,
                self.client
                    .list_attached_group_policies()
                    .group_name(group)
                    .max_items(1000)
            )
            .map(|out| pairs(out.attached_policies()))
            .map_err(|e| describe("ListAttachedGroupPolicies", e)),
        }
    }

    /// The names of a user's or group's inline policies.
    async fn inline_policy_names(&mut self, holder: Holder<'_>) -> Result<Vec<String>, String> {
        match holder {
            Holder::User(user) => call!(
                self,
                self.client
                    .list_user_policies()
                    .user_name(user)
                    .max_items(1000)
            )
            .map(|out| out.policy_names().to_vec())
            .map_err(|e| describe("ListUserPolicies", e)),
            Holder::Group(group) => call!(
                self,
                self.client
                    .list_group_policies()
                    .group_name(group)
                    .max_items(1000)
            )
            .map(|out| out.policy_names().to_vec())
            .map_err(|e| describe("ListGroupPolicies", e)),
        }
    }

    /// The document of a user's or group's inline policy `name`.
    async fn inline_policy(
        &mut self,
        holder: Holder<'_>,
        name: &str,
    ) -> Result<Option<Value>, String> {
        match holder {
            Holder::User(user) => call!(
                self,
                self.client
                    .get_user_policy()
                    .user_name(user)
                    .policy_name(name)
            )
            .map(|out| parse_document(out.policy_document()))
            .map_err(|e| describe("GetUserPolicy", e)),
            Holder::Group(group) => call!(
                self,
                self.client
                    .get_group_policy()
                    .group_name(group)
                    .policy_name(name)
            )
            .map(|out| parse_document(out.policy_document()))
            .map_err(|e| describe("GetGroupPolicy", e)),
        }
    }

    /// The default version's document of a managed policy (cached per ARN).
    async fn managed(&mut self, arn: &str, errors: &mut Vec<String>) -> Option<Value> {
        if !self.policies.contains_key(arn) {
            let doc = self.fetch_managed(arn).await;
            self.policies.insert(arn.to_string(), doc);
        }
        match self.policies.get(arn) {
            Some(Ok(doc)) => Some(doc.clone()),
            Some(Err(e)) => {
                errors.push(e.clone());
                None
            }
            None => None,
        }
    }

    async fn fetch_managed(&mut self, arn: &str) -> Result<Value, String> {
        let policy = call!(self, self.client.get_policy().policy_arn(arn))
            .map_err(|e| describe("GetPolicy", e))?;
        let version = policy
            .policy()
            .and_then(|p| p.default_version_id())
            .ok_or_else(|| format!("GetPolicy: {arn} has no default version"))?
            .to_string();
        let out = call!(
            self,
            self.client
                .get_policy_version()
                .policy_arn(arn)
                .version_id(&version)
        )
        .map_err(|e| describe("GetPolicyVersion", e))?;
        out.policy_version()
            .and_then(|v| v.document())
            .and_then(parse_document)
            .ok_or_else(|| format!("GetPolicyVersion: {arn}: no readable document"))
    }
}

#[cfg(feature = "verify")]
fn describe(call: &str, err: IamError) -> String {
    match err {
        IamError::NotFound => format!("{call}: NoSuchEntity"),
        IamError::Other(e) => format!("{call}: {e}"),
    }
}

#[cfg(feature = "verify")]
fn managed_ref(name: String, arn: String, via: String) -> PolicyRef {
    let kind = if arn.contains(":iam::aws:policy/") {
        "aws_managed"
    } else {
        "customer_managed"
    };
    PolicyRef {
        name,
        kind: kind.to_string(),
        via,
        arn: Some(arn),
    }
}

#[cfg(feature = "verify")]
fn inline_ref(name: String, via: String) -> PolicyRef {
    PolicyRef {
        name,
        kind: "inline".to_string(),
        via,
        arn: None,
    }
}

/// A policy document as IAM returns it: URL-encoded JSON (RFC 3986), or plain JSON.
pub fn parse_document(text: &str) -> Option<Value> {
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(&percent_decode(text)).ok())
}

/// Decodes `%XX` escapes (and `+` as space, as IAM's encoder writes it); bad escapes stay.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A string or an array of strings (policy `Action`, `Resource`, ...).
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Case-insensitive IAM wildcard match: `*` any run, `?` one character.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

/// One statement, reduced to what the summary needs.
struct Statement {
    allow: bool,
    actions: Vec<String>,
    not_actions: Vec<String>,
    all_resources: bool,
    resources: Vec<String>,
    conditional: bool,
}

impl Statement {
    fn allows(&self, action: &str) -> bool {
        if self.not_actions.is_empty() {
            self.actions.iter().any(|p| wildcard_match(p, action))
        } else {
            !self.not_actions.iter().any(|p| wildcard_match(p, action))
        }
    }
}

fn statements(doc: &Value) -> Vec<Statement> {
    let list: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    list.into_iter()
        .map(|s| {
            let resources = strings(s.get("Resource"));
            Statement {
                allow: s.get("Effect").and_then(Value::as_str) == Some("Allow"),
                actions: strings(s.get("Action")),
                not_actions: strings(s.get("NotAction")),
                all_resources: s.get("NotResource").is_some() || resources.iter().any(|r| r == "*"),
                resources,
                conditional: s.get("Condition").is_some(),
            }
        })
        .collect()
}

/// Summarises the policies a user is subject to.
pub fn summarise(documents: &[(PolicyRef, Option<Value>)]) -> Permissions {
    let mut p = Permissions {
        policies: documents.iter().map(|(r, _)| r.clone()).collect(),
        ..Permissions::default()
    };
    let all: Vec<Statement> = documents
        .iter()
        .filter_map(|(_, d)| d.as_ref())
        .flat_map(statements)
        .collect();
    let (allows, denies): (Vec<&Statement>, Vec<&Statement>) = all.iter().partition(|s| s.allow);
    // An unconditional Deny on every resource takes an action away.
    let denied = |action: &str| {
        denies
            .iter()
            .any(|d| !d.conditional && d.all_resources && d.allows(action))
    };
    let allowed = |action: &str| allows.iter().any(|s| s.allows(action)) && !denied(action);
    p.administrator = documents.iter().any(|(r, d)| {
        d.is_some()
            && r.arn
                .as_deref()
                .is_some_and(|a| a.ends_with(ADMIN_POLICY_ARN_SUFFIX))
    }) || allows.iter().any(|s| {
        s.all_resources
            && !s.conditional
            && s.not_actions.is_empty()
            && s.actions.iter().any(|a| a == "*" || a == "*:*")
    });
    p.iam_write = ESCALATION_ACTIONS
        .iter()
        .filter(|a| allowed(a))
        .map(|a| a.to_string())
        .collect();
    p.high_impact = HIGH_IMPACT_ACTIONS
        .iter()
        .filter(|a| allowed(a))
        .map(|a| a.to_string())
        .collect();
    let mut patterns = BTreeSet::new();
    let mut full = BTreeSet::new();
    let mut resources = BTreeSet::new();
    for s in &allows {
        p.conditional |= s.conditional;
        if s.all_resources {
            p.resource_scope = "all".to_string();
        } else {
            resources.extend(s.resources.iter().cloned());
        }
        if !s.not_actions.is_empty() {
            full.insert(format!("* except {}", s.not_actions.join(", ")));
        }
        for a in &s.actions {
            patterns.insert(a.to_ascii_lowercase());
            if a == "*" || a == "*:*" {
                full.insert("*".to_string());
                continue;
            }
            let Some((service, action)) = a.split_once(':') else {
                continue;
            };
            if action == "*" {
                full.insert(service.to_ascii_lowercase());
            } else if action.contains('*') || action.contains('?') {
                p.wildcard_actions
                    .entry(service.to_ascii_lowercase())
                    .or_default()
                    .push(action.to_string());
            }
        }
    }
    for list in p.wildcard_actions.values_mut() {
        list.sort();
        list.dedup();
    }
    p.allowed_actions =
        patterns.len() + allows.iter().filter(|s| !s.not_actions.is_empty()).count();
    p.full_access_services = full.into_iter().collect();
    if p.resource_scope.is_empty() {
        p.resource_scope = if resources.is_empty() {
            "none"
        } else {
            "limited"
        }
        .to_string();
    }
    p.resources = resources.into_iter().take(MAX_RESOURCES).collect();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> (PolicyRef, Option<Value>) {
        (
            inline_ref("p".to_string(), "user".to_string()),
            Some(serde_json::from_str(json).unwrap()),
        )
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("iam:Create*", "iam:CreateAccessKey"));
        assert!(wildcard_match("*", "s3:GetObject"));
        assert!(wildcard_match("S3:get?bject", "s3:GetObject"));
        assert!(!wildcard_match("iam:Get*", "iam:CreateUser"));
        assert!(!wildcard_match("s3:*", "s3x:Get"));
        assert!(wildcard_match("*:*", "ec2:RunInstances"));
    }

    #[test]
    fn url_encoded_documents_parse() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert!(parse_document(enc).is_some());
        assert!(parse_document("{\"Statement\":[]}").is_some());
        assert!(parse_document("%ZZ").is_none());
    }

    #[test]
    fn summaries() {
        let admin = summarise(&[doc(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        )]);
        assert!(admin.administrator);
        assert_eq!(admin.resource_scope, "all");

        let escalate = summarise(&[doc(
            r#"{"Statement":[{"Effect":"Allow","Action":["iam:Create*","s3:Get*"],"Resource":"*"}]}"#,
        )]);
        assert!(!escalate.administrator);
        assert!(escalate
            .iam_write
            .contains(&"iam:CreateAccessKey".to_string()));
        assert_eq!(escalate.wildcard_actions["s3"], vec!["Get*"]);
        assert!(escalate.high_impact.contains(&"s3:GetObject".to_string()));

        let denied = summarise(&[doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"},
                {"Effect":"Deny","Action":"iam:CreateAccessKey","Resource":"*"}]}"#,
        )]);
        assert!(!denied
            .iam_write
            .contains(&"iam:CreateAccessKey".to_string()));
        assert!(denied.iam_write.contains(&"iam:CreateUser".to_string()));
        assert_eq!(denied.full_access_services, vec!["iam"]);

        let scoped = summarise(&[doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
        )]);
        assert_eq!(scoped.resource_scope, "limited");
        assert_eq!(scoped.resources, vec!["arn:aws:s3:::b/*"]);

        let nothing = summarise(&[]);
        assert_eq!(nothing.allowed_actions, 0);
        assert_eq!(nothing.resource_scope, "none");
    }

    #[test]
    fn risk_levels_and_reasons() {
        let now = 1_700_000_000;
        let radius = BlastRadius {
            principal: Some("iam_user".into()),
            user_name: Some("a".into()),
            mfa_devices: Some(0),
            permissions: Some(summarise(&[doc(
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            )])),
            key: Some(KeyState {
                status: Some("Active".into()),
                last_used: Some(format_utc(now - 3 * 3600)),
                last_used_region: Some("ap-northeast-2".into()),
                ..KeyState::default()
            }),
            ..BlastRadius::default()
        };
        let risk = assess(&radius, now).unwrap();
        assert_eq!(risk.level, Severity::Critical);
        assert_eq!(
            risk.summary(),
            "administrator, no MFA, used 3 hours ago in ap-northeast-2"
        );

        let mut inactive = radius.clone();
        inactive.key.as_mut().unwrap().status = Some("Inactive".into());
        assert_eq!(assess(&inactive, now).unwrap().level, Severity::Low);

        let mut read = radius;
        read.mfa_devices = Some(1);
        read.key.as_mut().unwrap().last_used = None;
        read.permissions = Some(summarise(&[doc(
            r#"{"Statement":{"Effect":"Allow","Action":["ec2:Describe*"],"Resource":"*"}}"#,
        )]));
        let risk = assess(&read, now).unwrap();
        assert_eq!(risk.level, Severity::Medium);
        assert!(risk.reasons.contains(&"MFA".to_string()));
        assert!(risk.reasons.contains(&"never used".to_string()));
        assert_eq!(ago(59), "just now");
        assert_eq!(ago(86400 * 2), "2 days ago");
    }
}
