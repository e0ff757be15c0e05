//! The steps for AWS access keys — IAM user, root user, temporary session, a secret without
//! its key ID, a canary — and the order of a finding's steps: pure functions of the finding,
//! its CloudTrail window and the language.

use crate::finding::{Finding, RemediationStep, Step, VerificationStatus};

use super::bedrock::{bedrock_long_term_steps, bedrock_short_term_steps};
use super::case::{case_of, known_user, verified_principal, Case, Principal};
use super::command::{
    find_user_command, investigate, key_arg, lookup_events_command, session_role_lookup, sh_quote,
    step, user_arg, Holder,
};
use super::sso::sso_steps;
use super::text::{since_en, since_ko};
use super::window::Window;
use super::Lang;

fn investigate_why(lang: Lang, window: Window) -> String {
    let (span_en, span_ko) = (since_en(window), since_ko(window));
    tr!(
        lang,
        format!(
            "See what the key did {span_en} in every region \
             (IAM and STS events are in us-east-1; set REGIONS to limit the list). Look for \
             CreateUser, CreateAccessKey, CreateLoginProfile, Attach/PutUserPolicy, AssumeRole, \
             RunInstances, CreateFunction and undo what the attacker made. Event history keeps \
             90 days; older activity needs a trail (S3/Athena)."
        ),
        format!(
            "{span_ko} 이 키로 한 일을 모든 리전에서 확인합니다 \
             (IAM·STS 이벤트는 us-east-1에 기록됨, REGIONS 변수로 리전을 좁힐 수 있음). \
             CreateUser, CreateAccessKey, CreateLoginProfile, Attach/PutUserPolicy, AssumeRole, \
             RunInstances, CreateFunction 등을 찾아 공격자가 만든 것을 되돌립니다. 이벤트 기록은 \
             90일만 보관되므로 그 이전은 트레일(S3/Athena)로 확인해야 합니다."
        ),
    )
}

/// The ordered remediation steps for one finding.
pub fn steps(finding: &Finding, window: Window, lang: Lang) -> Vec<RemediationStep> {
    let mut out = Vec::new();
    let account = finding.account_id.as_deref();
    if finding.canary {
        return canary_steps(finding, lang);
    }
    if finding.verification.status == VerificationStatus::Foreign {
        let acct = account.unwrap_or("?");
        out.push(step(
            Step::Notify,
            tr!(
                lang,
                format!(
                    "The key belongs to AWS account {acct}, which is not one of yours: you cannot \
                     deactivate it. Tell the account's owner (the steps below are for them) and \
                     remove the key from where it was found."
                ),
                format!(
                    "이 키는 귀하의 계정이 아닌 AWS 계정 {acct}의 것이므로 직접 비활성화할 수 \
                     없습니다. 계정 소유자에게 알리고(아래 단계는 소유자용) 발견된 곳에서 키를 \
                     지우십시오."
                ),
            ),
            format!("# account {acct} owns this key: notify its owner"),
        ));
    }
    match case_of(finding) {
        Case::IamUser => user_steps(finding, window, lang, &mut out),
        Case::Root => root_steps(finding, window, lang, &mut out),
        Case::Temporary => temporary_steps(finding, window, lang, &mut out),
        Case::UnknownOwner => unknown_steps(finding, window, lang, &mut out),
        Case::BedrockLongTerm => bedrock_long_term_steps(finding, window, lang, &mut out),
        Case::BedrockShortTerm => bedrock_short_term_steps(finding, window, lang, &mut out),
        Case::SsoToken => sso_steps(finding, window, lang, &mut out),
    }
    blast_radius_steps(finding, window, &mut out);
    out
}

/// Checks (with `command`) that the key is now inactive.
pub(super) fn confirm_inactive_step(lang: Lang, command: String) -> RemediationStep {
    step(
        Step::Confirm,
        tr!(
            lang,
            "Check that the key is now Inactive.",
            "키가 Inactive 상태가 되었는지 확인합니다.",
        ),
        command,
    )
}

