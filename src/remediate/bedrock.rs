//! The steps for Amazon Bedrock API keys (kinds bedrock_long_term_key,
//! bedrock_short_term_key).
//!
//! A long-term key is an IAM service-specific credential of the user it names: it is listed,
//! deactivated and deleted with the *-service-specific-credential commands, and its calls are
//! found in CloudTrail by that user. A short-term key is a presigned URL: it cannot be revoked
//! itself, it ends at its expiry (12 h at most), and it is contained through the identity that
//! signed it (its embedded key ID), by denying `bedrock:CallWithBearerToken` to that identity
//! (Bedrock user guide, "Control permissions for generating and using Amazon Bedrock API keys").

use crate::finding::{Finding, RemediationStep, Step};
use crate::time::parse_date;

use super::case::{known_user, verified_principal, Principal};
use super::command::{
    account_digits, find_user_command, iam_name, investigate, key_id_literal, lookup_events_by,
    lookup_events_command, session_role_lookup, sh_quote, step, Holder,
};
use super::steps::{confirm_inactive_step, identify_account_step};
use super::text::{since_en, since_ko};
use super::window::Window;
use super::Lang;

/// The IAM service name of Bedrock API keys.
const BEDROCK_SERVICE: &str = crate::bedrock::SERVICE_NAME;
/// The inline policy keysweep puts on the identity behind a leaked short-term key.
const DENY_BEARER_POLICY: &str = "KeysweepDenyBedrockBearerTokens";

/// Runs `aws iam ACTION --user-name U --service-specific-credential-id ID` (then `extra`) on
/// every Bedrock credential ID of user `u` whose alias starts with `alias`; fails when there
/// is none or when one command fails.
fn for_each_bedrock_credential(u: &str, alias: &str, action: &str, extra: &str) -> String {
    let each =
        format!("aws iam {action} --user-name {u} --service-specific-credential-id \"$id\"{extra}");
    format!(
        "ids=$(aws iam list-service-specific-credentials --user-name {u} --service-name \
         {BEDROCK_SERVICE} --query \"ServiceSpecificCredentials[?starts_with(ServiceCredentialAlias, \
         '{alias}')].ServiceSpecificCredentialId\" --output text) && [ -n \"$ids\" ] && \
         [ \"$ids\" != None ] && ok=1 && for id in $ids; do {each} || ok=0; done && [ \"$ok\" = 1 ]"
    )
}

