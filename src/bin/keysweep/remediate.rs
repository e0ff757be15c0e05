//! `keysweep remediate`: a report in, a response playbook out.

use std::io::{self, Write};

use anyhow::{Context, Result};

use keysweep::report;

use crate::cli::RemediateArgs;

pub fn run(args: RemediateArgs) -> Result<u8> {
    use keysweep::remediate::{self, PlaybookFormat};
    let format = PlaybookFormat::from(args.format);
    let lang = args.lang.into();
    let (name, text) = match args
        .report
        .as_deref()
        .filter(|p| !keysweep::input::fs::is_stdin(p))
    {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read report {}", path.display()))?,
        ),
        None => {
            let mut text = String::new();
            io::Read::read_to_string(&mut io::stdin().lock(), &mut text)
                .context("cannot read the report from stdin")?;
            ("<stdin>".to_string(), text)
        }
    };
    let mut findings = remediate::read_report(&text).with_context(|| {
        format!(
            "{name}: cannot read the report (it takes a keysweep JSON report: \
             keysweep scan --format json -o FILE)"
        )
    })?;
    if args.blast_radius && !findings.is_empty() {
        remediate_blast_radius(&mut findings, &args.my_accounts)?;
    }
    let now = std::time::SystemTime::now();
    let groups = remediate::group(&findings, lang, now);
    let playbook = match format {
        PlaybookFormat::Md => remediate::markdown(&groups, lang, now),
        PlaybookFormat::Sh => remediate::shell(&groups, lang, now),
        PlaybookFormat::Html => report::html::render(
            &findings,
            &report::html::Page {
                now,
                show_secrets: args.show_secrets,
            },
        ),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, playbook)
                .with_context(|| format!("cannot write playbook {}", path.display()))?;
            #[cfg(unix)]
            if format == PlaybookFormat::Sh {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                    .with_context(|| format!("cannot make {} executable", path.display()))?;
            }
        }
        None => io::stdout()
            .lock()
            .write_all(playbook.as_bytes())
            .context("cannot write the playbook")?,
    }
    note!(
        "keysweep: playbook for {} key(s) from {} finding(s) in {}",
        groups.len(),
        findings.len(),
        keysweep::term::escape(&name)
    );
    Ok(0)
}

/// `remediate --blast-radius`: keys of the report not yet placed in an account are checked
/// with STS GetAccessKeyInfo (key IDs only), then the owned ones get their blast radius.
fn remediate_blast_radius(
    findings: &mut [keysweep::finding::Finding],
    my_accounts: &[String],
) -> Result<()> {
    use keysweep::finding::VerificationStatus;
    use keysweep::verify;
    verify::annotate_offline(findings);
    let opts = verify::Options::new(verify::Mode::Owner, my_accounts.to_vec());
    // Verify a copy: a report's `live` verdicts stay, and only the ownership is taken over.
    let mut checked = findings.to_vec();
    let summary = verify::verify(&mut checked, &opts)?;
    note!("keysweep: verify owner: {summary}");
    for (f, c) in findings.iter_mut().zip(checked) {
        let keep = matches!(
            f.verification.status,
            VerificationStatus::Live | VerificationStatus::InactiveOrInvalid
        );
        if c.verification.status == VerificationStatus::Owned || !keep {
            f.verification.status = c.verification.status;
            f.verification.message = c.verification.message;
            if c.verification.arn.is_some() {
                f.verification.arn = c.verification.arn;
            }
        }
        f.account_id = c.account_id;
        f.account_id_source = c.account_id_source;
        f.canary = c.canary;
    }
    let summary = verify::blast::blast_radius(findings, &opts)?;
    note!("keysweep: blast radius: {summary}");
    Ok(())
}
