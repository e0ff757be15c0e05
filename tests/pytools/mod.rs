//! The PyPI tools the tests drive (`moto_server`, `aws`, `pre-commit`), installed on first use
//! into one project-local virtual environment under the cargo target directory, with pinned
//! versions, so `cargo test --release` needs no set-up step on a fresh machine.
//!
//! Every test binary that needs a tool calls [`bin`]. The first caller creates the venv while
//! holding an exclusive lock on `target/pytools/lock`; every other caller, in this process or in
//! another test binary, waits on that lock and then finds the venv ready (a `ready` marker,
//! written last, holds the pins it was made with). A venv left half-made by a killed run has no
//! marker and is made again. A machine that cannot install the tools fails the test with the
//! packages named: never a silent skip.

#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The pinned tools, one requirement each. moto 5.2.1 and awscli 1.45.11 both accept
/// botocore 1.43.x (awscli pins it exactly; moto's boto3 follows), so pip resolves them
/// together; pre-commit's dependencies do not overlap with theirs.
pub const REQUIREMENTS: &[&str] = &[
    "moto[server]==5.2.1",
    "awscli==1.45.11",
    "pre-commit==4.7.0",
];

/// Overrides the interpreter used to create the venv (it needs the `venv` and `ensurepip`
/// modules).
const PYTHON_ENV: &str = "KEYSWEEP_TEST_PYTHON";

/// The path of `name` (e.g. `"moto_server"`) in the tools' venv, creating the venv first if
/// needed. Panics with what to do when the venv cannot be made.
pub fn bin(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(
        path.is_file(),
        "{} is not in the test tools' venv {}: delete that directory and run the tests again",
        name,
        venv().display()
    );
    path
}

/// The venv's `bin` directory, to put first on a child's PATH (a playbook calls `aws` by name).
pub fn bin_dir() -> PathBuf {
    venv().join("bin")
}

/// `PATH` with the venv's `bin` directory first.
pub fn path_with_tools() -> std::ffi::OsString {
    let mut dirs = vec![bin_dir()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_else(|e| panic!("cannot build PATH: {e}"))
}

/// The ready venv, made once per process (and once per target directory across processes).
fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let root = tools_dir();
        let venv = root.join(format!("venv-{:016x}", fnv1a(&pins())));
        ensure(&root, &venv);
        venv
    })
}

/// `<target dir>/pytools`: next to the build, so `cargo clean` removes it and a new checkout
/// (new target directory) makes its own.
fn tools_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`, set by cargo for integration tests.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("pytools")
}

/// The pins as one text: the venv's name is derived from it and its `ready` marker holds it.
fn pins() -> String {
    REQUIREMENTS.join("\n") + "\n"
}

fn ensure(root: &Path, venv: &Path) {
    let marker = venv.join("ready");
    if is_ready(&marker) {
        return;
    }
    fs::create_dir_all(root).unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
    let lock_path = root.join("lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", lock_path.display()));
    // Blocks while another test binary is making the venv; released when `lock` drops.
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
    if is_ready(&marker) {
        return;
    }
    if venv.exists() {
        // Left half-made by an interrupted run.
        fs::remove_dir_all(venv)
            .unwrap_or_else(|e| panic!("cannot remove the unfinished {}: {e}", venv.display()));
    }
    let python = find_python();
    eprintln!(
        "keysweep tests: installing {} into {} (once; later runs reuse it)",
        REQUIREMENTS.join(" "),
        venv.display()
    );
    run(
        Command::new(&python).arg("-m").arg("venv").arg(venv),
        &format!("{} -m venv {}", python.display(), venv.display()),
        "",
    );
    let pip = venv.join("bin").join("python");
    run(
        Command::new(&pip)
            .args([
                "-m",
                "pip",
                "install",
                "--no-input",
                "--disable-pip-version-check",
            ])
            .args(["--quiet"])
            .args(REQUIREMENTS),
        &format!("pip install {}", REQUIREMENTS.join(" ")),
        "is the package registry reachable from this machine? ",
    );
    let tmp = venv.join("ready.tmp");
    fs::write(&tmp, pins())
        .and_then(|()| fs::rename(&tmp, &marker))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", marker.display()));
}

fn is_ready(marker: &Path) -> bool {
    fs::read_to_string(marker).is_ok_and(|text| text == pins())
}

/// Runs a set-up step; on failure panics naming the step, the packages pip could not get, and
/// the tail of its output.
fn run(cmd: &mut Command, what: &str, hint: &str) {
    for var in [
        "PYTHONPATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
        "PIP_REQUIRE_VIRTUALENV",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("keysweep tests: cannot run `{what}`: {e}"));
    if out.status.success() {
        return;
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let named: Vec<&str> = REQUIREMENTS
        .iter()
        .copied()
        .filter(|req| {
            let name = req.split(['[', '=']).next().unwrap_or(req);
            text.lines()
                .any(|l| l.contains("ERROR") && l.to_ascii_lowercase().contains(name))
        })
        .collect();
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    panic!(
        "keysweep tests: `{what}` failed ({}): {}could not install {} for the tests that need \
         them; fix the cause and run the tests again (or run `pip install {}` into the venv \
         yourself).\n{}",
        out.status,
        hint,
        if named.is_empty() {
            REQUIREMENTS.join(", ")
        } else {
            named.join(", ")
        },
        REQUIREMENTS.join(" "),
        tail.join("\n")
    );
}

/// A Python 3 that can make a venv with pip in it: `$KEYSWEEP_TEST_PYTHON`, else `python3` on
/// PATH, else the system's `/usr/bin/python3`.
fn find_python() -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os(PYTHON_ENV) {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(PathBuf::from("python3"));
    candidates.push(PathBuf::from("/usr/bin/python3"));
    let mut tried = Vec::new();
    for python in candidates {
        let ok = Command::new(&python)
            .args([
                "-c",
                "import venv, ensurepip, sys; assert sys.version_info >= (3, 9)",
            ])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return python;
        }
        tried.push(python.display().to_string());
    }
    panic!(
        "keysweep tests: no Python 3.9+ with the venv and ensurepip modules (tried {}): install \
         Python 3 with venv support (Debian/Ubuntu: apt-get install python3-venv) or set \
         {PYTHON_ENV} to one; the tests install {} into a venv under target/ with it",
        tried.join(", "),
        REQUIREMENTS.join(" ")
    );
}

/// FNV-1a, 64 bits: names the venv after its pins (no hashing crate for one name).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
