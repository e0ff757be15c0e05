//! Detection rules as data: loading, validating and compiling `rules/*.toml`.
//!
//! The built-in rules (`rules/aws.toml`) are embedded at build time; `--rules DIR` adds the
//! `*.toml` files of a directory. Every rule carries examples and counter-examples, which
//! `keysweep rules check` (and the test suite) runs through the real detector.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use regex::bytes::Regex;
use serde::Deserialize;

/// The built-in rules file, embedded at build time.
pub const BUILTIN_RULES: &str = include_str!("../rules/aws.toml");

/// The source name of the built-in rules in messages.
const BUILTIN_SOURCE: &str = "<builtin>/aws.toml";

/// Default window (bytes before, bytes after a keyword hit) when a rule names none.
const DEFAULT_WINDOW: [usize; 2] = [64, 256];
/// Windows are capped so that a rule can never make the detector scan a whole buffer.
pub const MAX_WINDOW: usize = 8 * 1024;

/// Capture names a rule's pattern may use; each maps to a kind of credential part
/// (`api_key`: a self-contained API key such as an Amazon Bedrock key, see [`crate::bedrock`]).
pub const CAPTURE_NAMES: [&str; 5] = ["key_id", "secret", "token", "user", "api_key"];

/// Errors found while loading rules: each names the file and the rule.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{path}: cannot read rules file: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A rules directory or file that leaves the directory it must stay in; its content is
    /// not read.
    #[error("{path}: the rules directory must stay inside {root} (the config file's directory); symbolic links may not leave it")]
    Outside { path: PathBuf, root: PathBuf },
    #[error("{path}: invalid rules file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: rule `{id}`: {message}")]
    Invalid {
        path: PathBuf,
        id: String,
        message: String,
    },
}

/// One rule as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSyntax {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub near: Option<Near>,
    #[serde(default)]
    pub window: Option<[usize; 2]>,
    pub pattern: String,
    #[serde(default)]
    pub entropy_min: Option<f32>,
    #[serde(default)]
    pub specificity: Option<u8>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub counter_examples: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
}

/// What a keyword-less rule runs next to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Near {
    /// The window around each confirmed access key ID.
    KeyId,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<RuleSyntax>,
}

/// The group index of each named capture a rule's pattern has (see [`CAPTURE_NAMES`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Captures {
    pub key_id: Option<usize>,
    pub secret: Option<usize>,
    pub token: Option<usize>,
    pub user: Option<usize>,
    pub api_key: Option<usize>,
}

impl Captures {
    /// The named groups of `regex`.
    fn of(regex: &Regex) -> Captures {
        let group = |name: &str| regex.capture_names().position(|n| n == Some(name));
        Captures {
            key_id: group("key_id"),
            secret: group("secret"),
            token: group("token"),
            user: group("user"),
            api_key: group("api_key"),
        }
    }
}