pub(super) fn bedrock_long_term_steps(
    finding: &Finding,
    window: Window,
    lang: Lang,
    out: &mut Vec<RemediationStep>,
) {
    let user = iam_name(finding.user_name.as_deref());
    let account = account_digits(finding.account_id.as_deref());
    let u = user.unwrap_or("\"$USER_NAME\"");
    // The key's alias is `<user>-at-<account>`; without both, every Bedrock key of the user.
    let alias = match (user, account) {
        (Some(user), Some(account)) => format!("{user}-at-{account}"),
        _ => String::new(),
    };
    out.push(step(
        Step::Identify,
        tr!(
            lang,
            format!(
                "The key names IAM user {} of account {} (decoded from the key, no request made). \
                 List the user's Bedrock API keys (service-specific credentials): the leaked one \
                 has the alias {}. Run this and the next steps in that account.",
                user.unwrap_or("?"),
                account.unwrap_or("?"),
                if alias.is_empty() { "?" } else { &alias }
            ),
            format!(
                "키에 계정 {}의 IAM 사용자 {}가 들어 있습니다(키를 디코딩, 요청 없음). 사용자의 \
                 Bedrock API 키(서비스별 자격 증명)를 나열합니다. 유출된 키의 별칭은 {}입니다. \
                 이 단계부터는 그 계정에서 실행하십시오.",
                account.unwrap_or("?"),
                user.unwrap_or("?"),
                if alias.is_empty() { "?" } else { &alias }
            ),
        ),
        format!(
            "aws iam list-service-specific-credentials --user-name {u} --service-name \
             {BEDROCK_SERVICE} --query 'ServiceSpecificCredentials[].[ServiceSpecificCredentialId,\
             Status,ServiceCredentialAlias,CreateDate,ExpirationDate]' --output text"
        ),
    ));
    out.push(step(
        Step::Deactivate,
        tr!(
            lang,
            "Contain first: an inactive key stops working at once and can be re-enabled, unlike \
             a deleted one. Every Bedrock key of the user with the leaked key's alias is \
             deactivated (the key does not carry its credential ID).",
            "먼저 차단합니다. 비활성화된 키는 즉시 쓸 수 없고 삭제와 달리 다시 활성화할 수 \
             있습니다. 키에 자격 증명 ID가 없으므로 유출된 키의 별칭을 가진 사용자의 Bedrock \
             키를 모두 비활성화합니다.",
        ),
        for_each_bedrock_credential(
            u,
            &alias,
            "update-service-specific-credential",
            " --status Inactive",
        ),
    ));
    out.push(confirm_inactive_step(
        lang,
        format!(
            "aws iam list-service-specific-credentials --user-name {u} --service-name \
             {BEDROCK_SERVICE} --query 'ServiceSpecificCredentials[].[ServiceSpecificCredentialId,\
             Status]' --output text"
        ),
    ));
    out.push(investigate(
        tr!(
            lang,
            format!(
                "See what the user did {} in every region: calls made with a Bedrock API key \
                 carry additionalEventData.callWithBearerToken = true (InvokeModel, Converse, \
                 ...). Unknown source IPs or regions mean abuse (LLMjacking bills).",
                since_en(window)
            ),
            format!(
                "{} 이 사용자가 한 일을 모든 리전에서 확인합니다. Bedrock API 키로 한 호출에는 \
                 additionalEventData.callWithBearerToken = true가 있습니다(InvokeModel, Converse \
                 등). 모르는 IP나 리전은 악용의 흔적입니다.",
                since_ko(window)
            ),
        ),
        lookup_events_by("Username", u, window),
        window,
    ));
    out.push(step(
        Step::Investigate,
        tr!(
            lang,
            "See what else the user can do and holds: its policies (AmazonBedrockLimitedAccess \
             grants much of Bedrock) and any access keys, which an attacker may have created \
             to outlive the Bedrock key.",
            "사용자가 할 수 있는 일과 가진 것을 확인합니다: 정책(AmazonBedrockLimitedAccess는 \
             Bedrock 권한 대부분을 줌)과 액세스 키(공격자가 Bedrock 키보다 오래 쓰려고 만들었을 \
             수 있음).",
        ),
        format!(
            "aws iam list-attached-user-policies --user-name {u} && aws iam list-user-policies \
             --user-name {u} && aws iam list-access-keys --user-name {u}"
        ),
    ));
    out.push(step(
        Step::Delete,
        tr!(
            lang,
            "Delete the leaked key for good once nothing needs it (create a replacement first \
             if something does, preferably a short-term key).",
            "더 이상 쓰는 곳이 없으면 유출된 키를 영구히 삭제합니다(필요하면 대체 키를 먼저 \
             만드십시오. 가능하면 단기 키).",
        ),
        for_each_bedrock_credential(u, &alias, "delete-service-specific-credential", ""),
    ));
    out.push(step(
        Step::Harden,
        tr!(
            lang,
            "Prefer short-term Bedrock keys or IAM roles to long-term keys; an SCP that denies \
             iam:CreateServiceSpecificCredential stops new ones. A console-made key left an IAM \
             user (BedrockAPIKey-...) behind: delete it when it has no other use.",
            "장기 키 대신 Bedrock 단기 키나 IAM 역할을 쓰십시오. \
             iam:CreateServiceSpecificCredential을 거부하는 SCP로 새 장기 키를 막을 수 있습니다. \
             콘솔에서 만든 키는 IAM 사용자(BedrockAPIKey-...)를 남기므로 다른 용도가 없으면 \
             삭제하십시오.",
        ),
        format!("# review IAM user {u}: delete it if it exists only for this key"),
    ));
}

/// The policy that stops every Bedrock API key of an identity (its short-term keys
/// included): a deny of `bedrock:CallWithBearerToken`.
fn deny_bearer_policy() -> String {
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\
     \"Action\":\"bedrock:CallWithBearerToken\",\"Resource\":\"*\"}]}"
        .to_string()
}

