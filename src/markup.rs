//! Escaping for Markdown (the remediation playbook) and HTML: text from a report or a scan
//! (paths, member names, messages) is shown as text, never read as a heading, link, image,
//! list or HTML tag.

use crate::term;

/// `s` as one inline Markdown code span: control characters escaped first (a newline would
/// end the paragraph and let the next line start a heading), then fenced with more backticks
/// than `s` holds in a row.
pub fn code_span(s: &str) -> String {
    let text = term::escape(s);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A span that starts or ends with a backtick (or a space) needs a space of padding.
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// `s` as Markdown text: control characters escaped, and every character Markdown or HTML
/// gives a meaning to backslash-escaped or written as an entity.
pub fn text(s: &str) -> String {
    let escaped = term::escape(s);
    let mut out = String::with_capacity(escaped.len() + 8);
    for c in escaped.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.'
            | '!' | '|' | '~' | '"' | '\'' | '=' | ':' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` for HTML text or a quoted attribute value.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_backticks_and_newlines() {
        assert_eq!(code_span("a.env"), "`a.env`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a\n# head"), "`a\\n# head`");
    }

    #[test]
    fn text_escapes_markup() {
        assert_eq!(
            text("[x](http://e) <img onerror=a>"),
            "\\[x\\]\\(http\\://e\\) &lt;img onerror\\=a&gt;"
        );
        assert_eq!(text("# h\nb"), "\\# h\\\\nb");
        assert_eq!(html("<a href=\"x\">'"), "&lt;a href=&quot;x&quot;&gt;&#39;");
    }
}
