//! Quoting for the POSIX shell: the one function every value keysweep writes into a command
//! goes through (remediation steps, the `sh` playbook), so that no value from a report or a
//! scan can end a word, start a command or expand anything.

use std::borrow::Cow;

/// Bytes a word may hold unquoted: none of them means anything to the shell.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)
}

/// Characters that keep a special meaning inside double quotes (and `!`, which an
/// interactive bash expands there).
fn special_in_double_quotes(c: char) -> bool {
    matches!(c, '$' | '`' | '\\' | '"' | '!') || c.is_control()
}

/// `s` as exactly one shell word: unchanged when every character is plain
/// (`AKIAR7VZ3MOXQ4JTLW2N`, `ci-deployer@example.com`), in double quotes when it holds a
/// single quote but nothing double quotes expand (a JMESPath query such as
/// `"Keys[?Id=='AKIA...']"`), else in single quotes with each `'` written `'\''`.
pub fn quote(s: &str) -> Cow<'_, str> {
    if !s.is_empty() && s.chars().all(is_plain) {
        return Cow::Borrowed(s);
    }
    if s.contains('\'') && !s.chars().any(special_in_double_quotes) {
        return Cow::Owned(format!("\"{s}\""));
    }
    Cow::Owned(format!("'{}'", s.replace('\'', r"'\''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_stay_one_word() {
        assert_eq!(quote("AKIAR7VZ3MOXQ4JTLW2N"), "AKIAR7VZ3MOXQ4JTLW2N");
        assert_eq!(quote("svc+ci@x.io"), "svc+ci@x.io");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("a'b"), r#""a'b""#);
        assert_eq!(quote("a'$(id)"), r"'a'\''$(id)'");
        assert_eq!(quote("$(touch PWNED)"), "'$(touch PWNED)'");
        assert_eq!(quote("Keys[?Id=='AKIA']"), r#""Keys[?Id=='AKIA']""#);
    }
}
