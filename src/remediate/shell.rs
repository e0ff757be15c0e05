//! The bash playbook: read-only lookups run, changes only with `--execute`.

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::finding::{RemediationStep, Step};
use crate::time::{format_utc, unix};

use super::command::sh_quote;
use super::group::KeyGroup;
use super::text::{key_label, step_title, summary_line};
use super::Lang;

/// How the `sh` playbook treats a step.
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

impl StepClass {
    /// The class of `step`: a step whose command is a `#` comment is a note.
    pub fn of(step: &RemediationStep) -> StepClass {
        if step.command.trim_start().starts_with('#') {
            return StepClass::Note;
        }
        match step.step {
            Step::Identify | Step::Confirm | Step::Harden => StepClass::Lookup,
            Step::Investigate => StepClass::Investigation,
            Step::Deactivate | Step::Delete | Step::RevokeSessions => StepClass::Containment,
            Step::Notify => StepClass::Note,
            Step::Rotate
            | Step::Review
            | Step::InvalidateToken
            | Step::EndSessions
            | Step::RevokeRoleSessions
            | Step::RefreshToken => StepClass::Change,
        }
    }
}

/// Shell variables the commands use when a name is not known yet.
pub const PLACEHOLDERS: &[&str] = &["USER_NAME", "ROLE_NAME", "ACCESS_KEY_ID"];

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
            let class = StepClass::of(st);
            let title = step_title(st.step, lang);
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
                        sh_quote(st.step.as_str()),
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
                                sh_quote(st.step.as_str()),
                                sh_quote(&label)
                            );
                        }
                    }
                    let _ = writeln!(
                        s,
                        "  {{\n{}\n  }}\n  rc=$?\n  [ \"$rc\" -eq 0 ] || hard_fail {} {} \"$rc\"\nelse\n  dry\nfi",
                        st.command,
                        sh_quote(st.step.as_str()),
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
    use crate::remediate::testing::{finding, WINDOW};
    use crate::remediate::{group, steps};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn report_key_ids_never_reach_the_shell_unquoted() {
        for bad in ["AKIA$(touch /tmp/x)", "AKIAR7VZ3MOX`id`", "AKIA;id"] {
            for canary in [false, true] {
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
    fn steps_are_classed_by_what_they_change() {
        let f = finding(Some("AKIAR7VZ3MOXQ4JTLW2N"));
        let classes: Vec<(Step, StepClass)> = steps(&f, WINDOW, Lang::En)
            .iter()
            .map(|s| (s.step, StepClass::of(s)))
            .collect();
        assert!(classes.contains(&(Step::Deactivate, StepClass::Containment)));
        assert!(classes.contains(&(Step::Delete, StepClass::Containment)));
        assert!(classes.contains(&(Step::Rotate, StepClass::Change)));
        assert!(classes.contains(&(Step::Investigate, StepClass::Investigation)));
        assert!(classes.contains(&(Step::Identify, StepClass::Lookup)));
        // A `#` command is a note whatever its step.
        let note = RemediationStep {
            step: Step::Rotate,
            why: String::new(),
            command: "# no replacement root key".into(),
            since: None,
        };
        assert_eq!(StepClass::of(&note), StepClass::Note);
    }
}
