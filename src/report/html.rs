//! The standalone HTML incident report (`--format html`, `keysweep remediate --format html`):
//! one self-contained file (no network, no external assets; it works from a `file://` URL)
//! with the findings grouped by account and key, each key's severity, verification, blast
//! radius and risk, every place it was found, a timeline of when each key appeared, and the
//! playbook per key with copyable commands. A small inline script filters by severity and
//! account; the Content-Security-Policy allows only that script and the inline style (by their
//! SHA-256 hashes), nothing else, so nothing in the data can run or load anything.
//!
//! Every value from a finding goes through [`esc`], the one escaping function, before it
//! reaches the page.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::SystemTime;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::finding::{Finding, Severity, VerificationStatus};
use crate::remediate::{self, KeyGroup, Lang};
use crate::time::format_utc;

/// What the page needs besides the findings.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// When the report was made (the playbooks' time windows end here).
    pub now: SystemTime,
    /// Show secrets in full (`--show-secrets`); otherwise they are redacted here too.
    pub show_secrets: bool,
}

const STYLE: &str = r#"
:root{--c:#7a0010;--h:#b3261e;--m:#8a5a00;--l:#2a5d8a;--bg:#fafafa;--fg:#1b1b1b;--mut:#5b5b5b}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:var(--bg);color:var(--fg)}
header{background:#20232a;color:#fff;padding:1rem 2rem}
header h1{margin:0 0 .3rem;font-size:1.5rem}
header p{margin:.2rem 0;color:#ddd}
main{padding:1rem 2rem 3rem;max-width:1300px}
.counts{display:flex;gap:.5rem;flex-wrap:wrap;margin:.6rem 0}
.badge{display:inline-block;padding:.05rem .55rem;border-radius:.8rem;color:#fff;font-weight:600;font-size:.85rem}
.critical{background:var(--c)}.high{background:var(--h)}.medium{background:var(--m)}.low{background:var(--l)}
.count{background:#3a3f4b}
form{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
select{font:inherit;padding:.15rem .3rem}
section.account{margin-top:1.5rem}
section.account>h2{border-bottom:2px solid #ccc;padding-bottom:.2rem}
article.key{background:#fff;border:1px solid #ddd;border-left:6px solid #999;border-radius:6px;padding:.6rem 1rem 1rem;margin:1rem 0}
article.key[data-severity=critical]{border-left-color:var(--c)}
article.key[data-severity=high]{border-left-color:var(--h)}
article.key[data-severity=medium]{border-left-color:var(--m)}
article.key[data-severity=low]{border-left-color:var(--l)}
article h3{margin:.2rem 0 .5rem;font-size:1.15rem}
h4{margin:.9rem 0 .3rem;font-size:1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.3rem 0}
dt{color:var(--mut)}dd{margin:0;overflow-wrap:anywhere}
.risk{font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f0f0f0}
code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.85rem}
ol.playbook{padding-left:1.4rem}
ol.playbook li{margin:.5rem 0}
.cmd{display:flex;gap:.4rem;align-items:flex-start}
pre{background:#f3f3f3;border:1px solid #e0e0e0;border-radius:4px;padding:.4rem .6rem;margin:.2rem 0;white-space:pre-wrap;overflow-wrap:anywhere;flex:1}
button.copy{font:inherit;font-size:.8rem;padding:.2rem .5rem;cursor:pointer}
.muted{color:var(--mut)}
[hidden]{display:none!important}
"#;

const SCRIPT: &str = r#"
(function () {
  "use strict";
  var sev = document.getElementById("f-sev");
  var acct = document.getElementById("f-acct");
  var shown = document.getElementById("shown");
  var keys = Array.prototype.slice.call(document.querySelectorAll("article.key"));
  function apply() {
    var n = 0;
    keys.forEach(function (a) {
      var ok = (!sev.value || a.getAttribute("data-severity") === sev.value) &&
               (!acct.value || a.getAttribute("data-account") === acct.value);
      a.hidden = !ok;
      if (ok) { n += 1; }
    });
    document.querySelectorAll("section.account").forEach(function (s) {
      s.hidden = !s.querySelector("article.key:not([hidden])");
    });
    document.querySelectorAll("tr[data-key]").forEach(function (r) {
      var a = document.getElementById(r.getAttribute("data-key"));
      r.hidden = a ? a.hidden : false;
    });
    shown.textContent = n + " of " + keys.length + " keys shown";
  }
  sev.addEventListener("change", apply);
  acct.addEventListener("change", apply);
  document.querySelectorAll("button.copy").forEach(function (b) {
    b.addEventListener("click", function () {
      var code = b.parentNode.querySelector("code");
      var text = code.textContent;
      function selectIt() {
        var range = document.createRange();
        range.selectNodeContents(code);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        b.textContent = ok ? "Copied" : "Selected: press Ctrl+C";
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { b.textContent = "Copied"; }, selectIt);
      } else {
        selectIt();
      }
    });
  });
  document.body.classList.add("js");
  apply();
})();
"#;

/// Escapes `s` for HTML text and double- or single-quoted attribute values. Control and
/// bidirectional-override characters are shown as `\u{…}` so hostile names cannot hide or
/// reorder text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}') =>
            {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `'sha256-…'` of an inline element's exact text, for the Content-Security-Policy.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

const SEVERITIES: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

/// The key a finding is grouped under (the same as `remediate::group`).
fn key_of(f: &Finding) -> String {
    f.key_id
        .clone()
        .unwrap_or_else(|| format!("~{}", f.fingerprint))
}

/// An element ID for a key group.
fn anchor(key: &str) -> String {
    let safe: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("key-{safe}")
}

const UNKNOWN_ACCOUNT: &str = "unknown account";

/// A secret as the page shows it: redacted unless asked otherwise (a report's secrets may
/// already be redacted: those are kept as they are).
fn shown_secret(secret: &str, show: bool) -> String {
    if show || secret.contains('…') {
        secret.to_string()
    } else {
        crate::finding::redact(secret)
    }
}

/// Where one finding is, as table cells.
fn place_cells(f: &Finding) -> String {
    let o = &f.location.origin;
    let mut s = String::new();
    let _ = write!(
        s,
        "<td><code>{}</code>{}</td><td>{}:{}</td>",
        esc(&o.path),
        o.archive_member
            .as_deref()
            .map(|m| format!(
                "<br><span class=\"muted\">member</span> <code>{}</code>",
                esc(m)
            ))
            .unwrap_or_default(),
        f.location.line,
        f.location.column
    );
    let mut commit = String::new();
    if let Some(c) = &o.commit {
        let _ = write!(commit, "<code>{}</code>", esc(c.get(..12).unwrap_or(c)));
        if let Some(a) = &o.author {
            let _ = write!(commit, " by {}", esc(a));
        }
        match o.present_at_head {
            Some(true) => commit.push_str(" · still at HEAD"),
            Some(false) => commit.push_str(" · gone from HEAD, still in history"),
            None => {}
        }
    }
    let date = o.date.as_deref().map(esc).unwrap_or_default();
    let decoded = o.decoded_from.as_deref().map(esc).unwrap_or_default();
    let _ = write!(s, "<td>{commit}</td><td>{date}</td><td>{decoded}</td>");
    s
}

fn write_blast(s: &mut String, f: &Finding) {
    let Some(b) = &f.blast_radius else {
        return;
    };
    s.push_str("<h4>Blast radius</h4><dl>");
    let _ = write!(s, "<dt>who</dt><dd>{}</dd>", esc(&b.who()));
    if let Some(arn) = &b.arn {
        let _ = write!(s, "<dt>ARN</dt><dd><code>{}</code></dd>", esc(arn));
    }
    if let Some(what) = b.what() {
        let _ = write!(s, "<dt>may do</dt><dd>{}</dd>", esc(&what));
    }
    if let Some(p) = &b.permissions {
        if !p.wildcard_actions.is_empty() {
            let list: Vec<String> = p
                .wildcard_actions
                .iter()
                .take(12)
                .map(|(svc, acts)| format!("{svc}:{}", acts.join("|")))
                .collect();
            let more = p.wildcard_actions.len().saturating_sub(12);
            let _ = write!(
                s,
                "<dt>wildcards</dt><dd><code>{}</code>{}</dd>",
                esc(&list.join(" ")),
                if more > 0 {
                    format!(" and {more} more services")
                } else {
                    String::new()
                }
            );
        }
        if !p.resources.is_empty() {
            let _ = write!(
                s,
                "<dt>resources</dt><dd><code>{}</code></dd>",
                esc(&p.resources.join(" "))
            );
        }
    }
    if let Some(k) = &b.key {
        let mut parts = Vec::new();
        if let Some(st) = &k.status {
            parts.push(format!("status {st}"));
        }
        if let Some(c) = &k.created {
            parts.push(format!(
                "created {c}{}",
                k.age_days
                    .map(|d| format!(" ({d} days)"))
                    .unwrap_or_default()
            ));
        }
        match &k.last_used {
            Some(t) => {
                let mut used = format!("last used {t}");
                if let Some(svc) = &k.last_used_service {
                    used.push_str(&format!(" by {svc}"));
                }
                if let Some(r) = &k.last_used_region {
                    used.push_str(&format!(" in {r}"));
                }
                parts.push(used);
            }
            None => parts.push("never used".to_string()),
        }
        let _ = write!(s, "<dt>key</dt><dd>{}</dd>", esc(&parts.join("; ")));
    }
    for e in &b.errors {
        let _ = write!(s, "<dt>lookup failed</dt><dd>{}</dd>", esc(e));
    }
    s.push_str("</dl>");
}

fn write_key(
    s: &mut String,
    account: &str,
    group: Option<&KeyGroup>,
    findings: &[&Finding],
    page: &Page,
) {
    let Some(first) = findings.first() else {
        return;
    };
    let merged = group.map_or(*first, |g| &g.finding);
    let severity = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(first.severity);
    let key = key_of(first);
    let _ = write!(
        s,
        "<article class=\"key\" id=\"{}\" data-severity=\"{}\" data-account=\"{}\">",
        esc(&anchor(&key)),
        severity.as_str(),
        esc(account)
    );
    let label = match &merged.key_id {
        Some(k) => format!("<code>{}</code>", esc(k)),
        None => format!(
            "secret without its key ID <code>{}</code>",
            esc(&merged.fingerprint)
        ),
    };
    let who = merged
        .blast_radius
        .as_ref()
        .and_then(|b| b.user_name.clone())
        .or_else(|| merged.user_name.clone())
        .map(|u| format!(" · IAM user {}", esc(&u)))
        .unwrap_or_default();
    let _ = write!(
        s,
        "<h3><span class=\"badge {sev}\">{sev}</span> {label}{who}</h3><dl>",
        sev = severity.as_str()
    );
    let _ = write!(s, "<dt>kind</dt><dd>{}</dd>", esc(merged.kind.as_str()));
    if let Some(secret) = &merged.secret {
        let _ = write!(
            s,
            "<dt>secret</dt><dd><code>{}</code></dd>",
            esc(&shown_secret(secret, page.show_secrets))
        );
    }
    if let Some(token) = &merged.session_token {
        let _ = write!(
            s,
            "<dt>session token</dt><dd><code>{}</code></dd>",
            esc(&shown_secret(token, page.show_secrets))
        );
    }
    if let Some(a) = &merged.account_id {
        let _ = write!(
            s,
            "<dt>account</dt><dd>{} ({})</dd>",
            esc(a),
            esc(merged.account_id_source.map_or("?", |s| s.as_str()))
        );
    }
    if merged.canary {
        s.push_str("<dt>canary</dt><dd>known canary-token account: do not use this key</dd>");
    }
    let v = &merged.verification;
    let mut verified = v.status.as_str().to_string();
    if let Some(arn) = &v.arn {
        verified.push_str(&format!(" · {arn}"));
    }
    if let Some(m) = &v.message {
        verified.push_str(&format!(" · {m}"));
    }
    let _ = write!(s, "<dt>verification</dt><dd>{}</dd>", esc(&verified));
    if let Some(risk) = &merged.risk {
        let _ = write!(
            s,
            "<dt>risk</dt><dd class=\"risk\"><span class=\"badge {l}\">{l}</span> {}</dd>",
            esc(&risk.summary()),
            l = risk.level.as_str()
        );
    }
    let first_seen = findings
        .iter()
        .filter_map(|f| remediate::leak_time(f))
        .min();
    if let Some(t) = first_seen {
        let _ = write!(s, "<dt>first seen</dt><dd>{}</dd>", esc(&format_utc(t)));
    }
    s.push_str("</dl>");
    write_blast(s, merged);
    let _ = write!(
        s,
        "<h4>Found at ({} place{})</h4><table><thead><tr><th>path</th><th>line:col</th>\
         <th>commit</th><th>date</th><th>decoded</th></tr></thead><tbody>",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    for f in findings {
        let _ = write!(s, "<tr>{}</tr>", place_cells(f));
    }
    s.push_str("</tbody></table>");
    if let Some(g) = group {
        s.push_str("<h4>Playbook</h4><ol class=\"playbook\">");
        for st in &g.steps {
            let _ = write!(
                s,
                "<li><b>{}</b>: {}<div class=\"cmd\"><pre><code>{}</code></pre>\
                 <button class=\"copy\" type=\"button\">Copy</button></div></li>",
                esc(st.step.as_str()),
                esc(&st.why),
                esc(&st.command)
            );
        }
        s.push_str("</ol>");
    }
    s.push_str("</article>");
}

/// Renders the report page for `findings`.
pub fn render(findings: &[Finding], page: &Page) -> String {
    let groups = remediate::group(findings, Lang::En, page.now);
    let by_key: BTreeMap<String, &KeyGroup> =
        groups.iter().map(|g| (key_of(&g.finding), g)).collect();
    // account -> key -> findings
    let mut tree: BTreeMap<String, BTreeMap<String, Vec<&Finding>>> = BTreeMap::new();
    for f in findings {
        let key = key_of(f);
        let account = by_key
            .get(&key)
            .and_then(|g| g.finding.account_id.clone())
            .or_else(|| f.account_id.clone())
            .unwrap_or_else(|| UNKNOWN_ACCOUNT.to_string());
        tree.entry(account)
            .or_default()
            .entry(key)
            .or_default()
            .push(f);
    }
    let mut key_severity: BTreeMap<Severity, usize> = BTreeMap::new();
    for keys in tree.values() {
        for list in keys.values() {
            if let Some(s) = list.iter().map(|f| f.severity).max() {
                *key_severity.entry(s).or_default() += 1;
            }
        }
    }
    let n_keys: usize = tree.values().map(BTreeMap::len).sum();
    let owned = groups
        .iter()
        .filter(|g| g.finding.verification.status == VerificationStatus::Owned)
        .count();

    let mut s = String::with_capacity(16 * 1024 + findings.len() * 2048);
    let csp = format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; \
         form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    );
    let when = format_utc(
        page.now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
    );
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
         <meta name=\"referrer\" content=\"no-referrer\"><link rel=\"icon\" href=\"data:,\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>keysweep incident report</title><style>{STYLE}</style></head><body>",
        esc(&csp)
    );
    let _ = write!(
        s,
        "<header><h1>Leaked AWS keys: incident report</h1><p>Made by keysweep {} on {}. \
         <span id=\"total-findings\">{}</span> finding{} of <span id=\"total-keys\">{}</span> \
         key{} in <span id=\"total-accounts\">{}</span> account group{}; {} key{} verified as \
         yours. Secrets are {}.</p><div class=\"counts\">",
        esc(env!("CARGO_PKG_VERSION")),
        esc(&when),
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        n_keys,
        if n_keys == 1 { "" } else { "s" },
        tree.len(),
        if tree.len() == 1 { "" } else { "s" },
        owned,
        if owned == 1 { "" } else { "s" },
        if page.show_secrets {
            "shown in full (--show-secrets): keep this file private"
        } else {
            "redacted"
        }
    );
    for sev in SEVERITIES {
        let _ = write!(
            s,
            "<span class=\"badge {0}\" data-count=\"{0}\">{0}: {1}</span>",
            sev.as_str(),
            key_severity.get(&sev).copied().unwrap_or(0)
        );
    }
    s.push_str(
        "</div><form id=\"filters\"><label>Severity <select id=\"f-sev\">\
         <option value=\"\">all</option>",
    );
    for sev in SEVERITIES {
        let _ = write!(s, "<option value=\"{0}\">{0}</option>", sev.as_str());
    }
    s.push_str(
        "</select></label><label>Account <select id=\"f-acct\"><option value=\"\">all</option>",
    );
    for account in tree.keys() {
        let _ = write!(s, "<option value=\"{0}\">{0}</option>", esc(account));
    }
    let _ = write!(
        s,
        "</select></label><output id=\"shown\">{n_keys} of {n_keys} keys shown</output></form>\
         </header><main>"
    );
    if findings.is_empty() {
        s.push_str("<p id=\"clean\">No leaked AWS credentials were found.</p>");
    }
    for (account, keys) in &tree {
        let _ = write!(
            s,
            "<section class=\"account\" data-account=\"{0}\"><h2>{1}</h2>",
            esc(account),
            if account == UNKNOWN_ACCOUNT {
                "Account unknown".to_string()
            } else {
                format!("Account {}", esc(account))
            }
        );
        for (key, list) in keys {
            write_key(&mut s, account, by_key.get(key).copied(), list, page);
        }
        s.push_str("</section>");
    }
    write_timeline(&mut s, findings);
    let _ = writeln!(s, "</main><script>{SCRIPT}</script></body></html>");
    s
}

/// When each key appeared: every dated place (commit date, object date, file time), oldest
/// first; undated places are counted.
fn write_timeline(s: &mut String, findings: &[Finding]) {
    let mut rows: Vec<(i64, String, String)> = Vec::new();
    let mut undated = 0usize;
    for f in findings {
        match remediate::leak_time(f) {
            Some(t) => {
                let o = &f.location.origin;
                let mut place = o.path.clone();
                if let Some(m) = &o.archive_member {
                    place.push_str(&format!(" → {m}"));
                }
                if let Some(c) = &o.commit {
                    place.push_str(&format!(" @ {}", c.get(..12).unwrap_or(c)));
                }
                rows.push((t, key_of(f), place));
            }
            None => undated += 1,
        }
    }
    rows.sort();
    s.push_str("<section id=\"timeline\"><h2>Timeline</h2>");
    if rows.is_empty() {
        s.push_str("<p class=\"muted\">No dates known for these findings.</p>");
    } else {
        s.push_str(
            "<table><thead><tr><th>when (UTC)</th><th>key</th><th>where</th></tr></thead><tbody>",
        );
        let mut seen = BTreeSet::new();
        for (t, key, place) in &rows {
            let first = seen.insert(key.clone());
            let _ = write!(
                s,
                "<tr data-key=\"{}\"><td>{}</td><td><code>{}</code>{}</td><td><code>{}</code></td></tr>",
                esc(&anchor(key)),
                esc(&format_utc(*t)),
                esc(key.trim_start_matches('~')),
                if first { " <b>first seen</b>" } else { "" },
                esc(place)
            );
        }
        s.push_str("</tbody></table>");
    }
    if undated > 0 {
        let _ = write!(
            s,
            "<p class=\"muted\">{undated} place{} without a known date.</p>",
            if undated == 1 { "" } else { "s" }
        );
    }
    s.push_str("</section>");
}

/// Writes the report page (see [`render`]).
pub fn write(out: &mut dyn Write, findings: &[Finding], page: &Page) -> io::Result<()> {
    out.write_all(render(findings, page).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            esc("<img src=x onerror='a()'>&\"\u{1b}\u{202e}"),
            "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;&quot;\\u{001b}\\u{202e}"
        );
    }

    #[test]
    fn empty_report_is_a_page() {
        let page = Page {
            now: SystemTime::UNIX_EPOCH,
            show_secrets: false,
        };
        let html = render(&[], &page);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("No leaked AWS credentials"));
        assert!(html.contains(&esc(&csp_hash(SCRIPT))));
    }
}
