//! What the binary ships besides scanning: shell completions and man pages generated from
//! its command-line definitions, and a `--version` that names the build.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::keysweep;

fn stdout(args: &[&str]) -> String {
    let out = keysweep().args(args).output().expect("run keysweep");
    assert_eq!(
        out.status.code(),
        Some(0),
        "keysweep {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Options every completion script must offer: one per subcommand and the scan options.
const SCAN_OPTIONS: &[&str] = &[
    "--format",
    "--output",
    "--show-secrets",
    "--no-ignore",
    "--archive-depth",
    "--baseline",
    "--verify",
];

#[test]
fn completion_scripts_cover_every_command_and_option() {
    let markers = [
        ("bash", "complete -F _keysweep"),
        ("zsh", "#compdef keysweep"),
        ("fish", "complete -c keysweep"),
        ("powershell", "Register-ArgumentCompleter"),
    ];
    for (shell, marker) in markers {
        let script = stdout(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no `{marker}`:\n{script}");
        for word in ["scan", "git", "remediate", "rules", "completions", "man"]
            .iter()
            .chain(SCAN_OPTIONS)
        {
            let bare = word.trim_start_matches('-');
            assert!(script.contains(bare), "{shell}: `{word}` missing");
        }
    }
}

#[test]
fn unknown_shell_is_a_usage_error_naming_the_choices() {
    let out = keysweep()
        .args(["completions", "tcsh"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
}

/// Runs bash's completion function on a partial command line; returns the candidates.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let current = words.len() - 1;
    let line = words.join(" ");
    let program = format!(
        "source {script}\nCOMP_WORDS=({words})\nCOMP_CWORD={current}\nCOMP_LINE='{line}'\n\
         COMP_POINT=${{#COMP_LINE}}\n_keysweep keysweep '{last}' '{prev}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script.display(),
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        last = words[current],
        prev = words[current.saturating_sub(1)],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_options_and_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("keysweep.bash");
    std::fs::write(&script, stdout(&["completions", "bash"])).expect("write script");

    let subs = bash_complete(&script, &["keysweep", "sc"]);
    assert_eq!(subs, vec!["scan"], "{subs:?}");
    let opts = bash_complete(&script, &["keysweep", "scan", "--show"]);
    assert_eq!(opts, vec!["--show-secrets"], "{opts:?}");
    let mut formats = bash_complete(&script, &["keysweep", "scan", "--format", ""]);
    formats.sort();
    assert_eq!(
        formats,
        vec!["html", "json", "jsonl", "sarif", "text"],
        "{formats:?}"
    );
    let shells = bash_complete(&script, &["keysweep", "completions", "p"]);
    assert_eq!(shells, vec!["powershell"], "{shells:?}");
}

#[test]
fn man_page_documents_every_command() {
    let page = stdout(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH keysweep 1"),
        "{page}"
    );
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH SUBCOMMANDS",
    ] {
        assert!(page.contains(section), "no {section}:\n{page}");
    }
    for sub in [
        "keysweep\\-scan(1)",
        "keysweep\\-git(1)",
        "keysweep\\-remediate(1)",
    ] {
        assert!(page.contains(sub), "no {sub}:\n{page}");
    }
    assert!(page.contains(env!("CARGO_PKG_VERSION")), "{page}");
    // groff (man's renderer) reads it without a warning, when the machine has it.
    let groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    match groff {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(page.as_bytes())
                .expect("write to groff");
            let out = child.wait_with_output().expect("groff");
            assert!(out.status.success());
            let warnings = String::from_utf8_lossy(&out.stderr);
            assert!(warnings.trim().is_empty(), "groff: {warnings}");
        }
        Err(e) => eprintln!("groff not run ({e}): the page was checked as text only"),
    }
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("man1");
    let out = keysweep()
        .args(["man", "--dir"])
        .arg(&target)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mut names: Vec<String> = std::fs::read_dir(&target)
        .expect("read man dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for page in [
        "keysweep.1",
        "keysweep-scan.1",
        "keysweep-git.1",
        "keysweep-remediate.1",
        "keysweep-rules.1",
        "keysweep-rules-list.1",
        "keysweep-rules-check.1",
        "keysweep-completions.1",
        "keysweep-man.1",
    ] {
        assert!(names.iter().any(|n| n == page), "{page} missing: {names:?}");
    }
    let scan = std::fs::read_to_string(target.join("keysweep-scan.1")).expect("read page");
    assert!(scan.contains("show\\-secrets"), "{scan}");
    assert!(scan.contains("archive\\-depth"), "{scan}");
}

#[test]
fn man_dir_that_cannot_be_written_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let out = keysweep()
        .args(["man", "--dir"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-a-dir"), "{err}");
}

#[test]
fn version_names_the_commit_of_a_checkout() {
    let version = stdout(&["--version"]);
    let pkg = env!("CARGO_PKG_VERSION");
    assert!(version.starts_with(&format!("keysweep {pkg}")), "{version}");
    // The commit this source tree is at, when it is a git checkout of its own.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"]);
    let own_checkout =
        top.is_some_and(|t| Path::new(&t).canonicalize().ok() == root.canonicalize().ok());
    if own_checkout {
        let head = git(&["rev-parse", "--short=12", "HEAD"]).expect("HEAD");
        assert!(
            version.contains(&format!("(commit {head}, ")),
            "built from checkout at {head}, but: {version}"
        );
    } else {
        assert_eq!(version.trim(), format!("keysweep {pkg}"));
    }
}
