//! The docs cannot drift from the binary: every `keysweep …` command shown in README.md and
//! docs/*.md (code blocks, indented blocks and inline code) must parse with the real command
//! line definitions, and those whose inputs exist in a fixture repository are run for real by
//! the release binary and must succeed (exit 0 or 1, no error). A failure names the doc file
//! and line. How commands are found: see docs/testing.md.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli_args::{Cli, Command as Sub, RulesCommand};
use clap::Parser;

use common::{KEY, LONE_KEY, SECRET};

/// One command shown in a doc: where, as written, and its arguments after `keysweep`.
#[derive(Debug, Clone)]
struct DocCommand {
    file: String,
    line: usize,
    text: String,
    args: Vec<String>,
}

impl DocCommand {
    fn place(&self) -> String {
        format!("{}:{}: `{}`", self.file, self.line, self.text)
    }
}

/// README.md and every docs/*.md, sorted, as (name relative to the crate, text).
fn doc_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .expect("read docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let name = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            (name, text)
        })
        .collect()
}

/// Every `keysweep` command line of one markdown text. `Err` names a line that looks like a
/// command but cannot be split into words.
///
/// Code is what fenced blocks hold and lines indented by four spaces or a tab; prose gives its
/// inline code spans. In a code paragraph (lines between blank lines) that has `$ ` prompts,
/// only the prompted lines are commands: the rest is their output. A line whose first word
/// after `keysweep` ends with `:` is output too (`keysweep: scanned …`, `keysweep playbook: …`).
fn commands_in(file: &str, text: &str) -> Vec<Result<DocCommand, String>> {
    let mut found = Vec::new();
    // Code paragraphs: (line number, line with a trailing `\` joined to the next).
    let mut paragraphs: Vec<Vec<(usize, String)>> = Vec::new();
    let mut current: Vec<(usize, String)> = Vec::new();
    let mut fence: Option<String> = None;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let number = i + 1;
        i += 1;
        let trimmed = line.trim_start();
        let opens = trimmed.starts_with("```") || trimmed.starts_with("~~~");
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str()) {
                fence = None;
                paragraphs.push(std::mem::take(&mut current));
                continue;
            }
        } else if opens {
            fence = Some(trimmed.chars().take(3).collect());
            paragraphs.push(std::mem::take(&mut current));
            continue;
        }
        if trimmed.is_empty() {
            paragraphs.push(std::mem::take(&mut current));
            continue;
        }
        let in_code = fence.is_some() || line.starts_with("    ") || line.starts_with('\t');
        if in_code {
            let mut joined = trimmed.to_string();
            while joined.ends_with('\\') && i < lines.len() {
                joined.pop();
                joined.push(' ');
                joined.push_str(lines[i].trim());
                i += 1;
            }
            current.push((number, joined));
        } else {
            paragraphs.push(std::mem::take(&mut current));
            // Inline code: `keysweep …`.
            for span in trimmed.split('`').skip(1).step_by(2) {
                if let Some(rest) = keysweep_args(span) {
                    found.push(doc_command(file, number, span, rest));
                }
            }
        }
    }
    paragraphs.push(current);
    for paragraph in paragraphs {
        let prompted = paragraph.iter().any(|(_, l)| l.starts_with("$ "));
        for (number, line) in &paragraph {
            if prompted && !line.starts_with("$ ") {
                continue;
            }
            for segment in segments(line) {
                if let Some(rest) = keysweep_args(segment) {
                    found.push(doc_command(file, *number, segment, rest));
                }
            }
        }
    }
    found.sort_by_key(|c| match c {
        Ok(c) => c.line,
        Err(_) => 0,
    });
    found
}

fn doc_command(file: &str, line: usize, text: &str, rest: &str) -> Result<DocCommand, String> {
    let place = format!("{file}:{line}: `{}`", text.trim());
    let words = without_redirections(split_words(rest).map_err(|e| format!("{place}: {e}"))?);
    Ok(DocCommand {
        file: file.to_string(),
        line,
        text: text.trim().to_string(),
        args: words,
    })
}

/// The parts of a shell line joined by ` | `, ` && `, ` || ` or `; ` (outside quotes).
fn segments(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quote) = (0, None::<char>);
    let mut chars = line.char_indices();
    while let Some((j, c)) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {
                let rest = &line[j..];
                if let Some(sep) = [" | ", " && ", " || ", "; "]
                    .iter()
                    .find(|s| rest.starts_with(**s))
                {
                    parts.push(&line[start..j]);
                    start = j + sep.len();
                    // Separators are ASCII: skip the rest of this one.
                    for _ in 1..sep.len() {
                        chars.next();
                    }
                }
            }
        }
    }
    parts.push(&line[start..]);
    parts
}

