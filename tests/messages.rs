//! What keysweep says about what it did: a scan names where it looked in its one summary line
//! (also when there was nothing to scan), and every error names the input and what to do.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::keysweep;

fn run_in(dir: &Path, args: &[&str]) -> Output {
    keysweep()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run keysweep")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn scan_with_no_argument_names_the_directory_in_one_line() {
    // An empty directory that is not in a repository.
    let dir = tempfile::tempdir().expect("tempdir");
    let here = dir.path().canonicalize().expect("canonical");
    let out = run_in(&here, &["scan"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("under the current directory ({})", here.display())),
        "{err}"
    );
    assert!(err.contains("the directory has no files"), "{err}");
    assert!(out.stdout.is_empty());

    // The same directory with a file in it.
    std::fs::write(here.join("notes.txt"), "nothing secret\n").expect("write");
    let out = run_in(&here, &["scan"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("scanned 1 file "), "{err}");
    assert!(err.contains("under the current directory"), "{err}");
    assert!(!err.contains("no files"), "{err}");

    // A directory named on the command line is named as given.
    let sub = here.join("empty");
    std::fs::create_dir(&sub).expect("mkdir");
    let out = run_in(&here, &["scan", "empty"]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("under empty ") && err.contains("the directory has no files"),
        "{err}"
    );
}

/// (arguments, what the error must name, what it must say to do)
const ERRORS: &[(&[&str], &str, &str)] = &[
    (&["scan", "no-such-file"], "no-such-file", "check the path"),
    (&["git"], "not a git repository", "keysweep scan"),
    (
        &["git", "--range", "nosuch..HEAD"],
        "\"nosuch\"",
        "git fetch",
    ),
    (
        &["scan", "--baseline", "missing.json", "."],
        "missing.json",
        "--write-baseline",
    ),
    (
        &["remediate", "bad.json"],
        "bad.json",
        "keysweep scan --format json",
    ),
    (&["rules", "check", "empty"], "empty", "rule files"),
    (&["completions", "tcsh"], "tcsh", "possible values"),
];

#[test]
fn errors_name_the_input_and_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bad.json"), "not json\n").expect("write");
    std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
    let repo = tempfile::tempdir().expect("tempdir");
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo.path())
        .status()
        .expect("git init");
    assert!(git.success());
    for (args, input, todo) in ERRORS {
        // The range case needs a repository; the others run outside one.
        let cwd = if args.contains(&"--range") {
            repo.path()
        } else {
            dir.path()
        };
        let out = run_in(cwd, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(input),
            "{args:?} does not name {input:?}: {err}"
        );
        assert!(err.contains(todo), "{args:?} does not say {todo:?}: {err}");
        // Each cause is said once.
        let first = err.lines().next().unwrap_or_default();
        for cause in first.split(": ") {
            if cause.len() > 12 {
                assert_eq!(
                    first.matches(cause).count(),
                    1,
                    "{args:?} repeats {cause:?}: {err}"
                );
            }
        }
    }
}
