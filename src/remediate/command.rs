//! The pieces every command is made of: one quoting function, the placeholders that stand
//! for unknown names, the grammar checks that let a value stand unquoted, and the commands
//! several steps share.

use crate::finding::{Finding, RemediationStep, Step};

use super::window::Window;

/// A step that searches nothing in time.
pub(super) fn step(
    step: Step,
    why: impl Into<String>,
    command: impl Into<String>,
) -> RemediationStep {
    RemediationStep {
        step,
        why: why.into(),
        command: command.into(),
        since: None,
    }
}

/// An investigate step whose command searches CloudTrail within `window`.
pub(super) fn investigate(
    why: impl Into<String>,
    command: impl Into<String>,
    window: Window,
) -> RemediationStep {
    RemediationStep {
        since: window.start,
        ..step(Step::Investigate, why, command)
    }
}

/// Every value written into a command goes through this one quoting function.
pub(super) fn sh_quote(s: &str) -> String {
    crate::shell::quote(s).into_owned()
}

/// The key ID as one shell word, or the `"$ACCESS_KEY_ID"` placeholder.
pub(super) fn key_arg(finding: &Finding) -> String {
    finding
        .key_id
        .as_deref()
        .map_or_else(|| "\"$ACCESS_KEY_ID\"".to_string(), sh_quote)
}

/// A user or role name as one shell word, or the `"$USER_NAME"` placeholder.
pub(super) fn user_arg(user: Option<&str>) -> String {
    match user {
        Some(u) => sh_quote(u),
        None => "\"$USER_NAME\"".to_string(),
    }
}

/// `name` when it is a valid IAM name (`[\w+=,.@-]`, 1-64 characters), so it can stand
/// unquoted in a command and inside a JMESPath string literal.
pub(super) fn iam_name(name: Option<&str>) -> Option<&str> {
    name.filter(|n| {
        !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    })
}

/// A 12-digit account ID, or None.
pub(super) fn account_digits(account: Option<&str>) -> Option<&str> {
    account.filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

/// A key ID as it may stand in a command: 4 letters and 16 base32 characters.
pub(super) fn key_id_literal(key: Option<&str>) -> Option<&str> {
    key.filter(|k| {
        k.len() == 20
            && k.bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    })
}

/// The IAM identity an inline policy is put on: a user or role name, as one shell word or
/// a placeholder.
pub(super) enum Holder {
    User(String),
    Role(String),
}

impl Holder {
    /// `aws iam put-user-policy` (or `put-role-policy`) of `document` (one shell word) named
    /// `policy` on the holder.
    pub(super) fn put_policy(&self, policy: &str, document: &str) -> String {
        let (kind, name) = match self {
            Holder::User(name) => ("user", name),
            Holder::Role(name) => ("role", name),
        };
        format!(
            "aws iam put-{kind}-policy --{kind}-name {name} --policy-name {policy} \
             --policy-document {document}"
        )
    }
}

/// The CloudTrail command: events made with `key` in every enabled region (or those in
/// `$REGIONS`), within the window.
pub(super) fn lookup_events_command(key: &str, window: Window) -> String {
    lookup_events_by("AccessKeyId", key, window)
}

/// The CloudTrail command: events whose `attribute` (`AccessKeyId`, `Username`) is `value`,
/// in every enabled region (or those in `$REGIONS`), within the window. `value` must be a
/// key ID or an IAM name (no shell or shorthand syntax in it).
pub(super) fn lookup_events_by(attribute: &str, key: &str, window: Window) -> String {
    format!(
        "regions=${{REGIONS:-$(aws ec2 describe-regions --query 'Regions[].RegionName' \
         --output text)}} || regions=$(printf '%s\\n' us-east-1 \"${{AWS_REGION:-}}\" \
         \"${{AWS_DEFAULT_REGION:-}}\" | sort -u); \
         ok=1; for r in $regions; do echo \"== $r\"; aws cloudtrail lookup-events --region \"$r\" \
         --lookup-attributes AttributeKey={attribute},AttributeValue={key}{} \
         --query 'Events[].[EventTime,EventSource,EventName,Username]' \
         --output text || ok=0; done; [ \"$ok\" = 1 ]",
        window.start_arg()
    )
}

/// The CloudTrail command that shows the first events made with session key `key` in
/// `region`: their `userIdentity.arn` names the role behind the session.
pub(super) fn session_role_lookup(region: &str, key: &str, window: Window) -> String {
    format!(
        "aws cloudtrail lookup-events --region {region} --lookup-attributes \
         AttributeKey=AccessKeyId,AttributeValue={key}{} --max-results 5 --query \
         'Events[].CloudTrailEvent' --output text",
        window.start_arg()
    )
}

/// The command that puts the user name of access key `key` into `$USER_NAME`.
pub(super) fn find_user_command(key: &str) -> String {
    format!(
        "USER_NAME=$(aws iam get-access-key-last-used --access-key-id {key} --query \
         UserName --output text) && echo \"user: $USER_NAME\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("a'$b"), r"'a'\''$b'");
        assert_eq!(user_arg(Some("a b")), "'a b'");
        assert_eq!(user_arg(Some("svc+ci@x.io")), "svc+ci@x.io");
        assert_eq!(user_arg(None), "\"$USER_NAME\"");
    }

    #[test]
    fn only_grammatical_values_stand_bare() {
        assert_eq!(iam_name(Some("deploy-bot")), Some("deploy-bot"));
        assert_eq!(iam_name(Some("a b")), None);
        assert_eq!(iam_name(Some(&"x".repeat(65))), None);
        assert_eq!(account_digits(Some("123456789012")), Some("123456789012"));
        assert_eq!(account_digits(Some("12345678901x")), None);
        assert_eq!(
            key_id_literal(Some("AKIAR7VZ3MOXQ4JTLW2N")),
            Some("AKIAR7VZ3MOXQ4JTLW2N")
        );
        assert_eq!(key_id_literal(Some("AKIAR7VZ3MOXQ4JTLW2;")), None);
    }

    #[test]
    fn investigate_steps_keep_their_window_as_data() {
        let window = Window {
            start: Some(1_714_564_800),
        };
        let s = investigate(String::new(), lookup_events_command("K", window), window);
        assert_eq!(s.step, Step::Investigate);
        assert_eq!(s.since, Some(1_714_564_800));
        assert!(s.command.contains(" --start-time 2024-05-01T12:00:00Z "));
        let open = Window { start: None };
        let s = investigate(String::new(), lookup_events_command("K", open), open);
        assert_eq!(s.since, None);
        assert!(!s.command.contains("--start-time"));
    }
}