/// A compiled rule, ready for the detector.
#[derive(Debug, Clone)]
pub struct Rule {
    pub syntax: RuleSyntax,
    /// Where the rule came from (`<builtin>` or a file path), for messages.
    pub source: String,
    pub regex: Regex,
    pub window_before: usize,
    pub window_after: usize,
    /// The capture groups of the pattern, by name.
    pub captures: Captures,
    pub specificity: u8,
    pub entropy_min: f32,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.syntax.id
    }

    /// True for the rules embedded in the binary.
    pub fn is_builtin(&self) -> bool {
        self.source.starts_with(BUILTIN_SOURCE)
    }

    fn compile(syntax: RuleSyntax, source: &Path) -> Result<Rule, RuleError> {
        let invalid = |message: String| RuleError::Invalid {
            path: source.to_path_buf(),
            id: syntax.id.clone(),
            message,
        };
        if syntax.id.trim().is_empty() {
            return Err(invalid("empty id".into()));
        }
        if syntax.keywords.is_empty() && syntax.near.is_none() {
            return Err(invalid(
                "needs `keywords` (for the prefilter) or `near = \"key_id\"`".into(),
            ));
        }
        if syntax.keywords.iter().any(|k| k.len() < 3) {
            return Err(invalid(
                "every keyword needs at least 3 bytes (shorter ones defeat the prefilter)".into(),
            ));
        }
        // Patterns match bytes with ASCII classes: `\w`, `\s` and `(?i)` mean their ASCII
        // forms, which compile far smaller and faster than the Unicode ones.
        let regex = regex::bytes::RegexBuilder::new(&syntax.pattern)
            .unicode(false)
            .size_limit(16 * 1024 * 1024)
            .build()
            .map_err(|e| invalid(format!("pattern does not compile: {e}")))?;
        let captures = Captures::of(&regex);
        if let Some(unknown) = regex
            .capture_names()
            .flatten()
            .find(|n| !CAPTURE_NAMES.contains(n))
        {
            return Err(invalid(format!(
                "unknown capture name `{unknown}` (use {})",
                CAPTURE_NAMES.join(", ")
            )));
        }
        // Every capture can only produce values of its grammar (crate::grammar): a rule
        // cannot make keysweep report, verify or write into a command anything else.
        for name in regex.capture_names().flatten() {
            crate::grammar::check_capture(&syntax.pattern, name)
                .map_err(|e| invalid(e.to_string()))?;
        }
        if [
            captures.key_id,
            captures.secret,
            captures.token,
            captures.api_key,
        ]
        .iter()
        .all(Option::is_none)
        {
            return Err(invalid(
                "pattern needs a named capture `key_id`, `secret`, `token` or `api_key`".into(),
            ));
        }
        if syntax.near == Some(Near::KeyId) && captures.secret.is_none() && captures.token.is_none()
        {
            return Err(invalid(
                "a rule `near = \"key_id\"` must capture a `secret` or a `token`".into(),
            ));
        }
        let [before, after] = syntax.window.unwrap_or(DEFAULT_WINDOW);
        if before > MAX_WINDOW || after > MAX_WINDOW {
            return Err(invalid(format!(
                "window may not exceed {MAX_WINDOW} bytes each side"
            )));
        }
        if syntax.examples.is_empty() {
            return Err(invalid("needs at least one example".into()));
        }
        Ok(Rule {
            specificity: syntax.specificity.unwrap_or(1),
            entropy_min: syntax.entropy_min.unwrap_or(0.0),
            window_before: before,
            window_after: after,
            captures,
            regex,
            source: source.display().to_string(),
            syntax,
        })
    }
}

/// Parses one rules file's text.
pub fn parse(text: &str, source: &Path) -> Result<Vec<Rule>, RuleError> {
    // The message and line only: the TOML error's own rendering quotes the offending line,
    // and a rules file's content is not to be echoed (it may not be ours to show).
    let file: RulesFile = toml::from_str(text).map_err(|e| RuleError::Parse {
        path: source.to_path_buf(),
        message: match e.span() {
            Some(span) => format!(
                "line {}: {}",
                text.get(..span.start).unwrap_or(text).matches('\n').count() + 1,
                e.message().trim_end()
            ),
            None => e.message().trim_end().to_string(),
        },
    })?;
    file.rule
        .into_iter()
        .map(|syntax| Rule::compile(syntax, source))
        .collect()
}

/// The built-in rules.
pub fn builtin() -> Vec<Rule> {
    // The embedded file is checked by the test suite; failing here is a build defect.
    parse(BUILTIN_RULES, Path::new(BUILTIN_SOURCE)).expect("built-in rules are valid")
}

/// Loads every `*.toml` file of `dir`, in name order, and only files that stay inside
/// `confine` once symbolic links are resolved (`None`: any file, for a directory named on the
/// command line).
pub fn load_dir_confined(dir: &Path, confine: Option<&Path>) -> Result<Vec<Rule>, RuleError> {
    if let Some(root) = confine {
        let outside = |path: &Path| RuleError::Outside {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        };
        let root = root.canonicalize().map_err(|source| RuleError::Read {
            path: root.to_path_buf(),
            source,
        })?;
        let real = dir.canonicalize().map_err(|source| RuleError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        if !real.starts_with(&root) {
            return Err(outside(dir));
        }
        for path in toml_files(dir)? {
            match path.canonicalize() {
                Ok(real) if real.starts_with(&root) => {}
                _ => return Err(outside(&path)),
            }
        }
    }
    load_dir(dir)
}

/// The `*.toml` files of `dir`, sorted.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, RuleError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| RuleError::Read {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Loads every `*.toml` file of `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, RuleError> {
    let read = |source| RuleError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut rules = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| RuleError::Read {
            path: path.clone(),
            source,
        })?;
        rules.extend(parse(&text, &path)?);
    }
    Ok(rules)
}

