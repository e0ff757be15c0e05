//! Replays the fuzz targets' committed inputs in the normal test suite: the seeds
//! (`fuzz/seeds/TARGET/`) and every crash the fuzzers found (`fuzz/regressions/TARGET/`,
//! minimised), through the same target functions the fuzzers run (`fuzz/src/targets.rs`), so
//! a fixed crash cannot come back unnoticed. Also checks that the playbook checker of the
//! `remediate` target rejects injected shell.

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;

use std::path::Path;

/// A fuzz target's body.
type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("detect", targets::detect),
    ("archive_zip", targets::archive_zip),
    ("archive_tar", targets::archive_tar),
    ("archive_gzip", targets::archive_gzip),
    ("archive_bzip2", targets::archive_bzip2),
    ("archive_xz", targets::archive_xz),
    ("archive_zstd", targets::archive_zstd),
    ("archive_nested", targets::archive_nested),
    ("config", targets::config),
    ("rules", targets::rules),
    ("report", targets::report),
    ("git_pack", targets::git_pack),
    ("remediate", targets::remediate),
];

/// Runs `run` on every file of `dir` (none when it does not exist); returns how many.
fn replay(dir: &Path, run: Target) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        eprintln!("replaying {}", file.display());
        run(&data);
    }
    files.len()
}

#[test]
fn every_seed_and_kept_crash_passes_its_target() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, run) in TARGETS {
        let seeds = replay(&fuzz.join("seeds").join(name), *run);
        assert!(seeds > 0, "fuzz target {name} has no seeds");
        replay(&fuzz.join("regressions").join(name), *run);
    }
}

/// Every fuzz target has its binary and is replayed here.
#[test]
fn every_target_is_replayed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut bins: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            path.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    bins.sort();
    let mut replayed: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    replayed.sort();
    assert_eq!(bins, replayed);
}

/// The checker accepts keysweep's own playbook and rejects one where report data became
/// shell: a command substitution, a second command on the line, an extra line.
#[test]
fn playbook_checker_rejects_injected_shell() {
    let report = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/remediate/array.json"),
    )
    .unwrap();
    let findings = keysweep::remediate::read_report(&report).unwrap();
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_750_000_000);
    let groups = keysweep::remediate::group(&findings, keysweep::remediate::Lang::En, now);
    let script = keysweep::remediate::shell(&groups, keysweep::remediate::Lang::En, now);
    targets::check_script(&script).unwrap();
    let key = "AKIAR7VZ3MOXQ4JTLW2N";
    assert!(script.contains(&format!("--access-key-id {key}")));
    for bad in [
        format!("--access-key-id {key}$(touch /tmp/x)"),
        format!("--access-key-id {key}; touch /tmp/x"),
        format!("--access-key-id {key}\ntouch /tmp/x\n"),
        format!("--access-key-id {key}`id`"),
        format!("--access-key-id '{key}"),
    ] {
        let injected = script.replace(&format!("--access-key-id {key}"), &bad);
        assert!(
            targets::check_script(&injected).is_err(),
            "checker accepted {bad:?}"
        );
    }
}
