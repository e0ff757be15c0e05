//! The blast radius a finding carries (filled in by `verify::blast` with `--blast-radius`):
//! who owns the key, what it may do, when it was last used, and how bad the leak is. Plain
//! data, kept with [`Finding`](super::Finding) so that every layer can read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Severity;

/// Who owns a key, what it may do and when it was last used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlastRadius {
    /// `iam_user` or `root`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The user has a console password (GetLoginProfile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_login: Option<bool>,
    /// MFA devices of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_devices: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyState>,
    /// Lookups that failed; the fields they would have filled are absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// What the policies of a user and its groups allow, summarised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// `*` on `*` (or AdministratorAccess) is allowed.
    pub administrator: bool,
    /// Escalation actions ([`ESCALATION_ACTIONS`](crate::verify::blast::ESCALATION_ACTIONS)) the policies allow: IAM write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iam_write: Vec<String>,
    /// Other high-impact actions ([`HIGH_IMPACT_ACTIONS`](crate::verify::blast::HIGH_IMPACT_ACTIONS)) the policies allow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub high_impact: Vec<String>,
    /// Services with every action allowed (`s3:*`; `*` for all services).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_access_services: Vec<String>,
    /// Other wildcard action patterns, per service (`s3` -> `Get*`, `List*`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub wildcard_actions: BTreeMap<String, Vec<String>>,
    /// Number of distinct allowed action patterns.
    pub allowed_actions: usize,
    /// `all` (some Allow has Resource `*` or NotResource), `limited`, or `none`.
    pub resource_scope: String,
    /// The specific resources of the Allow statements (at most 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Some Allow statement carries a Condition (not evaluated).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
    /// The policies read: attached and inline, of the user and of its groups.
    pub policies: Vec<PolicyRef>,
}

/// One policy that applies to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub name: String,
    /// `aws_managed`, `customer_managed` or `inline`.
    pub kind: String,
    /// `user` or `group NAME`.
    pub via: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// The key's own state (ListAccessKeys, GetAccessKeyLastUsed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    /// `Active`, `Inactive`, or `not_found` (deleted, or never in this account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// Absent: never used (or not within IAM's tracking period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_region: Option<String>,
}

/// How bad a leak is: a level (the finding's new severity for a usable credential) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    pub level: Severity,
    pub reasons: Vec<String>,
}

impl Risk {
    /// `administrator, no MFA, used 3 hours ago in ap-northeast-2`.
    pub fn summary(&self) -> String {
        self.reasons.join(", ")
    }
}

impl BlastRadius {
    /// The user (or root) may do anything.
    pub fn is_administrator(&self) -> bool {
        self.principal.as_deref() == Some("root")
            || self.permissions.as_ref().is_some_and(|p| p.administrator)
    }

    /// One line: `IAM user alice (groups admins; console login; no MFA)`.
    pub fn who(&self) -> String {
        let mut s = match (self.principal.as_deref(), &self.user_name) {
            (Some("root"), _) => "root user".to_string(),
            (_, Some(u)) => format!("IAM user {u}"),
            _ => "owner unknown".to_string(),
        };
        let mut parts = Vec::new();
        if !self.groups.is_empty() {
            parts.push(format!("groups {}", self.groups.join(", ")));
        }
        match self.console_login {
            Some(true) => parts.push("console login".to_string()),
            Some(false) => parts.push("no console login".to_string()),
            None => {}
        }
        match self.mfa_devices {
            Some(0) => parts.push("no MFA".to_string()),
            Some(n) => parts.push(format!("{n} MFA device{}", if n == 1 { "" } else { "s" })),
            None => {}
        }
        if !parts.is_empty() {
            s.push_str(&format!(" ({})", parts.join("; ")));
        }
        s
    }

    /// One line: `administrator; IAM write: iam:CreateUser, ...; full access: s3; all resources`.
    pub fn what(&self) -> Option<String> {
        let p = self.permissions.as_ref()?;
        let mut parts = Vec::new();
        if p.administrator {
            parts.push("administrator".to_string());
        } else {
            if !p.iam_write.is_empty() {
                parts.push(format!("IAM write: {}", p.iam_write.join(", ")));
            }
            if !p.full_access_services.is_empty() {
                parts.push(format!(
                    "full access: {}",
                    p.full_access_services.join(", ")
                ));
            }
            if !p.wildcard_actions.is_empty() {
                parts.push(format!(
                    "wildcard actions in {} service{}",
                    p.wildcard_actions.len(),
                    if p.wildcard_actions.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                ));
            }
            if !p.high_impact.is_empty() {
                parts.push(format!("high-impact: {}", p.high_impact.join(", ")));
            }
            if p.allowed_actions == 0 {
                parts.push("no allowed actions".to_string());
            }
        }
        parts.push(format!("resources: {}", p.resource_scope));
        let names: Vec<&str> = p.policies.iter().map(|r| r.name.as_str()).collect();
        if !names.is_empty() {
            parts.push(format!("policies: {}", names.join(", ")));
        }
        Some(parts.join("; "))
    }
}
