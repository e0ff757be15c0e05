//! The post-scan pipeline called in-process (`keysweep::pipeline::run`), on findings of a real
//! scan: its documented order (inline markers, then the config, then the baseline write, then
//! the baseline filter, then annotation and redaction) decides which filter a finding is
//! counted by and what a written baseline holds.

use crate::common;

use std::path::PathBuf;

use keysweep::baseline::Baseline;
use keysweep::config::{Config, ScanRoot};
use keysweep::detect::Detector;
use keysweep::finding::{Finding, SuppressionKind};
use keysweep::pipeline::{self, Event, Verdict};
use keysweep::scan::{self, ScanOptions};

use common::{ACCOUNT_KEY, ACCOUNT_SECRET, KEY, LONE_KEY, OTHER_KEY, SECRET};

fn pair(key: &str, secret: &str) -> String {
    format!("aws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
}

fn fingerprint_of<'f>(findings: &'f [Finding], key: &str) -> &'f str {
    &findings
        .iter()
        .find(|f| f.key_id.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no finding of {key} in {findings:?}"))
        .fingerprint
}

fn key_ids(findings: &[Finding]) -> Vec<&str> {
    let mut ids: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.key_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn filters_apply_in_the_documented_order() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    // Inline marker; config allow-list; baseline; left to report.
    common::write(
        dir.path(),
        "a.env",
        format!("id: {LONE_KEY} # keysweep:allow\n"),
    );
    common::write(dir.path(), "b.env", pair(OTHER_KEY, SECRET));
    common::write(dir.path(), "c.env", pair(ACCOUNT_KEY, ACCOUNT_SECRET));
    common::write(dir.path(), "d.env", pair(KEY, SECRET));

    let detector = Detector::new(keysweep::rules::builtin()).unwrap();
    let roots = [PathBuf::from(dir.path())];
    let scan = || scan::scan_paths(&detector, &roots, &ScanOptions::default());
    let first = scan();
    assert_eq!(
        key_ids(&first.findings),
        [LONE_KEY, KEY, ACCOUNT_KEY, OTHER_KEY]
    );
    assert!(first.findings.iter().any(|f| f.inline_allowed));

    // The baseline names a, b and c: each is counted by the first filter that takes it.
    let baseline_text = format!(
        "[{}]",
        [LONE_KEY, OTHER_KEY, ACCOUNT_KEY]
            .iter()
            .map(|k| format!(
                r#"{{"fingerprint": "{}"}}"#,
                fingerprint_of(&first.findings, k)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let baseline = Baseline::parse(&baseline_text).unwrap();
    let config_path = work.path().join("keysweep.toml");
    let config = Config::parse(
        &format!("[[allow]]\nkey_id = \"{OTHER_KEY}\"\nreason = \"test fixture\"\n"),
        &config_path,
    )
    .unwrap();
    let root = ScanRoot::repository(dir.path()).unwrap();
    let written = work.path().join("new-baseline.json");

    let mut opts = pipeline::Options::new(&config, &root);
    opts.baseline = Some((&baseline, "old.json"));
    opts.write_baseline = Some(&written);
    let mut events = 0;
    let processed = pipeline::run(scan(), &detector, &opts, &mut |e| {
        assert!(!matches!(e, Event::InputError(_)), "{e:?}");
        events += 1;
    })
    .unwrap();
    assert_eq!(events, 0, "a clean scan has nothing to say");

    let counts = processed.counts;
    assert_eq!(
        (
            counts.inline,
            counts.allowed,
            counts.baseline,
            counts.excluded
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(counts.total(), 3);
    assert_eq!(key_ids(&processed.outcome.findings), [KEY]);
    assert_eq!(processed.verdict(), Verdict::Findings);
    let mut kinds: Vec<(&str, SuppressionKind)> = processed
        .suppressed
        .iter()
        .map(|f| {
            (
                f.key_id.as_deref().unwrap(),
                f.suppression.as_ref().unwrap().kind,
            )
        })
        .collect();
    kinds.sort_unstable_by_key(|(key, _)| *key);
    assert_eq!(
        kinds,
        [
            (LONE_KEY, SuppressionKind::InSource),
            (ACCOUNT_KEY, SuppressionKind::External),
            (OTHER_KEY, SuppressionKind::External),
        ]
    );
    let justification = |key: &str| {
        let f = processed
            .suppressed
            .iter()
            .find(|f| f.key_id.as_deref() == Some(key));
        f.unwrap()
            .suppression
            .as_ref()
            .unwrap()
            .justification
            .clone()
    };
    assert!(
        justification(OTHER_KEY).contains("test fixture"),
        "{}",
        justification(OTHER_KEY)
    );
    let by_baseline = processed
        .suppressed
        .iter()
        .find(|f| f.key_id.as_deref() == Some(ACCOUNT_KEY))
        .unwrap();
    assert_eq!(
        by_baseline.suppression.as_ref().unwrap().justification,
        "accepted in the baseline old.json"
    );

    // The baseline written is what the config left, before the old baseline was applied.
    let text = std::fs::read_to_string(&written).unwrap();
    let new_baseline = Baseline::parse(&text).unwrap();
    assert_eq!(new_baseline.len(), 2, "{text}");
    assert!(text.contains(ACCOUNT_KEY) && text.contains(KEY), "{text}");
    assert!(
        !text.contains(OTHER_KEY) && !text.contains(LONE_KEY),
        "{text}"
    );

    // Annotation (the account decoded offline) ran before redaction; no secret is left in full.
    assert!(!text.contains(SECRET) && !text.contains(ACCOUNT_SECRET));
    for f in processed
        .outcome
        .findings
        .iter()
        .chain(&processed.suppressed)
    {
        let json = serde_json::to_string(f).unwrap();
        assert!(
            !json.contains(SECRET) && !json.contains(ACCOUNT_SECRET),
            "{json}"
        );
        assert!(!f.remediation.is_empty(), "{json}");
    }
    let reported = &processed.outcome.findings[0];
    assert!(reported.account_id.is_some(), "{reported:?}");
    assert_eq!(
        reported.account_id_source.map(|s| s.as_str()),
        Some("decoded")
    );
}

#[test]
fn no_allow_keeps_marked_findings_and_secrets_can_be_kept() {
    let dir = tempfile::tempdir().unwrap();
    common::write(
        dir.path(),
        "a.env",
        format!("aws_access_key_id = {KEY} # keysweep:allow\naws_secret_access_key = {SECRET} # keysweep:allow\n"),
    );
    let detector = Detector::new(keysweep::rules::builtin()).unwrap();
    let outcome = scan::scan_paths(
        &detector,
        &[PathBuf::from(dir.path())],
        &ScanOptions::default(),
    );
    let config = Config::default();
    let root = ScanRoot::repository(dir.path()).unwrap();
    let mut opts = pipeline::Options::new(&config, &root);
    opts.honour_allow = false;
    opts.show_secrets = true;
    let processed = pipeline::run(outcome, &detector, &opts, &mut |_| {}).unwrap();
    assert_eq!(processed.counts.total(), 0);
    assert_eq!(key_ids(&processed.outcome.findings), [KEY]);
    let json = serde_json::to_string(&processed.outcome.findings[0]).unwrap();
    assert!(json.contains(SECRET), "{json}");
}

#[test]
fn an_unreadable_input_is_reported_and_makes_a_clean_scan_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.env");
    let detector = Detector::new(keysweep::rules::builtin()).unwrap();
    let outcome = scan::scan_paths(&detector, &[missing], &ScanOptions::default());
    let config = Config::default();
    let root = ScanRoot::repository(dir.path()).unwrap();
    let opts = pipeline::Options::new(&config, &root);
    let mut errors = Vec::new();
    let processed = pipeline::run(outcome, &detector, &opts, &mut |e| {
        if let Event::InputError(err) = e {
            errors.push(err.to_string());
        }
    })
    .unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("gone.env"), "{errors:?}");
    assert_eq!(processed.verdict(), Verdict::Incomplete);
}