pub(super) fn bedrock_short_term_steps(
    finding: &Finding,
    window: Window,
    lang: Lang,
    out: &mut Vec<RemediationStep>,
) {
    let key = key_id_literal(finding.key_id.as_deref()).unwrap_or("\"$ACCESS_KEY_ID\"");
    let temporary = key.starts_with("ASIA");
    // The key cannot have been used before it was signed, at most 12 h before its expiry:
    // the investigation starts there when that is earlier than the leak time found.
    let mut window = window;
    if let Some(expiry) = finding.expires_at.as_deref().and_then(parse_date) {
        let signed = expiry.saturating_sub(crate::bedrock::MAX_SHORT_TERM_SECONDS as i64);
        window.start = Some(window.start.map_or(signed, |start| start.min(signed)));
    }
    let expires = finding.expires_at.as_deref().unwrap_or("?");
    let region = finding.region.as_deref().unwrap_or("?");
    out.push(identify_account_step(key, lang));
    let policy = sh_quote(&deny_bearer_policy());
    let contain_why = tr!(
        lang,
        format!(
            "A short-term key cannot be revoked itself: it works in {region} until {expires} \
             (12 h at most, or the end of the signing session). Denying \
             bedrock:CallWithBearerToken to the identity that signed it stops it (and that \
             identity's other Bedrock API keys) now; its own key {key} leaked only as an ID."
        ),
        format!(
            "단기 키 자체는 취소할 수 없으며 {expires}까지 {region}에서 유효합니다(최대 12시간 \
             또는 서명한 세션이 끝날 때까지). 서명한 주체에 bedrock:CallWithBearerToken을 \
             거부하면 지금 바로 멈춥니다(그 주체의 다른 Bedrock API 키도). 서명한 키 {key}는 \
             ID만 유출되었습니다."
        ),
    );
    // The identity that signed the key: the deny goes on it.
    let holder = if temporary {
        let role = match verified_principal(finding) {
            Some(Principal::Role(r)) => iam_name(Some(&r)).map(str::to_string),
            _ => None,
        };
        if role.is_none() {
            out.push(step(
                Step::Identify,
                tr!(
                    lang,
                    "The key was signed by a session: find its role in the events made with the \
                     session key (userIdentity.arn = arn:aws:sts::ACCOUNT:assumed-role/ROLE/...) \
                     and set ROLE_NAME for the next step.",
                    "세션이 서명한 키입니다. 세션 키로 발생한 이벤트에서 역할을 찾아 \
                     (userIdentity.arn = arn:aws:sts::계정:assumed-role/역할/...) 다음 단계를 \
                     위해 ROLE_NAME 변수에 넣으십시오.",
                ),
                session_role_lookup(
                    if region == "?" { "us-east-1" } else { region },
                    key,
                    window,
                ),
            ));
        }
        Holder::Role(role.unwrap_or_else(|| "\"$ROLE_NAME\"".to_string()))
    } else {
        let user = iam_name(known_user(finding).as_deref()).map(str::to_string);
        if user.is_none() {
            out.push(step(
                Step::Identify,
                tr!(
                    lang,
                    "The key was signed by an IAM user's access key: look the user up into \
                     $USER_NAME, which the next commands use.",
                    "IAM 사용자의 액세스 키가 서명한 키입니다. 사용자를 조회하여 $USER_NAME \
                     변수에 넣습니다. 이후 명령이 이 변수를 씁니다.",
                ),
                find_user_command(key),
            ));
        }
        Holder::User(user.unwrap_or_else(|| "\"$USER_NAME\"".to_string()))
    };
    out.push(step(
        Step::Deactivate,
        contain_why,
        holder.put_policy(DENY_BEARER_POLICY, &policy),
    ));
    out.push(investigate(
        tr!(
            lang,
            format!(
                "See what was done with the signing key {}: calls made with the Bedrock key \
                 carry additionalEventData.callWithBearerToken = true.",
                since_en(window)
            ),
            format!(
                "{} 서명한 키로 한 일을 확인합니다. Bedrock 키로 한 호출에는 \
                 additionalEventData.callWithBearerToken = true가 있습니다.",
                since_ko(window)
            ),
        ),
        lookup_events_command(key, window),
        window,
    ));
    let (holder, remove) = if temporary {
        (
            "role",
            format!("aws iam delete-role-policy --role-name \"$ROLE_NAME\" --policy-name {DENY_BEARER_POLICY}"),
        )
    } else {
        (
            "user",
            format!("aws iam delete-user-policy --user-name \"$USER_NAME\" --policy-name {DENY_BEARER_POLICY}"),
        )
    };
    out.push(step(
        Step::Harden,
        tr!(
            lang,
            format!(
                "After {expires} the leaked key is dead: if the {holder} needs Bedrock API keys, \
                 remove the deny policy then. Find where the key leaked from (logs, notebooks, \
                 CI output)."
            ),
            format!(
                "{expires} 이후에는 유출된 키가 무효입니다. 이 주체에 Bedrock API 키가 필요하면 \
                 그때 거부 정책을 지우십시오. 키가 어디서 유출되었는지(로그, 노트북, CI 출력) \
                 확인하십시오."
            ),
        ),
        format!("# after {expires}: {remove}"),
    ));
}