/// Asks STS which account owns `key` (signed by your credentials, logged only in your account).
pub(super) fn identify_account_step(key: &str, lang: Lang) -> RemediationStep {
    step(
        Step::Identify,
        tr!(
            lang,
            "Confirm which AWS account owns the key. Signed with your own credentials and \
             logged only in your account: the key's owner is not alerted.",
            "키를 소유한 AWS 계정을 확인합니다. 본인 자격 증명으로 서명되고 본인 계정에만 \
             기록되므로 키 소유자에게 알림이 가지 않습니다.",
        ),
        format!("aws sts get-access-key-info --access-key-id {key}"),
    )
}

fn user_steps(finding: &Finding, window: Window, lang: Lang, out: &mut Vec<RemediationStep>) {
    let key = &key_arg(finding);
    let user = known_user(finding);
    let u = user_arg(user.as_deref());
    out.push(identify_account_step(key, lang));
    key_lifecycle_steps(key, user.as_deref(), &u, window, lang, out);
}

/// Steps for a long-term IAM user key `key` (a literal ID or the `"$ACCESS_KEY_ID"`
/// placeholder) of user `u` (a name or the `"$USER_NAME"` placeholder), once its account is
/// known.
fn key_lifecycle_steps(
    key: &str,
    user: Option<&str>,
    u: &str,
    window: Window,
    lang: Lang,
    out: &mut Vec<RemediationStep>,
) {
    out.push(step(
        Step::Identify,
        tr!(
            lang,
            "See when, where and for which service the key was last used, and which IAM user \
             owns it (run this and the next steps in the owning account).",
            "키가 마지막으로 언제, 어느 리전에서, 어떤 서비스에 쓰였는지와 소유 IAM 사용자를 \
             확인합니다(이 단계부터는 키를 소유한 계정에서 실행).",
        ),
        format!("aws iam get-access-key-last-used --access-key-id {key}"),
    ));
    if user.is_none() {
        out.push(step(
            Step::Identify,
            tr!(
                lang,
                "The user name is not known from the leak: look it up (GetAccessKeyLastUsed \
                 returns UserName) into $USER_NAME, which the next commands use.",
                "유출된 내용에 사용자 이름이 없으므로 조회하여 $USER_NAME 변수에 넣습니다 \
                 (GetAccessKeyLastUsed가 UserName을 돌려줌). 이후 명령이 이 변수를 씁니다.",
            ),
            find_user_command(key),
        ));
    }
    out.push(step(
        Step::Deactivate,
        tr!(
            lang,
            "Contain first: an inactive key stops working at once and can be re-enabled if \
             something critical breaks, unlike a deleted one.",
            "먼저 차단합니다. 비활성화된 키는 즉시 쓸 수 없게 되며, 삭제와 달리 중요한 \
             서비스가 멈추면 다시 활성화할 수 있습니다.",
        ),
        format!(
            "aws iam update-access-key --user-name {u} --access-key-id {key} --status Inactive"
        ),
    ));
    out.push(confirm_inactive_step(
        lang,
        format!(
            "aws iam list-access-keys --user-name {u} --query {} --output text",
            sh_quote(&format!(
                "AccessKeyMetadata[?AccessKeyId=='{key}'].[AccessKeyId,Status]"
            ))
        ),
    ));
    out.push(investigate(
        investigate_why(lang, window),
        lookup_events_command(key, window),
        window,
    ));
    out.push(step(
        Step::Investigate,
        tr!(
            lang,
            "See what the key could do: the user's attached and inline policies and groups. An \
             AWSCompromisedKeyQuarantine* policy means AWS already found the leak.",
            "키로 할 수 있었던 일을 파악합니다: 사용자에게 연결된 정책, 인라인 정책, 그룹. \
             AWSCompromisedKeyQuarantine* 정책이 붙어 있다면 AWS가 이미 유출을 감지한 것입니다.",
        ),
        format!(
            "aws iam list-attached-user-policies --user-name {u} && aws iam list-user-policies \
             --user-name {u} && aws iam list-groups-for-user --user-name {u}"
        ),
    ));
    out.push(step(
        Step::Rotate,
        tr!(
            lang,
            "Create the replacement key and put it into every application, CI secret and \
             config that used the leaked one (a user can hold two keys at most).",
            "대체 키를 만들고, 유출된 키를 쓰던 모든 애플리케이션·CI 시크릿·설정에 새 키를 \
             넣습니다(사용자당 키는 최대 2개).",
        ),
        format!("aws iam create-access-key --user-name {u}"),
    ));
    out.push(step(
        Step::Delete,
        tr!(
            lang,
            "Delete the leaked key for good once nothing needs it.",
            "더 이상 쓰는 곳이 없으면 유출된 키를 영구히 삭제합니다.",
        ),
        format!("aws iam delete-access-key --user-name {u} --access-key-id {key}"),
    ));
    out.push(step(
        Step::Confirm,
        tr!(
            lang,
            "Check that the leaked key is gone from the user's keys.",
            "유출된 키가 사용자의 키 목록에서 사라졌는지 확인합니다.",
        ),
        format!(
            "aws iam list-access-keys --user-name {u} --query \
             'AccessKeyMetadata[].[AccessKeyId,Status]' --output text"
        ),
    ));
    out.push(step(
        Step::Harden,
        tr!(
            lang,
            "Require MFA for the user, and prefer IAM roles or IAM Identity Center (SSO) \
             short-term credentials to long-term keys; keep secrets in a secret store and scan \
             commits (keysweep in pre-commit and CI).",
            "사용자에게 MFA를 요구하고, 장기 액세스 키 대신 IAM 역할이나 IAM Identity \
             Center(SSO)의 임시 자격 증명을 쓰십시오. 시크릿은 시크릿 저장소에 두고 커밋을 \
             검사하십시오(pre-commit과 CI에서 keysweep 실행).",
        ),
        format!("aws iam list-mfa-devices --user-name {u}"),
    ));
}