/// The text after `keysweep` when `segment` runs keysweep: `keysweep …`, `$ keysweep …`,
/// `- keysweep …` and `entry: keysweep …` (YAML), `cargo run --release -- …`.
fn keysweep_args(segment: &str) -> Option<&str> {
    let mut s = segment.trim();
    for prefix in ["$ ", "- ", "entry: ", "run: "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.trim_start();
        }
    }
    for runner in ["keysweep ", "cargo run --release -- ", "cargo run -- "] {
        if let Some(rest) = s.strip_prefix(runner) {
            // `keysweep: …` and `keysweep playbook: …` are output lines; `keysweep …` (an
            // ellipsis) is prose about commands in general.
            let first = rest.split_whitespace().next().unwrap_or_default();
            let not_a_command = first.ends_with(':') || first == "…" || first == "...";
            return (!not_a_command).then_some(rest);
        }
    }
    // The bare word is a name in prose, not a command.
    None
}

/// Shell words: single and double quotes, backslash escapes, `#` comments; `$VAR` stays as
/// written.
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '#' if word.is_none() => break,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unclosed double quote".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '\\' => {
                if let Some(c) = chars.next() {
                    word.get_or_insert_with(String::new).push(c);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    Ok(words)
}

/// The words without shell redirections (`> FILE`, `>> FILE`, `2>&1`, `< FILE`): the shell
/// takes them, keysweep never sees them.
fn without_redirections(words: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        let op = w.trim_start_matches(|c: char| c.is_ascii_digit());
        if matches!(op, ">" | ">>" | "<" | ">|") {
            words.next();
        } else if !(op.starts_with('>') || (op.starts_with('<') && !op.ends_with('>'))) {
            out.push(w);
        }
    }
    out
}

/// Synopsis notation to concrete argument lists: `[X]` and `[X...]` are left out, `<x>` is
/// the word `x`, and `a|b` gives one list per alternative.
fn expand(args: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for arg in args {
        if arg.starts_with('[') && arg.ends_with(']') {
            continue;
        }
        let arg = match arg.strip_prefix('<').and_then(|a| a.strip_suffix('>')) {
            Some(inner) => inner.to_string(),
            None => arg.clone(),
        };
        let choices: Vec<&str> = if arg.contains('|') && !arg.contains(' ') {
            arg.split('|').collect()
        } else {
            vec![arg.as_str()]
        };
        out = out
            .into_iter()
            .flat_map(|prefix| {
                choices.iter().map(move |c| {
                    let mut next = prefix.clone();
                    next.push(c.to_string());
                    next
                })
            })
            .collect();
    }
    out
}

/// Every command of every doc, or the lines that could not be read.
fn all_commands() -> (Vec<DocCommand>, Vec<String>) {
    let (mut commands, mut problems) = (Vec::new(), Vec::new());
    for (file, text) in doc_files() {
        for found in commands_in(&file, &text) {
            match found {
                Ok(c) => commands.push(c),
                Err(e) => problems.push(e),
            }
        }
    }
    (commands, problems)
}

fn parse(args: &[String]) -> Result<Option<Cli>, clap::Error> {
    match Cli::try_parse_from(std::iter::once("keysweep".to_string()).chain(args.iter().cloned())) {
        Ok(cli) => Ok(Some(cli)),
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[test]
fn every_command_in_the_docs_parses() {
    let (commands, mut problems) = all_commands();
    for command in &commands {
        for args in expand(&command.args) {
            if let Err(e) = parse(&args) {
                let first = e.to_string();
                let first = first.lines().next().unwrap_or_default().to_string();
                problems.push(format!(
                    "{}: keysweep {} does not parse: {first}",
                    command.place(),
                    args.join(" ")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} command(s) in the docs do not match the binary's command line (fix the doc or the \
         CLI):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The check sees the commands: README's own, and each subcommand at least once.
    let readme = commands.iter().filter(|c| c.file == "README.md").count();
    assert!(readme >= 5, "only {readme} commands found in README.md");
    for sub in ["scan", "git", "remediate", "rules", "completions", "man"] {
        assert!(
            commands
                .iter()
                .any(|c| c.args.first().is_some_and(|a| a == sub)),
            "no `keysweep {sub}` command found in the docs"
        );
    }
    eprintln!("docs check: {} commands parsed", commands.len());
}

/// A git repository with made-up keys, an `origin/main` one commit behind HEAD, a JSON report
/// (`report.json`), and the paths the docs' examples name (`app/`, `deploy/`, `dump/`).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let pair = format!("aws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n");
    for (path, text) in [
        (".env", pair.as_str()),
        ("app/.env", pair.as_str()),
        ("deploy/.env", pair.as_str()),
        ("dump/notes.txt", "nothing here\n"),
        ("README.md", "fixture\n"),
    ] {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, text).expect("write fixture");
    }
    let git = |args: &[&str]| {
        let out = git_command(root).args(args).output().expect("run git");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "first"]);
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    fs::write(root.join("id.txt"), format!("id: {LONE_KEY}\n")).expect("write");
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "second"]);
    let report = keysweep_in(root)
        .args([
            "scan",
            "--quiet",
            "--format",
            "json",
            "-o",
            "report.json",
            "app",
        ])
        .status()
        .expect("make report.json");
    assert_eq!(report.code(), Some(1));
    dir
}

fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Doc Check")
        .env("GIT_AUTHOR_EMAIL", "docs@example.invalid")
        .env("GIT_COMMITTER_NAME", "Doc Check")
        .env("GIT_COMMITTER_EMAIL", "docs@example.invalid");
    cmd
}

