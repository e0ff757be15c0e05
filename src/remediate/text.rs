//! The translated text of the playbooks that is not a step: titles, labels, summaries, the
//! span of an investigation. Every string holds only checked values (see
//! [`super::read::validate`]).

use crate::finding::{AccountIdSource, Finding, Kind, Step};
use crate::time::format_utc;

use super::case::{case_of, known_user, Case};
use super::window::Window;
use super::Lang;

/// "from the leak (T) to now", or the 90 days CloudTrail keeps when the leak time is unknown.
pub(super) fn since_en(window: Window) -> String {
    match window.start {
        Some(t) => format!("from the leak ({}) to now", format_utc(t)),
        None => "over the last 90 days (the leak time is unknown)".to_string(),
    }
}

/// "유출 시점(T)부터 지금까지", or the 90 days CloudTrail keeps.
pub(super) fn since_ko(window: Window) -> String {
    match window.start {
        Some(t) => format!("유출 시점({})부터 지금까지", format_utc(t)),
        None => "최근 90일 동안(유출 시점을 모름)".to_string(),
    }
}

fn bedrock_label(f: &Finding, lang: Lang) -> Option<String> {
    let account = f.account_id.as_deref().unwrap_or("?");
    match f.kind {
        Kind::BedrockLongTermKey => {
            let user = f.user_name.as_deref().unwrap_or("?");
            Some(tr!(
                lang,
                format!("Bedrock API key of {user} (account {account})"),
                format!("{user}의 Bedrock API 키 (계정 {account})"),
            ))
        }
        Kind::BedrockShortTermKey => {
            let key = f.key_id.as_deref().unwrap_or("?");
            Some(tr!(
                lang,
                format!("Bedrock short-term API key signed by {key}"),
                format!("{key}로 서명된 Bedrock 단기 API 키"),
            ))
        }
        _ => None,
    }
}

/// The heading of a key's playbook: its key ID, or what names a key without one.
pub(super) fn key_label(f: &Finding, lang: Lang) -> String {
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

/// One line on the key: whose it is, its account, its verification, canary, blast radius.
pub(super) fn summary_line(f: &Finding, lang: Lang) -> String {
    let mut parts = vec![case_label(case_of(f), f, lang)];
    if let Some(a) = &f.account_id {
        let src = f.account_id_source.map_or("?", AccountIdSource::as_str);
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
    if f.canary {
        parts.push(tr!(lang, "CANARY".to_string(), "카나리".to_string()));
    }
    parts.extend(crate::verify::blast::summary_parts(f));
    parts.join(" · ")
}

/// The title of a step in the playbooks.
pub(super) fn step_title(step: Step, lang: Lang) -> String {
    let (en, ko) = match step {
        Step::Identify => ("Identify", "확인"),
        Step::Deactivate => ("Deactivate", "비활성화"),
        Step::Confirm => ("Confirm", "결과 확인"),
        Step::Investigate => ("Investigate", "조사"),
        Step::Rotate => ("Rotate", "교체"),
        Step::Delete => ("Delete", "삭제"),
        Step::RevokeSessions => ("Revoke sessions", "세션 무효화"),
        Step::Harden => ("Harden", "재발 방지"),
        Step::Notify => ("Notify", "알림"),
        // Titled by their report name in both languages.
        other => (other.as_str(), other.as_str()),
    };
    tr!(lang, en, ko).to_string()
}