fn root_steps(finding: &Finding, window: Window, lang: Lang, out: &mut Vec<RemediationStep>) {
    let key = &key_arg(finding);
    out.push(identify_account_step(key, lang));
    out.push(step(
        Step::Deactivate,
        tr!(
            lang,
            "This is a root user key: only the root user can deactivate it (sign in as root, \
             Security credentials, or run this with root credentials: without --user-name the \
             command targets the signer). Root permissions cannot be restricted, so act now.",
            "루트 사용자 키입니다. 루트 사용자만 비활성화할 수 있습니다(루트로 로그인 후 보안 \
             자격 증명 화면에서, 또는 루트 자격 증명으로 이 명령 실행: --user-name이 없으면 \
             서명자 자신이 대상). 루트 권한은 제한할 수 없으므로 즉시 조치하십시오.",
        ),
        format!("aws iam update-access-key --access-key-id {key} --status Inactive"),
    ));
    out.push(investigate(
        investigate_why(lang, window),
        lookup_events_command(key, window),
        window,
    ));
    out.push(step(
        Step::Rotate,
        tr!(
            lang,
            "Do not create a new root key: give each workload an IAM role or IAM user with \
             least privilege instead.",
            "새 루트 키를 만들지 마십시오. 대신 워크로드마다 최소 권한의 IAM 역할이나 IAM \
             사용자를 쓰십시오.",
        ),
        "# no replacement root key: move workloads to IAM roles",
    ));
    out.push(step(
        Step::Delete,
        tr!(
            lang,
            "Delete the root key (as root): the root user should have no access keys at all.",
            "루트 키를 삭제합니다(루트로 실행). 루트 사용자에게는 액세스 키가 없어야 합니다.",
        ),
        format!("aws iam delete-access-key --access-key-id {key}"),
    ));
    out.push(step(
        Step::Harden,
        tr!(
            lang,
            "Expect AccountAccessKeysPresent 0 (no root keys) and AccountMFAEnabled 1 (root MFA \
             on); use the root user only for the few tasks that need it.",
            "AccountAccessKeysPresent는 0(루트 키 없음), AccountMFAEnabled는 1(루트 MFA \
             사용)이어야 합니다. 루트 사용자는 꼭 필요한 작업에만 쓰십시오.",
        ),
        "aws iam get-account-summary --query \
         'SummaryMap.[AccountAccessKeysPresent,AccountMFAEnabled]' --output text",
    ));
}

