//! Whose key a finding is: the principal behind a verified ARN, and the case a playbook is
//! written for.

use crate::finding::{Finding, KeyType, Kind};

/// Who the principal behind an ARN is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Principal {
    Root,
    User(String),
    Role(String),
    Other,
}

/// The principal an ARN names: `…:root`, `…:user/PATH/NAME`, `…:assumed-role/ROLE/SESSION`.
pub(super) fn principal(arn: &str) -> Principal {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    if resource == "root" {
        return Principal::Root;
    }
    let mut parts = resource.split('/');
    match parts.next() {
        Some("user") => parts
            .next_back()
            .filter(|n| !n.is_empty())
            .map_or(Principal::Other, |n| Principal::User(n.to_string())),
        // assumed-role/ROLE/SESSION
        Some("assumed-role") => parts
            .next()
            .filter(|n| !n.is_empty())
            .map_or(Principal::Other, |n| Principal::Role(n.to_string())),
        _ => Principal::Other,
    }
}

/// The principal of the finding's verified ARN, if any.
pub(super) fn verified_principal(finding: &Finding) -> Option<Principal> {
    finding.verification.arn.as_deref().map(principal)
}

/// The kind of key a playbook is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// A long-term key (AKIA) of an IAM user.
    IamUser,
    /// A long-term key of the account's root user (verification ARN ends in `:root`).
    Root,
    /// Temporary session credentials (ASIA + session token).
    Temporary,
    /// A secret found without its key ID: owner and key must be found first.
    UnknownOwner,
    /// An Amazon Bedrock long-term API key (IAM service-specific credential).
    BedrockLongTerm,
    /// An Amazon Bedrock short-term API key (presigned by the access key in `key_id`).
    BedrockShortTerm,
    /// An IAM Identity Center token from the AWS CLI's SSO cache.
    SsoToken,
}

/// Which case `finding` is.
pub fn case_of(finding: &Finding) -> Case {
    match finding.kind {
        Kind::BedrockLongTermKey => return Case::BedrockLongTerm,
        Kind::BedrockShortTermKey => return Case::BedrockShortTerm,
        Kind::SsoToken => return Case::SsoToken,
        _ => {}
    }
    let arn = verified_principal(finding);
    match finding.key_id.as_deref() {
        None if finding.session_token.is_some() => Case::Temporary,
        None => Case::UnknownOwner,
        Some(k) if KeyType::of(k) == Some(KeyType::Temporary) => Case::Temporary,
        Some(_) if arn == Some(Principal::Root) => Case::Root,
        Some(_) => Case::IamUser,
    }
}

/// The IAM user of the key: named by the leak itself, else by the verified ARN.
pub(super) fn known_user(finding: &Finding) -> Option<String> {
    finding
        .user_name
        .clone()
        .or_else(|| match verified_principal(finding) {
            Some(Principal::User(u)) => Some(u),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_principal() {
        assert_eq!(principal("arn:aws:iam::123456789012:root"), Principal::Root);
        assert_eq!(
            principal("arn:aws:iam::123456789012:user/ops/alice"),
            Principal::User("alice".into())
        );
        assert_eq!(
            principal("arn:aws:sts::123456789012:assumed-role/ci-deploy/build-42"),
            Principal::Role("ci-deploy".into())
        );
        for other in [
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::123456789012:user/",
            "arn:aws:sts::123456789012:assumed-role/",
            "not an arn",
            "",
        ] {
            assert_eq!(principal(other), Principal::Other, "{other}");
        }
    }
}