/// The release binary in `dir`, with no AWS settings from the caller's environment.
fn keysweep_in(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("keysweep"));
    cmd.current_dir(dir).stdin(Stdio::null());
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(var);
        }
    }
    cmd.env("HOME", dir).env("GIT_CONFIG_NOSYSTEM", "1");
    cmd
}

/// Whether `cli` can run on the fixture: no network (`--verify`), no unexpanded variable, and
/// every file it reads is a relative path that exists there.
fn runnable(cli: &Cli, args: &[String], dir: &Path) -> bool {
    if args.iter().any(|a| a.contains('$')) {
        return false;
    }
    let exists = |p: &Path| p.is_relative() && (p == Path::new("-") || dir.join(p).exists());
    let common_ok = |c: &crate::cli_args::CommonArgs| {
        c.verify.is_none()
            && [&c.rules, &c.baseline, &c.config]
                .iter()
                .all(|p| p.as_deref().is_none_or(exists))
    };
    match &cli.command {
        Sub::Scan(a) => a.paths.iter().all(|p| exists(p)) && common_ok(&a.common),
        Sub::Git(a) => exists(&a.repo) && a.since_commit.is_none() && common_ok(&a.common),
        Sub::Remediate(a) => a.report.as_deref().is_some_and(exists),
        Sub::Rules(RulesCommand::List { rules }) => rules.as_deref().is_none_or(exists),
        Sub::Rules(RulesCommand::Check { dir: d }) => d.as_deref().is_none_or(exists),
        Sub::Completions { .. } | Sub::Man { .. } => true,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

#[test]
fn doc_commands_whose_inputs_exist_run_on_a_fixture() {
    let (commands, _) = all_commands();
    let fixture = fixture();
    let dir = fixture.path();
    let (mut ran, mut failures) = (0, Vec::new());
    for command in &commands {
        for args in expand(&command.args) {
            let Ok(Some(cli)) = parse(&args) else {
                continue;
            };
            if !runnable(&cli, &args, dir) {
                continue;
            }
            ran += 1;
            let out = keysweep_in(dir).args(&args).output().expect("run keysweep");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            // Clean, findings, or the `--exit-code` asked for findings.
            let findings_code = match &cli.command {
                Sub::Scan(a) => a.common.print.exit_code,
                Sub::Git(a) => a.common.print.exit_code,
                _ => 1,
            };
            let expected = [Some(0), Some(1), Some(findings_code)];
            if !expected.contains(&code) || stderr.contains("error:") {
                failures.push(format!(
                    "{}: keysweep {} exited {code:?} in the doc fixture:\n{stderr}",
                    command.place(),
                    args.join(" ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} doc command(s) failed when run:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        ran >= 20,
        "only {ran} doc commands were runnable on the fixture"
    );
    eprintln!(
        "docs check: {ran} of {} commands run on the fixture",
        commands.len()
    );
}

/// The extractor itself: what it takes from markdown and what it leaves.
#[test]
fn extractor_finds_commands_in_every_form_and_nothing_else() {
    let md = "\
Prose with `keysweep scan -q .` inline and `keysweep:allow` (a marker, not a command).

    keysweep git --staged            # comment

    $ keysweep rules list
    keysweep rules list prints this output line, not a command
    keysweep: scanned 3 files

    zcat x.gz | keysweep scan -
    cargo run --release -- scan <path>

```yaml
  - keysweep git --range \"$BASE..$HEAD\" --format sarif
    entry: keysweep git --staged
```

```sh
keysweep scan --format json \\
  --output 'my report.json' . 2>/dev/null
keysweep man > keysweep.1
```
    keysweep playbook: done.
";
    let found: Vec<(usize, Vec<String>)> = commands_in("x.md", md)
        .into_iter()
        .map(|c| {
            let c = c.expect("splits");
            (c.line, c.args)
        })
        .collect();
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert_eq!(
        found,
        vec![
            (1, words("scan -q .")),
            (3, words("git --staged")),
            (5, words("rules list")),
            (9, words("scan -")),
            (10, words("scan <path>")),
            (13, words("git --range $BASE..$HEAD --format sarif")),
            (14, words("git --staged")),
            (
                18,
                vec![
                    "scan".into(),
                    "--format".into(),
                    "json".into(),
                    "--output".into(),
                    "my report.json".into(),
                    ".".into()
                ]
            ),
            (20, words("man")),
        ]
    );
    assert_eq!(
        expand(&words("rules list|check [DIR] <path>")),
        vec![words("rules list path"), words("rules check path")]
    );
    // A wrong command is caught, with its place.
    let bad = commands_in("y.md", "    keysweep scan --no-such-flag .\n");
    let bad = bad[0].as_ref().expect("splits");
    assert!(parse(&bad.args).is_err());
    assert_eq!(bad.place(), "y.md:1: `keysweep scan --no-such-flag .`");
}