/// The IAM inline policy that denies every session issued before the command runs (what the console's
/// "Revoke active sessions" adds).
fn revoke_policy() -> String {
    // One shell word: double-quoted JSON whose issue time `date` fills in when the command runs.
    r#""{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":[\"*\"],\"Resource\":[\"*\"],\"Condition\":{\"DateLessThan\":{\"aws:TokenIssueTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}}}]}""#
        .to_string()
}

fn temporary_steps(finding: &Finding, window: Window, lang: Lang, out: &mut Vec<RemediationStep>) {
    let key = &key_arg(finding);
    out.push(identify_account_step(key, lang));
    let principal = verified_principal(finding);
    let policy = revoke_policy();
    let revoke_why = tr!(
        lang,
        "Temporary keys cannot be deactivated: they stay valid until they expire (up to 12-36 \
         h). Denying every session issued before now ends this one; other current sessions \
         must sign in again.",
        "임시 키는 비활성화할 수 없고 만료될 때까지(최대 12~36시간) 유효합니다. 지금 이전에 \
         발급된 모든 세션을 거부하면 이 세션이 끝나며, 다른 현재 세션은 다시 로그인해야 \
         합니다.",
    );
    // The user or role whose older sessions are denied.
    let holder = match &principal {
        Some(Principal::User(user)) => Holder::User(user_arg(Some(user))),
        Some(Principal::Role(role)) => Holder::Role(user_arg(Some(role))),
        _ => {
            out.push(step(
                Step::Identify,
                tr!(
                    lang,
                    "Find the role behind the session: the events made with the key name it \
                     (userIdentity.arn = arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION). Set \
                     ROLE_NAME to that role for the next step.",
                    "세션 뒤의 역할을 찾습니다. 이 키로 발생한 이벤트에 역할이 나옵니다 \
                     (userIdentity.arn = arn:aws:sts::계정:assumed-role/역할/세션). 다음 단계를 \
                     위해 ROLE_NAME 변수에 그 역할 이름을 넣으십시오.",
                ),
                session_role_lookup("us-east-1", key, window),
            ));
            Holder::Role("\"$ROLE_NAME\"".to_string())
        }
    };
    out.push(step(
        Step::RevokeSessions,
        revoke_why,
        holder.put_policy("AWSRevokeOlderSessions", &policy),
    ));
    out.push(investigate(
        investigate_why(lang, window),
        lookup_events_command(key, window),
        window,
    ));
    let harden_command = match &principal {
        Some(Principal::User(user)) => {
            format!(
                "aws iam list-mfa-devices --user-name {}",
                user_arg(Some(user))
            )
        }
        Some(Principal::Role(role)) => format!(
            "aws iam get-role --role-name {} --query \
             'Role.[MaxSessionDuration,AssumeRolePolicyDocument]'",
            user_arg(Some(role))
        ),
        _ => "aws iam get-role --role-name \"$ROLE_NAME\" --query \
              'Role.[MaxSessionDuration,AssumeRolePolicyDocument]'"
            .to_string(),
    };
    out.push(step(
        Step::Harden,
        tr!(
            lang,
            "Find where the session leaked from (CI logs, environment dumps, crash reports) and \
             who could assume the role: tighten its trust policy and shorten \
             MaxSessionDuration. The credentials that started the session may be exposed too.",
            "세션이 어디서 유출되었는지(CI 로그, 환경 변수 덤프, 크래시 리포트)와 누가 역할을 \
             맡을 수 있는지 확인하고, 신뢰 정책을 좁히고 MaxSessionDuration을 줄이십시오. \
             세션을 시작한 자격 증명도 노출되었을 수 있습니다.",
        ),
        harden_command,
    ));
}

