//! The steps for an IAM Identity Center token from the AWS CLI's SSO cache.

use crate::finding::{Finding, RemediationStep, SsoDetails, Step};

use super::command::{investigate, sh_quote, step};
use super::text::{since_en, since_ko};
use super::window::Window;
use super::Lang;

/// An IAM Identity Center access token (and maybe a refresh token) from the AWS CLI's cache.
/// Sources: the SSO `Logout` API (invalidates the sign-in session of the token; role sessions
/// already issued keep running), IAM Identity Center User Guide "View and end active sessions
/// for workforce users" and "Revoke active IAM role sessions created by permission sets"
/// (deny policy on the permission set with `identitystore:userId`), and
/// `sso-admin put-inline-policy-to-permission-set` / `provision-permission-set`.
pub(super) fn sso_steps(
    finding: &Finding,
    window: Window,
    lang: Lang,
    out: &mut Vec<RemediationStep>,
) {
    let sso = finding.sso.clone().unwrap_or(SsoDetails {
        start_url: None,
        region: None,
        refresh_token: None,
        client_id: None,
        client_secret: None,
        registration_expires_at: None,
        refreshable: false,
    });
    let region = sso
        .region
        .as_deref()
        .filter(|r| r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .unwrap_or("\"$SSO_REGION\"");
    let portal = sso.start_url.as_deref().map(sh_quote).unwrap_or_default();
    out.push(step(
        Step::InvalidateToken,
        tr!(
            lang,
            format!(
                "Invalidate the leaked token's Identity Center sign-in session ({portal}) with \
                 the SSO Logout API, called with the leaked access token (put it in \
                 LEAKED_SSO_TOKEN from the file; keysweep does not print it). Role credentials \
                 already obtained with it keep working until they expire: see the next steps."
            ),
            format!(
                "유출된 액세스 토큰으로 SSO Logout API를 호출해 해당 Identity Center 로그인 \
                 세션({portal})을 무효화합니다(파일에서 토큰을 LEAKED_SSO_TOKEN에 넣으십시오. \
                 keysweep은 토큰을 출력하지 않습니다). 이미 받은 역할 자격 증명은 만료될 때까지 \
                 유효하므로 다음 단계를 따르십시오."
            ),
        ),
        format!(
            "aws sso logout --region {region} --access-token \"$LEAKED_SSO_TOKEN\"  \
             # AWS CLI v1 syntax; with CLI v2 call the same Logout API from an SDK"
        ),
    ));
    out.push(step(
        Step::EndSessions,
        tr!(
            lang,
            "In the IAM Identity Center console (Users > the user > Active sessions), delete \
             the user's active sessions, and disable the user until the leak is understood: \
             no new access or refresh tokens are issued to a disabled user. Find the user from \
             the CloudTrail events of the token (next step).",
            "IAM Identity Center 콘솔(사용자 > 해당 사용자 > 활성 세션)에서 사용자의 활성 \
             세션을 삭제하고, 유출 경위를 파악할 때까지 사용자를 비활성화합니다. 비활성화된 \
             사용자에게는 새 액세스·새로 고침 토큰이 발급되지 않습니다. 사용자는 다음 단계의 \
             CloudTrail 이벤트로 찾습니다.",
        ),
        "# console: IAM Identity Center > Users > USER > Active sessions > Delete session; \
         then Disable user access",
    ));
    let policy = sh_quote(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\
         \"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"identitystore:userId\":\
         \"USER_ID\"}}}]}",
    );
    out.push(step(
        Step::RevokeRoleSessions,
        tr!(
            lang,
            "Role sessions the token already bought (AWSReservedSSO_* roles) last until the \
             permission set's session duration ends, and those roles cannot be edited in IAM. \
             Add a deny for the user's identity-store ID to each permission set assigned to \
             the user (merge it into an existing inline policy: this call replaces it), then \
             provision the permission set.",
            "토큰으로 이미 받은 역할 세션(AWSReservedSSO_* 역할)은 권한 세트의 세션 기간이 \
             끝날 때까지 유지되며, 이 역할은 IAM에서 편집할 수 없습니다. 사용자에게 할당된 각 \
             권한 세트에 사용자의 identity store ID를 거부하는 정책을 추가하고(기존 인라인 \
             정책이 있으면 병합: 이 호출은 덮어씀) 권한 세트를 프로비저닝합니다.",
        ),
        format!(
            "aws sso-admin put-inline-policy-to-permission-set --instance-arn \"$INSTANCE_ARN\" \
             --permission-set-arn \"$PERMISSION_SET_ARN\" --inline-policy {} && \
             aws sso-admin provision-permission-set --instance-arn \"$INSTANCE_ARN\" \
             --permission-set-arn \"$PERMISSION_SET_ARN\" --target-type ALL_PROVISIONED_ACCOUNTS",
            policy.replace("USER_ID", "'\"$USER_ID\"'")
        ),
    ));
    let (span_en, span_ko) = (since_en(window), since_ko(window));
    out.push(investigate(
        tr!(
            lang,
            format!(
                "See what was done with the token {span_en}: GetRoleCredentials calls in the \
                 Identity Center region name the accounts and roles it reached; then look up \
                 those role sessions' activity in each account."
            ),
            format!(
                "{span_ko} 토큰으로 한 일을 확인합니다. Identity Center 리전의 \
                 GetRoleCredentials 호출이 토큰이 접근한 계정과 역할을 알려 주며, 각 계정에서 그 \
                 역할 세션의 활동을 조회합니다."
            ),
        ),
        format!(
            "aws cloudtrail lookup-events --region {region} --lookup-attributes \
             AttributeKey=EventName,AttributeValue=GetRoleCredentials{} \
             --query 'Events[].[EventTime,Username,CloudTrailEvent]' --output text",
            window.start_arg()
        ),
        window,
    ));
    if sso.refreshable {
        out.push(step(
            Step::RefreshToken,
            tr!(
                lang,
                "The cache also holds a refresh token with its client registration: whoever has \
                 the file can mint new access tokens until the registration expires or the \
                 user's sessions are ended and the user is disabled (steps above).",
                "캐시에는 클라이언트 등록과 함께 새로 고침 토큰도 있어, 파일을 가진 사람은 등록이 \
                 만료되거나 위 단계로 사용자 세션을 끝내고 사용자를 비활성화할 때까지 새 액세스 \
                 토큰을 만들 수 있습니다.",
            ),
            "# end the sessions and disable the user (above); delete ~/.aws/sso/cache/*.json \
             where the leak came from",
        ));
    }
}
