//! Remediation: for each finding, the ordered steps that shut the key down — identify the
//! owner, deactivate, investigate in CloudTrail, rotate, delete, harden — each an exact `aws`
//! CLI command with the key ID, the user (or role) name and the CloudTrail time window filled
//! in; and the playbooks (`md` checklist, `sh` script) `keysweep remediate` writes from a
//! report. Commands follow aws-facts.md §4; they are identical in every language, only the
//! explanations are translated.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::finding::{Finding, KeyType, Kind, RemediationStep, VerificationStatus};
use crate::grammar::Field;
use crate::markup;

/// Language of the explanations (`why`, headings, messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Korean (한국어).
    Ko,
}

/// Playbook formats of `keysweep remediate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybookFormat {
    /// A Markdown checklist, grouped per key.
    Md,
    /// A bash script: lookups run, changes only with `--execute`.
    Sh,
    /// A standalone HTML incident report (the same page as `scan --format html`).
    Html,
}

/// How the `sh` playbook treats a step, by its `step` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepClass {
    /// Read-only: always runs; a failure is reported and the script goes on.
    Lookup,
    /// Read-only investigation: always runs; a failure is reported and the script goes on.
    Investigation,
    /// Stops the key (deactivate, delete, revoke sessions): only with `--execute`; a failure
    /// stops the script.
    Containment,
    /// Another change (rotate): only with `--execute`; a failure stops the script.
    Change,
    /// Advice with no command to run (the command is a `#` comment).
    Note,
}

/// The step names keysweep writes, with their class; unknown names count as changes.
pub fn step_class(step: &str, command: &str) -> StepClass {
    if command.trim_start().starts_with('#') {
        return StepClass::Note;
    }
    match step {
        "identify" | "confirm" | "harden" => StepClass::Lookup,
        "investigate" => StepClass::Investigation,
        "deactivate" | "delete" | "revoke_sessions" => StepClass::Containment,
        "notify" => StepClass::Note,
        _ => StepClass::Change,
    }
}

/// Shell variables the commands use when a name is not known yet.
pub const PLACEHOLDERS: &[&str] = &["USER_NAME", "ROLE_NAME", "ACCESS_KEY_ID"];

/// The CloudTrail time window of the investigation: from the leak (Unix seconds) to whenever
/// the command runs. `start` is `None` when the leak time is unknown: CloudTrail then searches
/// the 90 days its event history keeps. The end is never fixed here, so a report does not
/// depend on when it was made and a command run hours later still covers up to that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Option<i64>,
}

impl Window {
    /// From `leak` (the earliest known time of the leak), never after `now`.
    pub fn new(leak: Option<i64>, now: SystemTime) -> Window {
        let now = unix(now);
        Window {
            start: leak.map(|t| t.min(now)),
        }
    }

