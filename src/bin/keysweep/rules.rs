//! `keysweep rules list` and `keysweep rules check`.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Result;

use keysweep::detect::Detector;

use crate::setup::load_rules;

pub fn list(extra: Option<&Path>) -> Result<u8> {
    let rules = load_rules(extra)?;
    let mut out = io::stdout().lock();
    for rule in &rules {
        let trigger = if rule.syntax.keywords.is_empty() {
            "near a key ID".to_string()
        } else {
            format!("keywords: {}", rule.syntax.keywords.join(", "))
        };
        writeln!(out, "{}\t{}\t{}", rule.id(), rule.syntax.name, trigger)?;
    }
    Ok(0)
}

pub fn check(dir: Option<&Path>) -> Result<u8> {
    let rules = load_rules(dir)?;
    let checked: Vec<String> = match dir {
        Some(_) => rules
            .iter()
            .filter(|r| !r.is_builtin())
            .map(|r| r.id().to_string())
            .collect(),
        None => rules.iter().map(|r| r.id().to_string()).collect(),
    };
    if let (Some(dir), true) = (dir, checked.is_empty()) {
        anyhow::bail!(
            "{}: no rules files (*.toml) found, nothing to check: point it at a directory of \
             rule files (see rules/aws.toml for the format)",
            dir.display()
        );
    }
    let detector = Detector::new(rules)?;
    let failures = detector.check_examples(&checked);
    let total: usize = detector
        .rules()
        .iter()
        .filter(|r| checked.iter().any(|c| c == r.id()))
        .map(|r| r.syntax.examples.len() + r.syntax.counter_examples.len())
        .sum();
    for failure in &failures {
        println!("FAIL {failure}");
    }
    println!(
        "{} rules, {} examples checked, {} failed",
        checked.len(),
        total,
        failures.len()
    );
    Ok(if failures.is_empty() { 0 } else { 1 })
}