fn unknown_steps(_finding: &Finding, window: Window, lang: Lang, out: &mut Vec<RemediationStep>) {
    out.push(step(
        Step::Identify,
        tr!(
            lang,
            "The secret was found without its key ID: look for an AKIA/ASIA ID near it and in \
             the file's history first. Otherwise list every key with its last use, pick the \
             candidate, and set ACCESS_KEY_ID and USER_NAME for the next commands.",
            "시크릿만 발견되고 키 ID는 없습니다. 먼저 주변과 파일 이력에서 AKIA/ASIA ID를 \
             찾으십시오. 없으면 모든 키의 마지막 사용 내역을 나열해 후보를 고르고, 다음 명령을 \
             위해 ACCESS_KEY_ID와 USER_NAME 변수를 설정하십시오.",
        ),
        "until aws iam generate-credential-report --query State --output text | grep -q \
         COMPLETE; do sleep 2; done; aws iam get-credential-report --query Content --output \
         text | base64 -d | cut -d, -f1,9,10,11,14,15,16",
    ));
    // The account lookup needs a real key ID: none for the placeholder.
    key_lifecycle_steps(
        "\"$ACCESS_KEY_ID\"",
        Some("$USER_NAME"),
        "\"$USER_NAME\"",
        window,
        lang,
        out,
    );
}

fn canary_steps(finding: &Finding, lang: Lang) -> Vec<RemediationStep> {
    let acct = finding.account_id.as_deref().unwrap_or("?");
    let mut out = Vec::new();
    if let Some(key) = finding.key_id.as_deref() {
        out.push(identify_account_step(&sh_quote(key), lang));
    }
    out.push(step(
        Step::Notify,
        tr!(
            lang,
            format!(
                "Account {acct} belongs to a canary-token service: this key is a tripwire, not \
                 a real credential. Do not use or verify it (that alerts whoever planted it). \
                 If it is yours, the alert it raises is the point; otherwise remove it and tell \
                 whoever planted it."
            ),
            format!(
                "계정 {acct}는 카나리 토큰 서비스의 계정입니다. 이 키는 실제 자격 증명이 아니라 \
                 침입 감지용 덫입니다. 사용하거나 검증하지 마십시오(심은 사람에게 알림이 \
                 갑니다). 본인이 심은 것이라면 정상 동작이며, 아니라면 제거하고 심은 사람에게 \
                 알리십시오."
            ),
        ),
        format!("# canary token (account {acct}): do not use this key"),
    ));
    out
}

