//! The tests' own PyPI tools (tests/common/pytools.rs): made once, whoever asks first, race-free; made
//! again when an earlier run was interrupted; and a machine that cannot reach the package
//! registry gets an error naming the packages, never a skipped test.

use crate::common::pytools;

use std::net::TcpListener;

#[test]
fn concurrent_first_use_makes_one_venv() {
    let root = tempfile::tempdir().expect("tempdir");
    let results: Vec<(std::path::PathBuf, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| pytools::ensure_in(root.path(), &[], &[])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("venv"))
            .collect()
    });
    let made = results.iter().filter(|(_, made)| *made).count();
    assert_eq!(made, 1, "{results:?}");
    assert!(
        results.iter().all(|(p, _)| *p == results[0].0),
        "{results:?}"
    );
    assert!(results[0].0.join("bin").join("python").exists());
    // Later callers reuse it.
    let (again, made) = pytools::ensure_in(root.path(), &[], &[]).expect("venv");
    assert_eq!((again, made), (results[0].0.clone(), false));
}

#[test]
fn an_unfinished_venv_is_made_again() {
    let root = tempfile::tempdir().expect("tempdir");
    let (venv, _) = pytools::ensure_in(root.path(), &[], &[]).expect("venv");
    // An interrupted run: no ready marker, something half-written.
    std::fs::remove_file(venv.join("ready")).expect("remove marker");
    std::fs::write(venv.join("half-written"), "x").expect("write");
    let (again, made) = pytools::ensure_in(root.path(), &[], &[]).expect("venv");
    assert_eq!(again, venv);
    assert!(made);
    assert!(!venv.join("half-written").exists());
    assert!(venv.join("ready").exists());
}

#[test]
fn unreachable_registry_fails_naming_the_package() {
    let root = tempfile::tempdir().expect("tempdir");
    let no_links = tempfile::tempdir().expect("tempdir");
    // A loopback port nothing listens on stands for a registry that cannot be reached.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let index = format!("http://127.0.0.1:{port}/simple");
    let links = no_links.path().display().to_string();
    let err = pytools::ensure_in(
        root.path(),
        &["pre-commit==4.7.0"],
        &[
            ("PIP_CONFIG_FILE", "/dev/null"),
            ("PIP_INDEX_URL", &index),
            ("PIP_EXTRA_INDEX_URL", ""),
            ("PIP_FIND_LINKS", &links),
            ("PIP_NO_CACHE_DIR", "1"),
            ("PIP_RETRIES", "0"),
            ("PIP_TIMEOUT", "5"),
        ],
    )
    .expect_err("nothing to install from");
    eprintln!("the error a machine without the registry gets:\n{err}");
    assert!(err.contains("could not install pre-commit==4.7.0"), "{err}");
    assert!(err.contains("registry"), "{err}");
    // No ready marker: the next run tries again instead of using a venv without the tools.
    let ready = std::fs::read_dir(root.path())
        .expect("read root")
        .filter_map(Result::ok)
        .any(|e| e.path().join("ready").exists());
    assert!(!ready);
}