    /// ` --start-time 2024-05-01T12:00:00Z`, or nothing when the leak time is unknown.
    fn start_arg(self) -> String {
        self.start
            .map(|t| format!(" --start-time {}", format_utc(t)))
            .unwrap_or_default()
    }
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// `2024-05-01T12:00:00Z` for Unix seconds `secs`.
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Unix seconds of a date as git and reports write it: RFC 3339 / ISO 8601
/// (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00+02:00`, `2024-05-01 14:00:00 +0200`, a bare
/// date) or git's raw `1714564800 +0200`. `None` when it is none of these.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(secs) = s
        .split_whitespace()
        .next()
        .and_then(|w| w.parse::<i64>().ok())
    {
        if s.len() < 10 || s.as_bytes().get(4).is_none_or(|&b| b != b'-') {
            return Some(secs);
        }
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    if b.len() == 10 {
        return Some(secs);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + se;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let rest = rest.trim_start();
    if rest.is_empty() || rest.eq_ignore_ascii_case("z") {
        return Some(secs);
    }
    let sign = match rest.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = rest[1..].chars().filter(|&c| c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let oh: i64 = digits[..2].parse().ok()?;
    let om: i64 = digits[2..].parse().ok()?;
    Some(secs - sign * (oh * 3600 + om * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of `days` since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// The earliest known time of the leak: the commit date of the finding, else the modification
/// time of the file it was found in (when that file can be read here).
pub fn leak_time(finding: &Finding) -> Option<i64> {
    let origin = &finding.location.origin;
    if let Some(t) = origin.date.as_deref().and_then(parse_date) {
        return Some(t);
    }
    if origin.commit.is_some()
        || origin.path == "-"
        || origin.path.is_empty()
        || crate::config::is_url(&origin.path)
    {
        return None;
    }
    std::fs::metadata(&origin.path)
        .and_then(|m| m.modified())
        .ok()
        .map(unix)
}

/// Attaches remediation steps (English) to every finding, with the CloudTrail window from
/// each finding's leak time to `now`.
pub fn attach(findings: &mut [Finding], now: SystemTime) {
    for finding in findings {
        if finding.kind == Kind::PolicyChange {
            finding.remediation = vec![step(
                "review",
                "The reviewed range changes what keysweep reports. Review the change; once it is \
                 approved, re-run the gate with --allow-policy-change."
                    .to_string(),
                "# review the policy change, then re-run with --allow-policy-change".to_string(),
            )];
            continue;
        }
        let window = Window::new(leak_time(finding), now);
        finding.remediation = steps(finding, window, Lang::En);
    }
}

/// Who the principal behind an ARN is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    Root,
    User(String),
    Role(String),
    Other,
}

fn principal(arn: &str) -> Principal {
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
    let arn = finding.verification.arn.as_deref().map(principal);
    match finding.key_id.as_deref() {
        None if finding.session_token.is_some() => Case::Temporary,
        None => Case::UnknownOwner,
        Some(k) if KeyType::of(k) == Some(KeyType::Temporary) => Case::Temporary,
        Some(_) if arn == Some(Principal::Root) => Case::Root,
        Some(_) => Case::IamUser,
    }
}

/// Every value written into a command goes through this one quoting function.
fn sh_quote(s: &str) -> String {
    crate::shell::quote(s).into_owned()
}

/// The key ID as one shell word, or the `"$ACCESS_KEY_ID"` placeholder.
fn key_arg(finding: &Finding) -> String {
    finding
        .key_id
        .as_deref()
        .map_or_else(|| "\"$ACCESS_KEY_ID\"".to_string(), sh_quote)
}

/// Picks the English or Korean text; only the chosen one is evaluated.
macro_rules! tr {
    ($lang:expr, $en:expr, $ko:expr $(,)?) => {
        match $lang {
            Lang::En => $en,
            Lang::Ko => $ko,
        }
    };
}

fn step(name: &str, why: String, command: String) -> RemediationStep {
    RemediationStep {
        step: name.to_string(),
        why,
        command,
    }
}

/// The CloudTrail command: events made with `key` in every enabled region (or those in
/// `$REGIONS`), within the window.
fn lookup_events_command(key: &str, window: Window) -> String {
    lookup_events_by("AccessKeyId", key, window)
}

/// The CloudTrail command: events whose `attribute` (`AccessKeyId`, `Username`) is `value`,
/// in every enabled region (or those in `$REGIONS`), within the window. `value` must be a
/// key ID or an IAM name (no shell or shorthand syntax in it).
fn lookup_events_by(attribute: &str, key: &str, window: Window) -> String {
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
    if finding.canary == Some(true) {
        return canary_steps(finding, lang);
    }
    if finding.verification.status == VerificationStatus::Foreign {
        let acct = account.unwrap_or("?");
        out.push(step(
            "notify",
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
    crate::verify::blast::insert_steps(finding, window.start, &mut out);
    out
}

/// An IAM Identity Center access token (and maybe a refresh token) from the AWS CLI's cache.
/// Sources: the SSO `Logout` API (invalidates the sign-in session of the token; role sessions
/// already issued keep running), IAM Identity Center User Guide "View and end active sessions
/// for workforce users" and "Revoke active IAM role sessions created by permission sets"
/// (deny policy on the permission set with `identitystore:userId`), and
/// `sso-admin put-inline-policy-to-permission-set` / `provision-permission-set`.
fn sso_steps(finding: &Finding, window: Window, lang: Lang, out: &mut Vec<RemediationStep>) {
    let sso = finding.sso.clone().unwrap_or(crate::finding::SsoDetails {
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
        "invalidate_token",
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
        "end_sessions",
        tr!(
            lang,
            "In the IAM Identity Center console (Users > the user > Active sessions), delete \
             the user's active sessions, and disable the user until the leak is understood: \
             no new access or refresh tokens are issued to a disabled user. Find the user from \
             the CloudTrail events of the token (next step)."
                .to_string(),
            "IAM Identity Center 콘솔(사용자 > 해당 사용자 > 활성 세션)에서 사용자의 활성 \
             세션을 삭제하고, 유출 경위를 파악할 때까지 사용자를 비활성화합니다. 비활성화된 \
             사용자에게는 새 액세스·새로 고침 토큰이 발급되지 않습니다. 사용자는 다음 단계의 \
             CloudTrail 이벤트로 찾습니다."
                .to_string(),
        ),
        "# console: IAM Identity Center > Users > USER > Active sessions > Delete session; \
         then Disable user access"
            .to_string(),
    ));
    let policy = sh_quote(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\
         \"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"identitystore:userId\":\
         \"USER_ID\"}}}]}",
    );
    out.push(step(
        "revoke_role_sessions",
        tr!(
            lang,
            "Role sessions the token already bought (AWSReservedSSO_* roles) last until the \
             permission set's session duration ends, and those roles cannot be edited in IAM. \
             Add a deny for the user's identity-store ID to each permission set assigned to \
             the user (merge it into an existing inline policy: this call replaces it), then \
             provision the permission set."
                .to_string(),
            "토큰으로 이미 받은 역할 세션(AWSReservedSSO_* 역할)은 권한 세트의 세션 기간이 \
             끝날 때까지 유지되며, 이 역할은 IAM에서 편집할 수 없습니다. 사용자에게 할당된 각 \
             권한 세트에 사용자의 identity store ID를 거부하는 정책을 추가하고(기존 인라인 \
             정책이 있으면 병합: 이 호출은 덮어씀) 권한 세트를 프로비저닝합니다."
                .to_string(),
        ),
        format!(
            "aws sso-admin put-inline-policy-to-permission-set --instance-arn \"$INSTANCE_ARN\" \
             --permission-set-arn \"$PERMISSION_SET_ARN\" --inline-policy {} && \
             aws sso-admin provision-permission-set --instance-arn \"$INSTANCE_ARN\" \
             --permission-set-arn \"$PERMISSION_SET_ARN\" --target-type ALL_PROVISIONED_ACCOUNTS",
            policy.replace("USER_ID", "'\"$USER_ID\"'")
        ),
    ));
    let (span_en, span_ko) = match window.start.map(format_utc) {
        Some(start) => (
            format!("from the leak ({start}) to now"),
            format!("유출 시점({start})부터 지금까지"),
        ),
        None => (
            "over the last 90 days (the leak time is unknown)".to_string(),
            "최근 90일 동안(유출 시점을 모름)".to_string(),
        ),
    };
    out.push(step(
        "investigate",
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
    ));
    if sso.refreshable {
        out.push(step(
            "refresh_token",
            tr!(
                lang,
                "The cache also holds a refresh token with its client registration: whoever has \
                 the file can mint new access tokens until the registration expires or the \
                 user's sessions are ended and the user is disabled (steps above)."
                    .to_string(),
                "캐시에는 클라이언트 등록과 함께 새로 고침 토큰도 있어, 파일을 가진 사람은 등록이 \
                 만료되거나 위 단계로 사용자 세션을 끝내고 사용자를 비활성화할 때까지 새 액세스 \
                 토큰을 만들 수 있습니다."
                    .to_string(),
            ),
            "# end the sessions and disable the user (above); delete ~/.aws/sso/cache/*.json \
             where the leak came from"
                .to_string(),
        ));
    }
}

fn identify_account_step(key: &str, lang: Lang) -> RemediationStep {
    step(
        "identify",
        tr!(
            lang,
            "Confirm which AWS account owns the key. Signed with your own credentials and \
             logged only in your account: the key's owner is not alerted."
                .to_string(),
            "키를 소유한 AWS 계정을 확인합니다. 본인 자격 증명으로 서명되고 본인 계정에만 \
             기록되므로 키 소유자에게 알림이 가지 않습니다."
                .to_string(),
        ),
        format!("aws sts get-access-key-info --access-key-id {key}"),
    )
}

/// A user or role name as one shell word, or the `"$USER_NAME"` placeholder.
fn user_arg(user: Option<&str>) -> String {
    match user {
        Some(u) => sh_quote(u),
        None => "\"$USER_NAME\"".to_string(),
    }
}

fn known_user(finding: &Finding) -> Option<String> {
    finding.user_name.clone().or_else(
        || match finding.verification.arn.as_deref().map(principal) {
            Some(Principal::User(u)) => Some(u),
            _ => None,
        },
    )
}

fn user_steps(finding: &Finding, window: Window, lang: Lang, out: &mut Vec<RemediationStep>) {
    let key = &key_arg(finding);
    let user = known_user(finding);
    let u = user_arg(user.as_deref());
    key_lifecycle_steps(key, user.as_deref(), &u, window, lang, out);
}

/// Steps for a long-term IAM user key `key` (a literal ID or the `"$ACCESS_KEY_ID"`
/// placeholder) of user `u` (a name or the `"$USER_NAME"` placeholder).
fn key_lifecycle_steps(
    key: &str,
    user: Option<&str>,
    u: &str,
    window: Window,
    lang: Lang,
    out: &mut Vec<RemediationStep>,
) {
    out.push(identify_account_step(key, lang));
    out.push(step(
        "identify",
        tr!(
            lang,
            "See when, where and for which service the key was last used, and which IAM user \
             owns it (run this and the next steps in the owning account)."
                .to_string(),
            "키가 마지막으로 언제, 어느 리전에서, 어떤 서비스에 쓰였는지와 소유 IAM 사용자를 \
             확인합니다(이 단계부터는 키를 소유한 계정에서 실행)."
                .to_string(),
        ),
        format!("aws iam get-access-key-last-used --access-key-id {key}"),
    ));
    if user.is_none() {
        out.push(step(
            "identify",
            tr!(
                lang,
                "The user name is not known from the leak: look it up (GetAccessKeyLastUsed \
                 returns UserName) into $USER_NAME, which the next commands use."
                    .to_string(),
                "유출된 내용에 사용자 이름이 없으므로 조회하여 $USER_NAME 변수에 넣습니다 \
                 (GetAccessKeyLastUsed가 UserName을 돌려줌). 이후 명령이 이 변수를 씁니다."
                    .to_string(),
            ),
            format!(
                "USER_NAME=$(aws iam get-access-key-last-used --access-key-id {key} --query \
                 UserName --output text) && echo \"user: $USER_NAME\""
            ),
        ));
    }
    out.push(step(
        "deactivate",
        tr!(
            lang,
            "Contain first: an inactive key stops working at once and can be re-enabled if \
             something critical breaks, unlike a deleted one."
                .to_string(),
            "먼저 차단합니다. 비활성화된 키는 즉시 쓸 수 없게 되며, 삭제와 달리 중요한 \
             서비스가 멈추면 다시 활성화할 수 있습니다."
                .to_string(),
        ),
        format!(
            "aws iam update-access-key --user-name {u} --access-key-id {key} --status Inactive"
        ),
    ));
    out.push(step(
        "confirm",
        tr!(
            lang,
            "Check that the key is now Inactive.".to_string(),
            "키가 Inactive 상태가 되었는지 확인합니다.".to_string(),
        ),
        format!(
            "aws iam list-access-keys --user-name {u} --query {} --output text",
            sh_quote(&format!(
                "AccessKeyMetadata[?AccessKeyId=='{key}'].[AccessKeyId,Status]"
            ))
        ),
    ));
    out.push(step(
        "investigate",
        investigate_why(lang, window),
        lookup_events_command(key, window),
    ));
    out.push(step(
        "investigate",
        tr!(
            lang,
            "See what the key could do: the user's attached and inline policies and groups. An \
             AWSCompromisedKeyQuarantine* policy means AWS already found the leak."
                .to_string(),
            "키로 할 수 있었던 일을 파악합니다: 사용자에게 연결된 정책, 인라인 정책, 그룹. \
             AWSCompromisedKeyQuarantine* 정책이 붙어 있다면 AWS가 이미 유출을 감지한 것입니다."
                .to_string(),
        ),
        format!(
            "aws iam list-attached-user-policies --user-name {u} && aws iam list-user-policies \
             --user-name {u} && aws iam list-groups-for-user --user-name {u}"
        ),
    ));
    out.push(step(
        "rotate",
        tr!(
            lang,
            "Create the replacement key and put it into every application, CI secret and \
             config that used the leaked one (a user can hold two keys at most)."
                .to_string(),
            "대체 키를 만들고, 유출된 키를 쓰던 모든 애플리케이션·CI 시크릿·설정에 새 키를 \
             넣습니다(사용자당 키는 최대 2개)."
                .to_string(),
        ),
        format!("aws iam create-access-key --user-name {u}"),
    ));
    out.push(step(
        "delete",
        tr!(
            lang,
            "Delete the leaked key for good once nothing needs it.".to_string(),
            "더 이상 쓰는 곳이 없으면 유출된 키를 영구히 삭제합니다.".to_string(),
        ),
        format!("aws iam delete-access-key --user-name {u} --access-key-id {key}"),
    ));
    out.push(step(
        "confirm",
        tr!(
            lang,
            "Check that the leaked key is gone from the user's keys.".to_string(),
            "유출된 키가 사용자의 키 목록에서 사라졌는지 확인합니다.".to_string(),
        ),
        format!(
            "aws iam list-access-keys --user-name {u} --query \
             'AccessKeyMetadata[].[AccessKeyId,Status]' --output text"
        ),
    ));
    out.push(step(
        "harden",
        tr!(
            lang,
            "Require MFA for the user, and prefer IAM roles or IAM Identity Center (SSO) \
             short-term credentials to long-term keys; keep secrets in a secret store and scan \
             commits (keysweep in pre-commit and CI)."
                .to_string(),
            "사용자에게 MFA를 요구하고, 장기 액세스 키 대신 IAM 역할이나 IAM Identity \
             Center(SSO)의 임시 자격 증명을 쓰십시오. 시크릿은 시크릿 저장소에 두고 커밋을 \
             검사하십시오(pre-commit과 CI에서 keysweep 실행)."
                .to_string(),
        ),
        format!("aws iam list-mfa-devices --user-name {u}"),
    ));
}

fn root_steps(finding: &Finding, window: Window, lang: Lang, out: &mut Vec<RemediationStep>) {
    let key = &key_arg(finding);
    out.push(identify_account_step(key, lang));
    out.push(step(
        "deactivate",
        tr!(
            lang,
            "This is a root user key: only the root user can deactivate it (sign in as root, \
             Security credentials, or run this with root credentials: without --user-name the \
             command targets the signer). Root permissions cannot be restricted, so act now."
                .to_string(),
            "루트 사용자 키입니다. 루트 사용자만 비활성화할 수 있습니다(루트로 로그인 후 보안 \
             자격 증명 화면에서, 또는 루트 자격 증명으로 이 명령 실행: --user-name이 없으면 \
             서명자 자신이 대상). 루트 권한은 제한할 수 없으므로 즉시 조치하십시오."
                .to_string(),
        ),
        format!("aws iam update-access-key --access-key-id {key} --status Inactive"),
    ));
    out.push(step(
        "investigate",
        investigate_why(lang, window),
        lookup_events_command(key, window),
    ));
    out.push(step(
        "rotate",
        tr!(
            lang,
            "Do not create a new root key: give each workload an IAM role or IAM user with \
             least privilege instead."
                .to_string(),
            "새 루트 키를 만들지 마십시오. 대신 워크로드마다 최소 권한의 IAM 역할이나 IAM \
             사용자를 쓰십시오."
                .to_string(),
        ),
        "# no replacement root key: move workloads to IAM roles".to_string(),
    ));
    out.push(step(
        "delete",
        tr!(
            lang,
            "Delete the root key (as root): the root user should have no access keys at all."
                .to_string(),
            "루트 키를 삭제합니다(루트로 실행). 루트 사용자에게는 액세스 키가 없어야 합니다."
                .to_string(),
        ),
        format!("aws iam delete-access-key --access-key-id {key}"),
    ));
    out.push(step(
        "harden",
        tr!(
            lang,
            "Expect AccountAccessKeysPresent 0 (no root keys) and AccountMFAEnabled 1 (root MFA \
             on); use the root user only for the few tasks that need it."
                .to_string(),
            "AccountAccessKeysPresent는 0(루트 키 없음), AccountMFAEnabled는 1(루트 MFA \
             사용)이어야 합니다. 루트 사용자는 꼭 필요한 작업에만 쓰십시오."
                .to_string(),
        ),
        "aws iam get-account-summary --query \
         'SummaryMap.[AccountAccessKeysPresent,AccountMFAEnabled]' --output text"
            .to_string(),
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
    let principal = finding.verification.arn.as_deref().map(principal);
    let policy = revoke_policy();
    let revoke_why = tr!(
        lang,
        "Temporary keys cannot be deactivated: they stay valid until they expire (up to 12-36 \
         h). Denying every session issued before now ends this one; other current sessions \
         must sign in again."
            .to_string(),
        "임시 키는 비활성화할 수 없고 만료될 때까지(최대 12~36시간) 유효합니다. 지금 이전에 \
         발급된 모든 세션을 거부하면 이 세션이 끝나며, 다른 현재 세션은 다시 로그인해야 \
         합니다."
            .to_string(),
    );
    match &principal {
        Some(Principal::User(user)) => {
            let u = user_arg(Some(user));
            out.push(step(
                "revoke_sessions",
                revoke_why,
                format!(
                    "aws iam put-user-policy --user-name {u} --policy-name \
                     AWSRevokeOlderSessions --policy-document {policy}"
                ),
            ));
        }
        Some(Principal::Role(role)) => {
            let r = user_arg(Some(role));
            out.push(step(
                "revoke_sessions",
                revoke_why,
                format!(
                    "aws iam put-role-policy --role-name {r} --policy-name \
                     AWSRevokeOlderSessions --policy-document {policy}"
                ),
            ));
        }
        _ => {
            out.push(step(
                "identify",
                tr!(
                    lang,
                    "Find the role behind the session: the events made with the key name it \
                     (userIdentity.arn = arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION). Set \
                     ROLE_NAME to that role for the next step."
                        .to_string(),
                    "세션 뒤의 역할을 찾습니다. 이 키로 발생한 이벤트에 역할이 나옵니다 \
                     (userIdentity.arn = arn:aws:sts::계정:assumed-role/역할/세션). 다음 단계를 \
                     위해 ROLE_NAME 변수에 그 역할 이름을 넣으십시오."
                        .to_string(),
                ),
                format!(
                    "aws cloudtrail lookup-events --region us-east-1 --lookup-attributes \
                     AttributeKey=AccessKeyId,AttributeValue={key}{} --max-results 5 --query \
                     'Events[].CloudTrailEvent' --output text",
                    window.start_arg()
                ),
            ));
            out.push(step(
                "revoke_sessions",
                revoke_why,
                format!(
                    "aws iam put-role-policy --role-name \"$ROLE_NAME\" --policy-name \
                     AWSRevokeOlderSessions --policy-document {policy}"
                ),
            ));
        }
    }
    out.push(step(
        "investigate",
        investigate_why(lang, window),
        lookup_events_command(key, window),
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
        "harden",
        tr!(
            lang,
            "Find where the session leaked from (CI logs, environment dumps, crash reports) and \
             who could assume the role: tighten its trust policy and shorten \
             MaxSessionDuration. The credentials that started the session may be exposed too."
                .to_string(),
            "세션이 어디서 유출되었는지(CI 로그, 환경 변수 덤프, 크래시 리포트)와 누가 역할을 \
             맡을 수 있는지 확인하고, 신뢰 정책을 좁히고 MaxSessionDuration을 줄이십시오. \
             세션을 시작한 자격 증명도 노출되었을 수 있습니다."
                .to_string(),
        ),
        harden_command,
    ));
}

fn unknown_steps(_finding: &Finding, window: Window, lang: Lang, out: &mut Vec<RemediationStep>) {
    out.push(step(
        "identify",
        tr!(
            lang,
            "The secret was found without its key ID: look for an AKIA/ASIA ID near it and in \
             the file's history first. Otherwise list every key with its last use, pick the \
             candidate, and set ACCESS_KEY_ID and USER_NAME for the next commands."
                .to_string(),
            "시크릿만 발견되고 키 ID는 없습니다. 먼저 주변과 파일 이력에서 AKIA/ASIA ID를 \
             찾으십시오. 없으면 모든 키의 마지막 사용 내역을 나열해 후보를 고르고, 다음 명령을 \
             위해 ACCESS_KEY_ID와 USER_NAME 변수를 설정하십시오."
                .to_string(),
        ),
        "until aws iam generate-credential-report --query State --output text | grep -q \
         COMPLETE; do sleep 2; done; aws iam get-credential-report --query Content --output \
         text | base64 -d | cut -d, -f1,9,10,11,14,15,16"
            .to_string(),
    ));
    key_lifecycle_steps(
        "\"$ACCESS_KEY_ID\"",
        Some("$USER_NAME"),
        "\"$USER_NAME\"",
        window,
        lang,
        out,
    );
    // The account lookup needs a real key ID: drop it for the placeholder.
    out.retain(|s| {
        !s.command
            .starts_with("aws sts get-access-key-info --access-key-id \"$")
    });
}

fn canary_steps(finding: &Finding, lang: Lang) -> Vec<RemediationStep> {
    let acct = finding.account_id.as_deref().unwrap_or("?");
    let mut out = Vec::new();
    if let Some(key) = finding.key_id.as_deref() {
        out.push(identify_account_step(&sh_quote(key), lang));
    }
    out.push(step(
        "notify",
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

// ---------------------------------------------------------------------------------------
// Amazon Bedrock API keys (kinds bedrock_long_term_key, bedrock_short_term_key).
//
// A long-term key is an IAM service-specific credential of the user it names: it is listed,
// deactivated and deleted with the *-service-specific-credential commands, and its calls are
// found in CloudTrail by that user. A short-term key is a presigned URL: it cannot be revoked
// itself, it ends at its expiry (12 h at most), and it is contained through the identity that
// signed it (its embedded key ID), by denying `bedrock:CallWithBearerToken` to that identity
// (Bedrock user guide, "Control permissions for generating and using Amazon Bedrock API keys").

/// "from the leak (T) to now", or the 90 days CloudTrail keeps when the leak time is unknown.
fn since_en(window: Window) -> String {
    match window.start {
        Some(t) => format!("from the leak ({}) to now", format_utc(t)),
        None => "over the last 90 days (the leak time is unknown)".to_string(),
    }
}

fn since_ko(window: Window) -> String {
    match window.start {
        Some(t) => format!("유출 시점({})부터 지금까지", format_utc(t)),
        None => "최근 90일 동안(유출 시점을 모름)".to_string(),
    }
}

/// The IAM service name of Bedrock API keys.
const BEDROCK_SERVICE: &str = crate::bedrock::SERVICE_NAME;
/// The inline policy keysweep puts on the identity behind a leaked short-term key.
const DENY_BEARER_POLICY: &str = "KeysweepDenyBedrockBearerTokens";

/// `name` when it is a valid IAM name (`[\w+=,.@-]`, 1-64 characters), so it can stand
/// unquoted in a command and inside a JMESPath string literal.
fn iam_name(name: Option<&str>) -> Option<&str> {
    name.filter(|n| {
        !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    })
}

/// A 12-digit account ID, or None.
fn account_digits(account: Option<&str>) -> Option<&str> {
    account.filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

/// A key ID as it may stand in a command: 4 letters and 16 base32 characters.
fn key_id_literal(key: Option<&str>) -> Option<&str> {
    key.filter(|k| {
        k.len() == 20
            && k.bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    })
}

/// The playbook group of a Bedrock finding: one per user and account (long-term), one per
/// signing key (short-term).
fn bedrock_group_id(f: &Finding) -> Option<String> {
    match f.kind {
        Kind::BedrockLongTermKey => Some(format!(
            "bedrock:{}:{}",
            f.account_id.as_deref().unwrap_or("?"),
            f.user_name.as_deref().unwrap_or(&f.fingerprint)
        )),
        Kind::BedrockShortTermKey => Some(format!(
            "bedrock-short:{}",
            f.key_id.as_deref().unwrap_or(&f.fingerprint)
        )),
        _ => None,
    }
}

fn bedrock_label(f: &Finding, lang: Lang) -> Option<String> {
    let account = f.account_id.as_deref().unwrap_or("?");
    match f.kind {
        Kind::BedrockLongTermKey => Some(tr!(
            lang,
            format!(
                "Bedrock API key of {} (account {account})",
                f.user_name.as_deref().unwrap_or("?")
            ),
            format!(
                "{}의 Bedrock API 키 (계정 {account})",
                f.user_name.as_deref().unwrap_or("?")
            ),
        )),
        Kind::BedrockShortTermKey => Some(tr!(
            lang,
            format!(
                "Bedrock short-term API key signed by {}",
                f.key_id.as_deref().unwrap_or("?")
            ),
            format!(
                "{}로 서명된 Bedrock 단기 API 키",
                f.key_id.as_deref().unwrap_or("?")
            ),
        )),
        _ => None,
    }
}

/// Runs `each` (a command using `"$id"`) on every Bedrock credential ID of user `u` whose
/// alias starts with `alias`; fails when there is none or when one command fails.
fn for_each_bedrock_credential(u: &str, alias: &str, each: &str) -> String {
    format!(
        "ids=$(aws iam list-service-specific-credentials --user-name {u} --service-name \
         {BEDROCK_SERVICE} --query \"ServiceSpecificCredentials[?starts_with(ServiceCredentialAlias, \
         '{alias}')].ServiceSpecificCredentialId\" --output text) && [ -n \"$ids\" ] && \
         [ \"$ids\" != None ] && ok=1 && for id in $ids; do {each} || ok=0; done && [ \"$ok\" = 1 ]"
    )
}

fn bedrock_long_term_steps(
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
        "identify",
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
        "deactivate",
        tr!(
            lang,
            "Contain first: an inactive key stops working at once and can be re-enabled, unlike \
             a deleted one. Every Bedrock key of the user with the leaked key's alias is \
             deactivated (the key does not carry its credential ID)."
                .to_string(),
            "먼저 차단합니다. 비활성화된 키는 즉시 쓸 수 없고 삭제와 달리 다시 활성화할 수 \
             있습니다. 키에 자격 증명 ID가 없으므로 유출된 키의 별칭을 가진 사용자의 Bedrock \
             키를 모두 비활성화합니다."
                .to_string(),
        ),
        for_each_bedrock_credential(
            u,
            &alias,
            &format!(
                "aws iam update-service-specific-credential --user-name {u} \
                 --service-specific-credential-id \"$id\" --status Inactive"
            ),
        ),
    ));
    out.push(step(
        "confirm",
        tr!(
            lang,
            "Check that the key is now Inactive.".to_string(),
            "키가 Inactive 상태가 되었는지 확인합니다.".to_string(),
        ),
        format!(
            "aws iam list-service-specific-credentials --user-name {u} --service-name \
             {BEDROCK_SERVICE} --query 'ServiceSpecificCredentials[].[ServiceSpecificCredentialId,\
             Status]' --output text"
        ),
    ));
    out.push(step(
        "investigate",
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
    ));
    out.push(step(
        "investigate",
        tr!(
            lang,
            "See what else the user can do and holds: its policies (AmazonBedrockLimitedAccess \
             grants much of Bedrock) and any access keys, which an attacker may have created \
             to outlive the Bedrock key."
                .to_string(),
            "사용자가 할 수 있는 일과 가진 것을 확인합니다: 정책(AmazonBedrockLimitedAccess는 \
             Bedrock 권한 대부분을 줌)과 액세스 키(공격자가 Bedrock 키보다 오래 쓰려고 만들었을 \
             수 있음)."
                .to_string(),
        ),
        format!(
            "aws iam list-attached-user-policies --user-name {u} && aws iam list-user-policies \
             --user-name {u} && aws iam list-access-keys --user-name {u}"
        ),
    ));
    out.push(step(
        "delete",
        tr!(
            lang,
            "Delete the leaked key for good once nothing needs it (create a replacement first \
             if something does, preferably a short-term key)."
                .to_string(),
            "더 이상 쓰는 곳이 없으면 유출된 키를 영구히 삭제합니다(필요하면 대체 키를 먼저 \
             만드십시오. 가능하면 단기 키)."
                .to_string(),
        ),
        for_each_bedrock_credential(
            u,
            &alias,
            &format!(
                "aws iam delete-service-specific-credential --user-name {u} \
                 --service-specific-credential-id \"$id\""
            ),
        ),
    ));
    out.push(step(
        "harden",
        tr!(
            lang,
            "Prefer short-term Bedrock keys or IAM roles to long-term keys; an SCP that denies \
             iam:CreateServiceSpecificCredential stops new ones. A console-made key left an IAM \
             user (BedrockAPIKey-...) behind: delete it when it has no other use."
                .to_string(),
            "장기 키 대신 Bedrock 단기 키나 IAM 역할을 쓰십시오. \
             iam:CreateServiceSpecificCredential을 거부하는 SCP로 새 장기 키를 막을 수 있습니다. \
             콘솔에서 만든 키는 IAM 사용자(BedrockAPIKey-...)를 남기므로 다른 용도가 없으면 \
             삭제하십시오."
                .to_string(),
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

fn bedrock_short_term_steps(
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
    if temporary {
        let role = match finding.verification.arn.as_deref().map(principal) {
            Some(Principal::Role(r)) => iam_name(Some(&r)).map(str::to_string),
            _ => None,
        };
        if role.is_none() {
            out.push(step(
                "identify",
                tr!(
                    lang,
                    "The key was signed by a session: find its role in the events made with the \
                     session key (userIdentity.arn = arn:aws:sts::ACCOUNT:assumed-role/ROLE/...) \
                     and set ROLE_NAME for the next step."
                        .to_string(),
                    "세션이 서명한 키입니다. 세션 키로 발생한 이벤트에서 역할을 찾아 \
                     (userIdentity.arn = arn:aws:sts::계정:assumed-role/역할/...) 다음 단계를 \
                     위해 ROLE_NAME 변수에 넣으십시오."
                        .to_string(),
                ),
                format!(
                    "aws cloudtrail lookup-events --region {} --lookup-attributes \
                     AttributeKey=AccessKeyId,AttributeValue={key}{} --max-results 5 --query \
                     'Events[].CloudTrailEvent' --output text",
                    if region == "?" { "us-east-1" } else { region },
                    window.start_arg()
                ),
            ));
        }
        let r = role.as_deref().unwrap_or("\"$ROLE_NAME\"");
        out.push(step(
            "deactivate",
            contain_why,
            format!(
                "aws iam put-role-policy --role-name {r} --policy-name {DENY_BEARER_POLICY} \
                 --policy-document {policy}"
            ),
        ));
    } else {
        let user = iam_name(known_user(finding).as_deref()).map(str::to_string);
        if user.is_none() {
            out.push(step(
                "identify",
                tr!(
                    lang,
                    "The key was signed by an IAM user's access key: look the user up into \
                     $USER_NAME, which the next commands use."
                        .to_string(),
                    "IAM 사용자의 액세스 키가 서명한 키입니다. 사용자를 조회하여 $USER_NAME \
                     변수에 넣습니다. 이후 명령이 이 변수를 씁니다."
                        .to_string(),
                ),
                format!(
                    "USER_NAME=$(aws iam get-access-key-last-used --access-key-id {key} --query \
                     UserName --output text) && echo \"user: $USER_NAME\""
                ),
            ));
        }
        let u = user.as_deref().unwrap_or("\"$USER_NAME\"");
        out.push(step(
            "deactivate",
            contain_why,
            format!(
                "aws iam put-user-policy --user-name {u} --policy-name {DENY_BEARER_POLICY} \
                 --policy-document {policy}"
            ),
        ));
    }
    out.push(step(
        "investigate",
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
        "harden",
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

/// A report that cannot be read.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("not a keysweep JSON report (array) or JSON Lines report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("line {line}: {source}")]
    Line {
        line: usize,
        source: serde_json::Error,
    },
    /// A value that does not match its grammar: the report was not written by keysweep, or
    /// was edited. Nothing of it is written into a playbook.
    #[error("finding {index} ({place}): {message}")]
    Invalid {
        /// 1-based position of the finding in the report.
        index: usize,
        /// Its path and line, escaped for the terminal.
        place: String,
        /// The offending field (`key_id`, `verification.arn`, ...).
        field: &'static str,
        message: String,
    },
}

/// A redacted secret or token as reports carry it: up to 4 characters of the value, then
/// `…(N chars)`.
fn is_redacted(value: &str, field: Field) -> bool {
    let Some((head, tail)) = value.split_once('…') else {
        return false;
    };
    let Some(count) = tail
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(" chars)"))
    else {
        return false;
    };
    head.chars().count() <= 4
        && (head.is_empty()
            || field.matches(head)
            || head
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'))
        && !count.is_empty()
        && count.len() <= 7
        && count.bytes().all(|b| b.is_ascii_digit())
}

/// Checks every value of `findings` that a playbook uses against its grammar (see
/// [`crate::grammar`]): key ID, secret and token (exact or redacted), user name, account,
/// ARN, fingerprint, commit and account source. The first bad value is the error.
pub fn validate(findings: &[Finding]) -> Result<(), ReportError> {
    for (i, f) in findings.iter().enumerate() {
        let o = &f.location.origin;
        let fail = |field: &'static str, message: String| ReportError::Invalid {
            index: i + 1,
            place: format!("{}:{}", o.display_path(), f.location.line),
            field,
            message,
        };
        let check = |field: Field, name: &'static str, value: Option<&str>| match value {
            Some(v) if !field.matches(v) => {
                Err(fail(name, format!("`{name}` is not {}", field.describe())))
            }
            _ => Ok(()),
        };
        check(Field::KeyId, "key_id", f.key_id.as_deref())?;
        check(Field::IamName, "user_name", f.user_name.as_deref())?;
        check(Field::AccountId, "account_id", f.account_id.as_deref())?;
        check(
            Field::Arn,
            "verification.arn",
            f.verification.arn.as_deref(),
        )?;
        check(
            Field::Fingerprint,
            "fingerprint",
            Some(f.fingerprint.as_str()),
        )?;
        check(Field::Commit, "location.commit", o.commit.as_deref())?;
        // A Bedrock API key is reported in `secret`: its own grammar.
        let secret = match f.kind {
            Kind::BedrockLongTermKey | Kind::BedrockShortTermKey => Field::ApiKey,
            _ => Field::Secret,
        };
        // An IAM Identity Center access token is reported in `session_token`, with its
        // cache entry's other values in `sso`: their own grammar.
        let token = match f.kind {
            Kind::SsoToken => Field::SsoToken,
            _ => Field::SessionToken,
        };
        let sso = f.sso.as_ref();
        for (field, name, value) in [
            (secret, "secret", f.secret.as_deref()),
            (token, "session_token", f.session_token.as_deref()),
            (
                Field::SsoToken,
                "sso.refresh_token",
                sso.and_then(|s| s.refresh_token.as_deref()),
            ),
            (
                Field::SsoToken,
                "sso.client_secret",
                sso.and_then(|s| s.client_secret.as_deref()),
            ),
        ] {
            if let Some(v) = value {
                if !field.matches(v) && !is_redacted(v, field) {
                    return Err(fail(
                        name,
                        format!(
                            "`{name}` is not {} (nor its redacted form)",
                            field.describe()
                        ),
                    ));
                }
            }
        }
        if let Some(sso) = sso {
            check(Field::SsoToken, "sso.client_id", sso.client_id.as_deref())?;
            check(Field::Url, "sso.start_url", sso.start_url.as_deref())?;
        }
        if let Some(src) = f.account_id_source.as_deref() {
            if !matches!(src, "decoded" | "sts") {
                return Err(fail(
                    "account_id_source",
                    "`account_id_source` is not `decoded` or `sts`".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The findings of a `--format json` (array) or `--format jsonl` report, each value checked
/// against its grammar ([`validate`]).
pub fn read_report(text: &str) -> Result<Vec<Finding>, ReportError> {
    let findings = parse_report(text)?;
    validate(&findings)?;
    Ok(findings)
}

fn parse_report(text: &str) -> Result<Vec<Finding>, ReportError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') {
        return Ok(serde_json::from_str(trimmed)?);
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(line).map_err(|source| ReportError::Line {
                line: i + 1,
                source,
            })?,
        );
    }
    Ok(out)
}

/// One key of a playbook: the findings that share it, merged.
#[derive(Debug, Clone)]
pub struct KeyGroup {
    /// The merged finding the steps are computed from.
    pub finding: Finding,
    /// Every place the key was found.
    pub places: Vec<String>,
    pub steps: Vec<RemediationStep>,
}

fn status_rank(s: VerificationStatus) -> u8 {
    match s {
        VerificationStatus::Live => 5,
        VerificationStatus::InactiveOrInvalid => 4,
        VerificationStatus::Owned | VerificationStatus::Foreign => 3,
        VerificationStatus::Error => 1,
        VerificationStatus::NotChecked => 0,
    }
}

fn place(f: &Finding) -> String {
    let o = &f.location.origin;
    let mut s = format!("{}:{}:{}", o.path, f.location.line, f.location.column);
    if let Some(m) = &o.archive_member {
        let _ = write!(s, " (member {m})");
    }
    if let Some(c) = &o.commit {
        let _ = write!(s, " (commit {})", c.get(..12).unwrap_or(c));
    }
    if let Some(d) = &o.decoded_from {
        let _ = write!(s, " ({d})");
    }
    s
}

/// The `--start-time` of an investigate step of the report itself, if any.
fn reported_start(f: &Finding) -> Option<i64> {
    f.remediation
        .iter()
        .filter(|s| s.step == "investigate")
        .find_map(|s| {
            let rest = s.command.split("--start-time ").nth(1)?;
            parse_date(rest.split_whitespace().next()?)
        })
}

/// Groups `findings` per key (key ID; findings without one stay on their own), merges what
/// each says about the key, and computes its steps in `lang` (a window never starts after `now`).
pub fn group(findings: &[Finding], lang: Lang, now: SystemTime) -> Vec<KeyGroup> {
    let mut groups: BTreeMap<String, (Finding, Vec<String>, Option<i64>)> = BTreeMap::new();
    // Policy changes are not keys; suppressed findings (`--include-suppressed`) are accepted.
    for f in findings
        .iter()
        .filter(|f| f.kind != Kind::PolicyChange && f.suppression.is_none())
    {
        let id = bedrock_group_id(f).unwrap_or_else(|| {
            f.key_id
                .clone()
                .unwrap_or_else(|| format!("~{}", f.fingerprint))
        });
        let leak = leak_time(f).or_else(|| reported_start(f));
        match groups.get_mut(&id) {
            None => {
                groups.insert(id, (f.clone(), vec![place(f)], leak));
            }
            Some((merged, places, start)) => {
                places.push(place(f));
                *start = match (*start, leak) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if merged.user_name.is_none() {
                    merged.user_name.clone_from(&f.user_name);
                }
                if merged.secret.is_none() {
                    merged.secret.clone_from(&f.secret);
                }
                if merged.session_token.is_none() {
                    merged.session_token.clone_from(&f.session_token);
                }
                if f.canary == Some(true) {
                    merged.canary = Some(true);
                }
                if merged.account_id_source.as_deref() != Some("sts") && f.account_id.is_some() {
                    merged.account_id.clone_from(&f.account_id);
                    merged.account_id_source.clone_from(&f.account_id_source);
                }
                if status_rank(f.verification.status) > status_rank(merged.verification.status) {
                    merged.verification = f.verification.clone();
                }
            }
        }
    }
    groups
        .into_values()
        .map(|(finding, places, leak)| {
            let steps = steps(&finding, Window::new(leak, now), lang);
            KeyGroup {
                finding,
                places,
                steps,
            }
        })
        .collect()
}

fn key_label(f: &Finding, lang: Lang) -> String {
    if let Some(label) = bedrock_label(f, lang) {
        return label;
    }
    f.key_id.clone().unwrap_or_else(|| {
        tr!(
            lang,
            format!("unknown key (secret {})", f.fingerprint),
            format!("알 수 없는 키 (시크릿 {})", f.fingerprint),
        )
    })
}

fn case_label(case: Case, f: &Finding, lang: Lang) -> String {
    let who = known_user(f);
    match case {
        Case::IamUser => match who {
            Some(u) => tr!(lang, format!("IAM user {u}"), format!("IAM 사용자 {u}")),
            None => tr!(
                lang,
                "IAM user (name unknown)".to_string(),
                "IAM 사용자 (이름 모름)".to_string()
            ),
        },
        Case::Root => tr!(lang, "root user".to_string(), "루트 사용자".to_string()),
        Case::Temporary => tr!(
            lang,
            "temporary session credentials".to_string(),
            "임시 세션 자격 증명".to_string()
        ),
        Case::UnknownOwner => tr!(lang, "owner unknown".to_string(), "소유자 모름".to_string()),
        Case::BedrockLongTerm => match who {
            Some(u) => tr!(
                lang,
                format!("Bedrock long-term API key of IAM user {u}"),
                format!("IAM 사용자 {u}의 Bedrock 장기 API 키")
            ),
            None => tr!(
                lang,
                "Bedrock long-term API key".to_string(),
                "Bedrock 장기 API 키".to_string()
            ),
        },
        Case::BedrockShortTerm => tr!(
            lang,
            format!(
                "Bedrock short-term API key, expires {}",
                f.expires_at.as_deref().unwrap_or("within 12 h")
            ),
            format!(
                "Bedrock 단기 API 키, 만료 {}",
                f.expires_at.as_deref().unwrap_or("12시간 이내")
            )
        ),
        Case::SsoToken => tr!(
            lang,
            "IAM Identity Center token".to_string(),
            "IAM Identity Center 토큰".to_string()
        ),
    }
}

fn summary_line(f: &Finding, lang: Lang) -> String {
    let mut parts = vec![case_label(case_of(f), f, lang)];
    if let Some(a) = &f.account_id {
        let src = f.account_id_source.as_deref().unwrap_or("?");
        parts.push(tr!(
            lang,
            format!("account {a} ({src})"),
            format!("계정 {a} ({src})")
        ));
    }
    let status = f.verification.status.as_str();
    match &f.verification.arn {
        Some(arn) => parts.push(format!("{status}: {arn}")),
        None => parts.push(status.to_string()),
    }
    if f.canary == Some(true) {
        parts.push(tr!(lang, "CANARY".to_string(), "카나리".to_string()));
    }
    parts.extend(crate::verify::blast::summary_parts(f));
    parts.join(" · ")
}

fn step_title(step: &str, lang: Lang) -> String {
    let (en, ko) = match step {
        "identify" => ("Identify", "확인"),
        "deactivate" => ("Deactivate", "비활성화"),
        "confirm" => ("Confirm", "결과 확인"),
        "investigate" => ("Investigate", "조사"),
        "rotate" => ("Rotate", "교체"),
        "delete" => ("Delete", "삭제"),
        "revoke_sessions" => ("Revoke sessions", "세션 무효화"),
        "harden" => ("Harden", "재발 방지"),
        "notify" => ("Notify", "알림"),
        other => (other, other),
    };
    tr!(lang, en, ko).to_string()
}

/// Writes the Markdown checklist for `groups`.
pub fn markdown(groups: &[KeyGroup], lang: Lang, now: SystemTime) -> String {
    let mut s = String::new();
    let when = format_utc(unix(now));
    let n = groups.len();
    let _ = writeln!(
        s,
        "{}\n",
        tr!(
            lang,
            "# Leaked AWS key response playbook",
            "# AWS 키 유출 대응 플레이북"
        )
    );
    let _ = writeln!(
        s,
        "{}\n",
        tr!(
            lang,
            format!(
                "Generated by keysweep on {when} for {n} key(s). Run each command in the AWS \
                 account that owns the key, with credentials allowed to manage IAM. Tick each \
                 box when done; contain (deactivate / revoke) before anything else."
            ),
            format!(
                "keysweep가 {when}에 키 {n}개에 대해 생성했습니다. 각 명령은 키를 소유한 AWS \
                 계정에서 IAM 관리 권한이 있는 자격 증명으로 실행하십시오. 끝난 항목에 \
                 체크하고, 무엇보다 먼저 차단(비활성화/세션 무효화)하십시오."
            ),
        )
    );
    for g in groups {
        let f = &g.finding;
        // Labels hold only checked values (key ID, fingerprint, names, ARN: see `validate`).
        let _ = writeln!(s, "## {}\n", key_label(f, lang));
        let _ = writeln!(s, "{}\n", summary_line(f, lang));
        if let Some(msg) = &f.verification.message {
            let _ = writeln!(s, "> {}\n", markup::text(msg));
        }
        let _ = writeln!(s, "{}", tr!(lang, "Found at:", "발견 위치:"));
        for p in &g.places {
            let _ = writeln!(s, "- {}", markup::code_span(p));
        }
        s.push('\n');
        for st in &g.steps {
            let _ = writeln!(s, "- [ ] **{}**: {}", step_title(&st.step, lang), st.why);
            // Commands are built from checked values only; a fence longer than any backtick
            // run in the command keeps it one block.
            let fence = "`".repeat(
                3.max(
                    st.command
                        .split(|c| c != '`')
                        .map(str::len)
                        .max()
                        .unwrap_or(0)
                        + 1,
                ),
            );
            let _ = writeln!(s, "  {fence}sh\n  {}\n  {fence}", st.command);
        }
        s.push('\n');
    }
    s
}

/// Writes the bash playbook for `groups`: read-only lookups always run; changes are printed
/// and run only under `--execute`; the first failed containment or change stops the script;
/// a failed lookup or investigation is reported and the script goes on.
pub fn shell(groups: &[KeyGroup], lang: Lang, now: SystemTime) -> String {
    let mut s = String::new();
    let when = format_utc(unix(now));
    let n = groups.len();
    s.push_str("#!/usr/bin/env bash\n");
    let _ = writeln!(
        s,
        "{}",
        tr!(
            lang,
            format!(
                "# keysweep remediation playbook, generated {when} for {n} key(s).\n\
                 # Dry run (default): read-only lookups run; every change is printed, not run.\n\
                 #   bash THIS_SCRIPT --execute   also runs the changes (deactivate, rotate, delete, revoke).\n\
                 # Run it with credentials of the account that owns the keys (AWS_PROFILE, AWS_REGION...).\n\
                 # REGIONS=\"us-east-1 eu-west-1\" limits the CloudTrail lookups to those regions.\n\
                 # Exit: 0 done, 1 a change failed (stopped there), 2 usage, 3 done but a lookup failed."
            ),
            format!(
                "# keysweep 대응 스크립트, {when} 생성, 키 {n}개.\n\
                 # 기본은 시험 실행: 읽기 전용 조회만 실행하고, 변경 명령은 출력만 합니다.\n\
                 #   bash THIS_SCRIPT --execute   변경(비활성화, 교체, 삭제, 세션 무효화)까지 실행.\n\
                 # 키를 소유한 계정의 자격 증명으로 실행하십시오(AWS_PROFILE, AWS_REGION 등).\n\
                 # REGIONS=\"us-east-1 eu-west-1\" 로 CloudTrail 조회 리전을 좁힐 수 있습니다.\n\
                 # 종료 코드: 0 완료, 1 변경 실패(그 자리에서 중단), 2 사용법 오류, 3 완료했으나 조회 실패."
            ),
        )
    );
    let (m_dry, m_stop, m_soft, m_need, m_done_exec, m_done_dry, m_soft_sum) = tr!(
        lang,
        (
            "(dry run: not run; re-run with --execute to run it)",
            "Stopped here: containment is not complete. Fix the cause and re-run with --execute.",
            "failed; going on with the next step (do it by hand)",
            "is not set: run the identify step or set it by hand, then re-run",
            "keysweep playbook: done.",
            "keysweep playbook: dry run done, nothing was changed; re-run with --execute to make the changes.",
            "lookup or investigation step(s) failed; see above",
        ),
        (
            "(시험 실행: 실행하지 않음. 실행하려면 --execute로 다시 실행)",
            "여기서 중단합니다: 차단이 끝나지 않았습니다. 원인을 고친 뒤 --execute로 다시 실행하십시오.",
            "실패. 다음 단계로 계속합니다(이 단계는 직접 수행하십시오)",
            "변수가 비어 있습니다: 확인 단계를 실행하거나 직접 설정한 뒤 다시 실행하십시오",
            "keysweep 플레이북: 완료.",
            "keysweep 플레이북: 시험 실행 완료, 아무것도 바꾸지 않았습니다. 변경하려면 --execute로 다시 실행하십시오.",
            "개의 조회/조사 단계가 실패했습니다. 위 내용을 확인하십시오",
        ),
    );
    let _ = write!(
        s,
        r#"set -uo pipefail

EXECUTE=0
case "${{1:-}}" in
  --execute) EXECUTE=1 ;;
  "") ;;
  -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--execute]" >&2; exit 2 ;;
esac
command -v aws >/dev/null 2>&1 || {{ echo "keysweep playbook: the aws CLI is not installed" >&2; exit 2; }}
SOFT_FAILURES=0
# Names a step looks up (or you set beforehand) hold for one key: reset at each key.
INIT_USER_NAME="${{USER_NAME:-}}"
INIT_ROLE_NAME="${{ROLE_NAME:-}}"
INIT_ACCESS_KEY_ID="${{ACCESS_KEY_ID:-}}"

key() {{
  USER_NAME="$INIT_USER_NAME"; ROLE_NAME="$INIT_ROLE_NAME"; ACCESS_KEY_ID="$INIT_ACCESS_KEY_ID"
  printf '\n==================== %s\n%s\n' "$1" "$2"
}}
say() {{ printf '\n--- [%s] %s\n' "$1" "$2"; }}
show() {{ printf '+ %s\n' "$1"; }}
dry() {{ echo {m_dry}; }}
soft_fail() {{
  SOFT_FAILURES=$((SOFT_FAILURES + 1))
  printf 'keysweep playbook: [%s] %s: exit %s, %s\n' "$1" "$2" "$3" {m_soft} >&2
}}
hard_fail() {{
  printf 'keysweep playbook: [%s] %s: exit %s\n%s\n' "$1" "$2" "$3" {m_stop} >&2
  exit 1
}}
need() {{
  if [ -z "${{!1:-}}" ]; then
    printf 'keysweep playbook: [%s] %s: $%s %s\n' "$2" "$3" "$1" {m_need} >&2
    exit 1
  fi
}}
"#,
        m_dry = sh_quote(m_dry),
        m_soft = sh_quote(m_soft),
        m_stop = sh_quote(m_stop),
        m_need = sh_quote(m_need),
    );
    for g in groups {
        let label = key_label(&g.finding, lang);
        let _ = writeln!(
            s,
            "\nkey {} {}",
            sh_quote(&label),
            sh_quote(&summary_line(&g.finding, lang))
        );
        for st in &g.steps {
            let class = step_class(&st.step, &st.command);
            let title = step_title(&st.step, lang);
            let _ = writeln!(s, "say {} {}", sh_quote(&title), sh_quote(&st.why));
            match class {
                StepClass::Note => {
                    let _ = writeln!(s, "echo {}", sh_quote(&format!("  {}", st.command)));
                }
                StepClass::Lookup | StepClass::Investigation => {
                    let _ = writeln!(s, "show {}", sh_quote(&st.command));
                    let _ = writeln!(
                        s,
                        "{{\n{}\n}}\nrc=$?\n[ \"$rc\" -eq 0 ] || soft_fail {} {} \"$rc\"",
                        st.command,
                        sh_quote(&st.step),
                        sh_quote(&label)
                    );
                }
                StepClass::Containment | StepClass::Change => {
                    let _ = writeln!(s, "show {}", sh_quote(&st.command));
                    let _ = writeln!(s, "if [ \"$EXECUTE\" = 1 ]; then");
                    for var in PLACEHOLDERS {
                        if st.command.contains(&format!("${var}")) {
                            let _ = writeln!(
                                s,
                                "  need {var} {} {}",
                                sh_quote(&st.step),
                                sh_quote(&label)
                            );
                        }
                    }
                    let _ = writeln!(
                        s,
                        "  {{\n{}\n  }}\n  rc=$?\n  [ \"$rc\" -eq 0 ] || hard_fail {} {} \"$rc\"\nelse\n  dry\nfi",
                        st.command,
                        sh_quote(&st.step),
                        sh_quote(&label)
                    );
                }
            }
        }
    }
    let _ = write!(
        s,
        r#"
echo
if [ "$EXECUTE" = 1 ]; then echo {}; else echo {}; fi
if [ "$SOFT_FAILURES" -ne 0 ]; then
  echo "keysweep playbook: $SOFT_FAILURES "{} >&2
  exit 3
fi
exit 0
"#,
        sh_quote(m_done_exec),
        sh_quote(m_done_dry),
        sh_quote(m_soft_sum)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Origin;
    use crate::finding::{Location, Severity, Verification};
    use std::time::Duration;

    fn finding(key: Option<&str>) -> Finding {
        Finding {
            rule: "aws-access-key-pair".into(),
            kind: Kind::AccessKeyPair,
            severity: Severity::Critical,
            key_id: key.map(str::to_string),
            key_type: key.and_then(KeyType::of),
            secret: Some("Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy".into()),
            session_token: None,
            user_name: None,
            region: None,
            expires_at: None,
            account_id: None,
            account_id_source: None,
            canary: None,
            expired: None,
            sso: None,
            location: Location {
                origin: Origin::file("does/not/exist.env"),
                line: 3,
                column: 5,
            },
            fingerprint: "0123456789abcdef".into(),
            verification: Verification::default(),
            blast_radius: None,
            risk: None,
            remediation: Vec::new(),
            policy_change: None,
            suppression: None,
            inline_allowed: false,
        }
    }

    const WINDOW: Window = Window {
        start: Some(1_714_564_800),
    };

    #[test]
    fn dates_round_trip_and_parse() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_714_564_800), "2024-05-01T12:00:00Z");
        assert_eq!(format_utc(951_825_600), "2000-02-29T12:00:00Z");
        for s in [
            "2024-05-01T12:00:00Z",
            "2024-05-01T14:00:00+02:00",
            "2024-05-01 14:00:00 +0200",
            "2024-05-01T07:00:00.123-05:00",
            "1714564800 +0200",
            "1714564800",
        ] {
            assert_eq!(parse_date(s), Some(1_714_564_800), "{s}");
        }
        assert_eq!(parse_date("2024-05-01"), Some(1_714_521_600));
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-05-01T25:00:00Z",
            "2024-05-01X",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn window_is_open_ended_and_never_starts_after_now() {
        let now = UNIX_EPOCH + Duration::from_secs(1_717_243_200);
        assert_eq!(Window::new(None, now).start_arg(), "");
        let w = Window::new(Some(1_800_000_000), now);
        assert_eq!(w.start, Some(1_717_243_200));
        assert_eq!(w.start_arg(), " --start-time 2024-06-01T12:00:00Z");
    }

    #[test]
    fn iam_user_steps_fill_in_key_user_and_window() {
        let mut f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        f.user_name = Some("deploy-bot".into());
        let steps = steps(&f, WINDOW, Lang::En);
        let names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(
            names,
            [
                "identify",
                "identify",
                "deactivate",
                "confirm",
                "investigate",
                "investigate",
                "rotate",
                "delete",
                "confirm",
                "harden"
            ]
        );
        let cmd = |name: &str| {
            steps
                .iter()
                .find(|s| s.step == name)
                .map(|s| s.command.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            cmd("deactivate"),
            "aws iam update-access-key --user-name deploy-bot --access-key-id \
             AKIAR7VZ3MOXQ4JTLW2N --status Inactive"
        );
        assert_eq!(
            cmd("delete"),
            "aws iam delete-access-key --user-name deploy-bot --access-key-id AKIAR7VZ3MOXQ4JTLW2N"
        );
        let inv = cmd("investigate");
        assert!(inv.contains("--start-time 2024-05-01T12:00:00Z --query"));
        assert!(!inv.contains("--end-time"));
        assert!(inv.contains("AttributeKey=AccessKeyId,AttributeValue=AKIAR7VZ3MOXQ4JTLW2N"));
        assert!(inv.contains("aws ec2 describe-regions"));
        assert!(!steps.iter().any(|s| s.command.contains("$USER_NAME")));
    }

    #[test]
    fn unknown_user_uses_placeholder_and_finds_it() {
        let f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let steps = steps(&f, WINDOW, Lang::En);
        assert!(steps.iter().any(|s| s.step == "identify"
            && s.command
                .starts_with("USER_NAME=$(aws iam get-access-key-last-used")));
        let deactivate = steps
            .iter()
            .find(|s| s.step == "deactivate")
            .map(|s| &s.command);
        assert_eq!(
            deactivate.map(String::as_str),
            Some(
                "aws iam update-access-key --user-name \"$USER_NAME\" --access-key-id \
                 AKIAR7VZ3MOXQ4JTLW2N --status Inactive"
            )
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
        let revoke = steps.iter().find(|s| s.step == "revoke_sessions");
        let cmd = revoke.map(|s| s.command.as_str()).unwrap_or("");
        assert!(cmd.starts_with(
            "aws iam put-role-policy --role-name ci-deploy --policy-name AWSRevokeOlderSessions"
        ));
        // The issue time is taken when the command runs, not when the report was made.
        assert!(cmd.contains(r#"\"aws:TokenIssueTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\""#));
        assert!(!steps
            .iter()
            .any(|s| s.step == "deactivate" || s.step == "delete"));
        // Without an ARN the role is a placeholder found by an identify step.
        f.verification.arn = None;
        let steps = super::steps(&f, WINDOW, Lang::En);
        assert!(steps
            .iter()
            .any(|s| s.step == "revoke_sessions" && s.command.contains("\"$ROLE_NAME\"")));
    }

    #[test]
    fn unknown_owner_and_canary_and_foreign() {
        let f = finding(None);
        assert_eq!(case_of(&f), Case::UnknownOwner);
        let steps = steps(&f, WINDOW, Lang::En);
        assert!(steps
            .iter()
            .any(|s| s.command.contains("get-credential-report")));
        assert!(steps
            .iter()
            .any(|s| s.step == "deactivate" && s.command.contains("\"$ACCESS_KEY_ID\"")));

        let mut c = finding(Some("AKIASP2TPHJSQH3FJXYZ"));
        c.canary = Some(true);
        c.account_id = Some("171436882533".into());
        let steps = super::steps(&c, WINDOW, Lang::En);
        assert!(steps
            .iter()
            .all(|s| s.step == "identify" || s.step == "notify"));

        let mut x = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        x.verification.status = VerificationStatus::Foreign;
        x.account_id = Some("210987654321".into());
        let steps = super::steps(&x, WINDOW, Lang::En);
        assert_eq!(steps[0].step, "notify");
        assert!(steps[0].why.contains("210987654321"));
    }

    #[test]
    fn korean_changes_explanations_not_commands() {
        let f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let en = steps(&f, WINDOW, Lang::En);
        let ko = steps(&f, WINDOW, Lang::Ko);
        assert_eq!(en.len(), ko.len());
        for (e, k) in en.iter().zip(&ko) {
            assert_eq!(e.command, k.command);
            assert_eq!(e.step, k.step);
            assert_ne!(e.why, k.why);
            assert!(k
                .why
                .chars()
                .any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c)));
        }
    }

    #[test]
    fn grouping_merges_per_key() {
        let mut a = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let mut b = a.clone();
        b.location.line = 9;
        b.user_name = Some("alice".into());
        b.verification.status = VerificationStatus::Live;
        a.location.origin.date = Some("2024-05-01T12:00:00Z".into());
        let c = finding(Some("AKIAQ3EGUFABCDEFGHIJ"));
        let now = UNIX_EPOCH + Duration::from_secs(1_717_243_200);
        let groups = group(&[a, b, c], Lang::En, now);
        assert_eq!(groups.len(), 2);
        let g = &groups[1];
        assert_eq!(g.finding.key_id.as_deref(), Some("AKIAR7VZ3MOXQ4JTLW2N"));
        assert_eq!(g.places.len(), 2);
        assert_eq!(g.finding.verification.status, VerificationStatus::Live);
        assert!(g
            .steps
            .iter()
            .any(|s| s.step == "delete" && s.command.contains("--user-name alice ")));
        assert!(g
            .steps
            .iter()
            .any(|s| s.step == "investigate"
                && s.command.contains("--start-time 2024-05-01T12:00:00Z")));
    }

    #[test]
    fn reads_json_and_jsonl_reports() {
        let f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let array = serde_json::to_string(&vec![f.clone(), f.clone()]).unwrap_or_default();
        assert_eq!(read_report(&array).map(|v| v.len()).ok(), Some(2));
        let line = serde_json::to_string(&f).unwrap_or_default();
        let lines = format!("{line}\n\n{line}\n");
        assert_eq!(read_report(&lines).map(|v| v.len()).ok(), Some(2));
        assert!(matches!(
            read_report("{\"rule\": 1}\n"),
            Err(ReportError::Line { line: 1, .. })
        ));
    }

    #[test]
    fn report_key_ids_never_reach_the_shell_unquoted() {
        for bad in ["AKIA$(touch /tmp/x)", "AKIAR7VZ3MOX`id`", "AKIA;id"] {
            for canary in [None, Some(true)] {
                let mut f = finding(Some(bad));
                f.canary = canary;
                let groups = group(
                    &[f],
                    Lang::En,
                    UNIX_EPOCH + Duration::from_secs(1_750_000_000),
                );
                let script = shell(&groups, Lang::En, UNIX_EPOCH);
                // Only as a label, single-quoted whole.
                for (at, _) in script.match_indices(bad) {
                    assert!(
                        script[..at].ends_with('\'') && script[at + bad.len()..].starts_with('\''),
                        "{bad:?} reached the shell unquoted:\n{script}"
                    );
                }
                // In the steps' commands too: never bare (quoted as one word, or left out).
                for step in &groups[0].steps {
                    for (at, _) in step.command.match_indices(bad) {
                        assert!(
                            step.command[..at].ends_with('\'')
                                && step.command[at + bad.len()..].starts_with('\''),
                            "{bad:?} reached a command unquoted: {}",
                            step.command
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("a'$b"), r"'a'\''$b'");
        assert_eq!(user_arg(Some("a b")), "'a b'");
        assert_eq!(user_arg(Some("svc+ci@x.io")), "svc+ci@x.io");
    }
}