/// For a key whose owner may do anything or change IAM (its blast radius, `--blast-radius`),
/// puts an "investigate" step before the usual ones: IAM changes first (in us-east-1, where
/// IAM events are recorded, made with any credentials: an attacker may already use new users
/// or keys), then every region.
fn blast_radius_steps(f: &Finding, window: Window, steps: &mut Vec<RemediationStep>) {
    let Some(b) = &f.blast_radius else {
        return;
    };
    let escalation = b
        .permissions
        .as_ref()
        .is_some_and(|p| !p.iam_write.is_empty());
    if !(b.is_administrator() || escalation) || f.canary {
        return;
    }
    let what = if b.is_administrator() {
        "an administrator: assume the attacker could do anything, in any region"
    } else {
        "allowed to change IAM (create users and keys, attach policies): assume the attacker \
         gave itself more access"
    };
    let step = investigate(
        format!(
            "The key's owner is {what}. Look at IAM changes first: every user, access key, \
             login profile, policy and role created or changed since the leak, by anyone (the \
             attacker may already use new credentials); undo them. Then check every region, not \
             only where the key was last used."
        ),
        format!(
            "aws cloudtrail lookup-events --region us-east-1 --lookup-attributes \
             AttributeKey=EventSource,AttributeValue=iam.amazonaws.com{} \
             --query 'Events[].[EventTime,EventName,Username]' --output text",
            window.start_arg()
        ),
        window,
    );
    let at = steps
        .iter()
        .position(|s| s.step == Step::Investigate)
        .unwrap_or(steps.len());
    steps.insert(at, step);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Kind;
    use crate::remediate::testing::{finding, WINDOW};

    fn names(steps: &[RemediationStep]) -> Vec<Step> {
        steps.iter().map(|s| s.step).collect()
    }

    fn command(steps: &[RemediationStep], step: Step) -> &str {
        steps
            .iter()
            .find(|s| s.step == step)
            .map_or("", |s| s.command.as_str())
    }

    #[test]
    fn iam_user_steps_fill_in_key_user_and_window() {
        let mut f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        f.user_name = Some("deploy-bot".into());
        let steps = steps(&f, WINDOW, Lang::En);
        use Step::*;
        assert_eq!(
            names(&steps),
            [
                Identify,
                Identify,
                Deactivate,
                Confirm,
                Investigate,
                Investigate,
                Rotate,
                Delete,
                Confirm,
                Harden
            ]
        );
        assert_eq!(
            command(&steps, Deactivate),
            "aws iam update-access-key --user-name deploy-bot --access-key-id \
             AKIAR7VZ3MOXQ4JTLW2N --status Inactive"
        );
        assert_eq!(
            command(&steps, Delete),
            "aws iam delete-access-key --user-name deploy-bot --access-key-id AKIAR7VZ3MOXQ4JTLW2N"
        );
        let inv = command(&steps, Investigate);
        assert!(inv.contains("--start-time 2024-05-01T12:00:00Z --query"));
        assert!(!inv.contains("--end-time"));
        assert!(inv.contains("AttributeKey=AccessKeyId,AttributeValue=AKIAR7VZ3MOXQ4JTLW2N"));
        assert!(inv.contains("aws ec2 describe-regions"));
        assert!(!steps.iter().any(|s| s.command.contains("$USER_NAME")));
        // The CloudTrail search carries its window as data; the policy listing has none.
        let since: Vec<Option<i64>> = steps
            .iter()
            .filter(|s| s.step == Investigate)
            .map(|s| s.since)
            .collect();
        assert_eq!(since, [WINDOW.start, None]);
        assert!(steps
            .iter()
            .all(|s| s.since.is_none() || s.step == Investigate));
    }

    #[test]
    fn unknown_user_uses_placeholder_and_finds_it() {
        let f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let steps = steps(&f, WINDOW, Lang::En);
        assert!(steps.iter().any(|s| s.step == Step::Identify
            && s.command
                .starts_with("USER_NAME=$(aws iam get-access-key-last-used")));
        assert_eq!(
            command(&steps, Step::Deactivate),
            "aws iam update-access-key --user-name \"$USER_NAME\" --access-key-id \
             AKIAR7VZ3MOXQ4JTLW2N --status Inactive"
        );
    }

    #[test]
    fn user_name_comes_from_live_arn() {
        let mut f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        f.verification.status = VerificationStatus::Live;
        f.verification.arn = Some("arn:aws:iam::123456789012:user/ops/alice".into());
        let steps = steps(&f, WINDOW, Lang::En);
        assert!(steps
            .iter()
            .any(|s| s.command.contains("delete-access-key --user-name alice ")));
    }

    #[test]
    fn root_key_steps_omit_user_and_rotation() {
        let mut f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        f.verification.status = VerificationStatus::Live;
        f.verification.arn = Some("arn:aws:iam::123456789012:root".into());
        assert_eq!(case_of(&f), Case::Root);
        let steps = steps(&f, WINDOW, Lang::En);
        assert!(steps.iter().any(|s| s.command
            == "aws iam update-access-key --access-key-id AKIAR7VZ3MOXQ4JTLW2N --status Inactive"));
        assert!(!steps.iter().any(|s| s.command.contains("--user-name")));
        assert!(!steps
            .iter()
            .any(|s| s.command.contains("create-access-key")));
    }

    #[test]
    fn temporary_keys_revoke_the_role_sessions() {
        let mut f = finding(Some("ASIAR7VZ3MOXQ4JTLW2N"));
        f.session_token = Some("FwoGZXIvYXdz".into());
        f.verification.arn =
            Some("arn:aws:sts::123456789012:assumed-role/ci-deploy/build-42".into());
        assert_eq!(case_of(&f), Case::Temporary);
        let steps = steps(&f, WINDOW, Lang::En);
        let cmd = command(&steps, Step::RevokeSessions);
        assert!(cmd.starts_with(
            "aws iam put-role-policy --role-name ci-deploy --policy-name AWSRevokeOlderSessions"
        ));
        // The issue time is taken when the command runs, not when the report was made.
        assert!(cmd.contains(r#"\"aws:TokenIssueTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\""#));
        assert!(!steps
            .iter()
            .any(|s| s.step == Step::Deactivate || s.step == Step::Delete));
        // Without an ARN the role is a placeholder found by an identify step.
        f.verification.arn = None;
        let steps = super::steps(&f, WINDOW, Lang::En);
        assert!(steps
            .iter()
            .any(|s| s.step == Step::Identify && s.command.contains("--max-results 5")));
        assert!(command(&steps, Step::RevokeSessions).contains("\"$ROLE_NAME\""));
    }

    #[test]
    fn unknown_owner_and_canary_and_foreign() {
        let f = finding(None);
        assert_eq!(case_of(&f), Case::UnknownOwner);
        let steps = steps(&f, WINDOW, Lang::En);
        assert!(steps
            .iter()
            .any(|s| s.command.contains("get-credential-report")));
        assert!(command(&steps, Step::Deactivate).contains("\"$ACCESS_KEY_ID\""));
        // No account lookup without a real key ID.
        assert!(!steps
            .iter()
            .any(|s| s.command.contains("get-access-key-info")));

        let mut c = finding(Some("AKIASP2TPHJSQH3FJXYZ"));
        c.canary = true;
        c.account_id = Some("171436882533".into());
        let steps = super::steps(&c, WINDOW, Lang::En);
        assert_eq!(names(&steps), [Step::Identify, Step::Notify]);

        let mut x = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        x.verification.status = VerificationStatus::Foreign;
        x.account_id = Some("210987654321".into());
        let steps = super::steps(&x, WINDOW, Lang::En);
        assert_eq!(steps[0].step, Step::Notify);
        assert!(steps[0].why.contains("210987654321"));
    }

    #[test]
    fn korean_changes_explanations_not_commands() {
        let mut findings = vec![finding(Some("AKIAR7VZ3MOXQ4JTLW2N")), finding(None)];
        let mut sso = finding(None);
        sso.kind = Kind::SsoToken;
        findings.push(sso);
        for f in &findings {
            let en = steps(f, WINDOW, Lang::En);
            let ko = steps(f, WINDOW, Lang::Ko);
            assert_eq!(en.len(), ko.len());
            for (e, k) in en.iter().zip(&ko) {
                assert_eq!(e.command, k.command);
                assert_eq!(e.step, k.step);
                assert_eq!(e.since, k.since);
                assert_ne!(e.why, k.why);
                assert!(k
                    .why
                    .chars()
                    .any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c)));
            }
        }
    }

    #[test]
    fn steps_depend_only_on_the_finding_window_and_language() {
        let f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        assert_eq!(steps(&f, WINDOW, Lang::En), steps(&f, WINDOW, Lang::En));
        let open = steps(&f, Window { start: None }, Lang::En);
        assert!(open.iter().all(|s| s.since.is_none()));
        assert!(!open.iter().any(|s| s.command.contains("--start-time")));
        assert!(command(&open, Step::Investigate).contains("AttributeValue=AKIAR7VZ3MOXQ4JTLW2N"));
    }

    #[test]
    fn bedrock_long_term_keys_are_listed_and_deactivated_by_alias() {
        let mut f = finding(None);
        f.kind = Kind::BedrockLongTermKey;
        f.user_name = Some("BedrockAPIKey-x1".into());
        f.account_id = Some("123456789012".into());
        let steps = steps(&f, WINDOW, Lang::En);
        use Step::*;
        assert_eq!(
            names(&steps),
            [
                Identify,
                Deactivate,
                Confirm,
                Investigate,
                Investigate,
                Delete,
                Harden
            ]
        );
        let deactivate = command(&steps, Deactivate);
        assert!(deactivate.contains("'BedrockAPIKey-x1-at-123456789012'"));
        assert!(deactivate.contains("--status Inactive"));
        assert!(command(&steps, Investigate)
            .contains("AttributeKey=Username,AttributeValue=BedrockAPIKey-x1 --start-time"));
        assert_eq!(steps[3].since, WINDOW.start);
    }

    #[test]
    fn bedrock_short_term_windows_start_when_the_key_was_signed() {
        let mut f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        f.kind = Kind::BedrockShortTermKey;
        f.user_name = Some("alice".into());
        f.region = Some("us-west-2".into());
        // Signed at most 12 h before it expires: 2024-05-01T00:00:00Z, before the leak time.
        f.expires_at = Some("2024-05-01T12:00:00Z".into());
        let steps = steps(&f, WINDOW, Lang::En);
        let inv = steps.iter().find(|s| s.step == Step::Investigate);
        assert_eq!(inv.and_then(|s| s.since), Some(1_714_521_600));
        assert!(command(&steps, Step::Investigate).contains("--start-time 2024-05-01T00:00:00Z"));
        assert!(command(&steps, Step::Deactivate).starts_with(
            "aws iam put-user-policy --user-name alice --policy-name \
             KeysweepDenyBedrockBearerTokens"
        ));
    }

    #[test]
    fn sso_tokens_are_logged_out_and_their_role_sessions_denied() {
        let mut f = finding(None);
        f.kind = Kind::SsoToken;
        f.sso = Some(crate::finding::SsoDetails {
            start_url: Some("https://d-1234567890.awsapps.com/start".into()),
            region: Some("eu-west-1".into()),
            refresh_token: None,
            client_id: None,
            client_secret: None,
            registration_expires_at: None,
            refreshable: true,
        });
        let steps = steps(&f, WINDOW, Lang::En);
        use Step::*;
        assert_eq!(
            names(&steps),
            [
                InvalidateToken,
                EndSessions,
                RevokeRoleSessions,
                Investigate,
                RefreshToken
            ]
        );
        assert!(command(&steps, InvalidateToken).starts_with("aws sso logout --region eu-west-1 "));
        assert!(command(&steps, Investigate).contains(
            "AttributeValue=GetRoleCredentials --start-time 2024-05-01T12:00:00Z --query"
        ));
        assert_eq!(steps[3].since, WINDOW.start);
    }

    #[test]
    fn administrators_get_the_iam_investigation_first() {
        let mut f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let before = steps(&f, WINDOW, Lang::En);
        use crate::verify::blast::{BlastRadius, Permissions};
        f.blast_radius = Some(BlastRadius {
            permissions: Some(Permissions {
                administrator: true,
                ..Permissions::default()
            }),
            ..BlastRadius::default()
        });
        let after = steps(&f, WINDOW, Lang::En);
        assert_eq!(after.len(), before.len() + 1);
        let first = after.iter().position(|s| s.step == Step::Investigate);
        let added = first.map(|i| &after[i]);
        assert!(added.is_some_and(|s| s
            .command
            .contains("AttributeValue=iam.amazonaws.com --start-time 2024-05-01T12:00:00Z")
            && s.since == WINDOW.start));
        // A canary keeps its two steps.
        f.canary = true;
        assert_eq!(steps(&f, WINDOW, Lang::En).len(), 2);
    }
}