/// Checks that rule ids are unique across all loaded rules.
pub fn check_unique(rules: &[Rule]) -> Result<(), RuleError> {
    let mut seen = HashSet::new();
    for rule in rules {
        if !seen.insert(rule.id()) {
            return Err(RuleError::Invalid {
                path: PathBuf::from(&rule.source),
                id: rule.id().to_string(),
                message: "duplicate rule id".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid rule's fields as TOML lines; a test replaces or drops one to break it.
    fn fields() -> Vec<(&'static str, String)> {
        vec![
            ("id", r#"id = "demo-secret""#.into()),
            ("name", r#"name = "Demo secret""#.into()),
            ("keywords", r#"keywords = ["demo_secret"]"#.into()),
            ("window", "window = [0, 64]".into()),
            (
                "pattern",
                r"pattern = 'demo_secret=(?P<secret>[A-Za-z0-9/+]{40})'".into(),
            ),
            (
                "examples",
                r#"examples = ["demo_secret=Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy"]"#.into(),
            ),
        ]
    }

    /// The rules file with field `name` replaced by `line` (dropped when `line` is empty).
    fn rule_with(name: &str, line: &str) -> String {
        let mut text = String::from("[[rule]]\n");
        for (field, value) in fields() {
            let value = if field == name {
                line.to_string()
            } else {
                value
            };
            if !value.is_empty() {
                text.push_str(&value);
                text.push('\n');
            }
        }
        text
    }

    /// The message loading `text` as `custom.toml` fails with.
    fn error_of(text: &str) -> String {
        match parse(text, Path::new("custom.toml")) {
            Ok(rules) => panic!(
                "{} rule(s) loaded from an invalid file:\n{text}",
                rules.len()
            ),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_valid_rule_loads_and_captures_a_secret() {
        let rules = parse(&rule_with("", ""), Path::new("custom.toml")).expect("valid");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].id(), "demo-secret");
        assert!(rules[0].captures.secret.is_some());
        assert!(rules[0].captures.key_id.is_none());
        assert!(!rules[0].is_builtin());
    }

    #[test]
    fn each_invalid_rule_names_the_file_the_rule_and_the_problem() {
        let cases = [
            ("id", r#"id = " ""#, "empty id"),
            ("keywords", "", "needs `keywords`"),
            ("keywords", r#"keywords = ["ab"]"#, "at least 3 bytes"),
            (
                "pattern",
                "pattern = 'demo_secret=(?P<secret>[A-Z'",
                "pattern does not compile",
            ),
            (
                "pattern",
                "pattern = 'demo_secret=(?P<password>[A-Za-z0-9]{40})'",
                "unknown capture name `password`",
            ),
            (
                "pattern",
                "pattern = 'demo_secret=[A-Za-z0-9]{40}'",
                "needs a named capture",
            ),
            (
                "window",
                "window = [0, 9000]",
                "window may not exceed 8192 bytes",
            ),
            ("examples", "", "needs at least one example"),
        ];
        for (field, line, expected) in cases {
            let message = error_of(&rule_with(field, line));
            assert!(
                message.starts_with("custom.toml: rule `") && message.contains(expected),
                "{field} = {line:?}: {message}"
            );
        }
    }

    #[test]
    fn a_capture_that_could_hold_shell_syntax_is_refused() {
        let message = error_of(&rule_with(
            "pattern",
            r"pattern = 'demo_secret=(?P<secret>[^\n]{40})'",
        ));
        assert!(message.contains("rule `demo-secret`"), "{message}");
    }

    #[test]
    fn a_near_key_id_rule_must_capture_a_secret_or_token() {
        let text = rule_with("keywords", r#"near = "key_id""#).replace(
            "(?P<secret>[A-Za-z0-9/+]{40})",
            "(?P<user>[a-z]{4,20})(?P<key_id>AKIA[A-Z2-7]{16})",
        );
        assert!(error_of(&text).contains("must capture a `secret` or a `token`"));
    }

    #[test]
    fn a_syntax_error_gives_its_line_without_quoting_the_file() {
        let text = "[[rule]]\nid = \"x\"\nname = \"x\"\npattern = 'unclosed\n";
        let message = error_of(text);
        assert!(
            message.starts_with("custom.toml: invalid rules file: line 4"),
            "{message}"
        );
        assert!(!message.contains("unclosed"), "{message}");
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let one = rule_with("", "");
        let rules = parse(&format!("{one}{one}"), Path::new("custom.toml")).expect("each valid");
        let message = check_unique(&rules).expect_err("duplicate").to_string();
        assert!(message.contains("duplicate rule id"), "{message}");
    }
}
