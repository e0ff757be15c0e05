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

/// The pinned tools, one requirement each (the Bedrock generator needs only botocore). moto 5.2.1 and awscli 1.45.11 both accept
/// botocore 1.43.x (awscli pins it exactly; moto's boto3 follows), so pip resolves them
/// together; pre-commit's dependencies do not overlap with theirs.
pub const REQUIREMENTS: &[&str] = &[
    "moto[server]==5.2.1",
    "awscli==1.45.11",
    "pre-commit==4.7.0",
    // tests/bedrock.rs makes real short-term Bedrock API keys with AWS's own generator.
    "aws-bedrock-token-generator==1.1.0",
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
    VENV.get_or_init(|| match ensure_in(&tools_dir(), REQUIREMENTS, &[]) {
        Ok((venv, _)) => venv,
        Err(e) => panic!("keysweep tests: {e}"),
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
fn pins(requirements: &[&str]) -> String {
    requirements.join("\n") + "\n"
}

/// The venv for `requirements` under `root`, made if it is not ready yet; `true` when this
/// call made it. Callers in other threads or processes wait on `root/lock` meanwhile and then
/// find it ready; a venv without its `ready` marker (an interrupted run) is made again.
pub fn ensure_in(
    root: &Path,
    requirements: &[&str],
    env: &[(&str, &str)],
) -> Result<(PathBuf, bool), String> {
    let pins = pins(requirements);
    let venv = root.join(format!("venv-{:016x}", fnv1a(&pins)));
    let marker = venv.join("ready");
    let is_ready = || fs::read_to_string(&marker).is_ok_and(|text| text == pins);
    if is_ready() {
        return Ok((venv, false));
    }
    // Blocks while another thread or process is making a venv; released when `lock` drops.
    let _lock = lock_in(root, "lock")?;
    if is_ready() {
        return Ok((venv, false));
    }
    if venv.exists() {
        fs::remove_dir_all(&venv)
            .map_err(|e| format!("cannot remove the unfinished {}: {e}", venv.display()))?;
    }
    eprintln!(
        "keysweep tests: installing {} into {} (once; later runs reuse it)",
        requirements.join(" "),
        venv.display()
    );
    make_venv(&venv, requirements, env)?;
    let tmp = venv.join("ready.tmp");
    fs::write(&tmp, &pins)
        .and_then(|()| fs::rename(&tmp, &marker))
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok((venv, true))
}

/// Creates a venv at `venv` and pip-installs `requirements` into it, with `env` added to pip's
/// environment. The error says which step failed, names the packages pip could not get, and
/// ends with the tail of pip's output.
pub fn make_venv(venv: &Path, requirements: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let python = find_python()?;
    let mut make = Command::new(&python);
    make.arg("-m").arg("venv").arg(venv);
    if requirements.is_empty() {
        make.arg("--without-pip");
    }
    run(
        &mut make,
        &format!("{} -m venv {}", python.display(), venv.display()),
        requirements,
    )?;
    if requirements.is_empty() {
        return Ok(());
    }
    let mut pip = Command::new(venv.join("bin").join("python"));
    pip.args([
        "-m",
        "pip",
        "install",
        "--no-input",
        "--disable-pip-version-check",
    ])
    .args(["--quiet"])
    .args(requirements)
    .envs(env.iter().copied());
    run(
        &mut pip,
        &format!("pip install {}", requirements.join(" ")),
        requirements,
    )
}

/// Runs a set-up step; the error names the step, the requirements pip could not get, and the
/// tail of its output.
fn run(cmd: &mut Command, what: &str, requirements: &[&str]) -> Result<(), String> {
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
        .map_err(|e| format!("cannot run `{what}`: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lower = text.to_ascii_lowercase();
    let named: Vec<&str> = requirements
        .iter()
        .copied()
        .filter(|req| {
            let name = req
                .split(['[', '='])
                .next()
                .unwrap_or(req)
                .to_ascii_lowercase();
            lower
                .lines()
                .any(|l| l.contains("error") && l.contains(&name))
        })
        .collect();
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!(
        "`{what}` failed ({}): could not install {} for the tests that need them. Is the \
         package registry reachable from this machine (pip's own settings apply)? Fix the \
         cause and run the tests again.\n{}",
        out.status,
        if named.is_empty() {
            requirements.join(", ")
        } else {
            named.join(", ")
        },
        tail.join("\n")
    ))
}

/// A Python 3 that can make a venv with pip in it: `$KEYSWEEP_TEST_PYTHON`, else `python3` on
/// PATH, else the system's `/usr/bin/python3`.
fn find_python() -> Result<PathBuf, String> {
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
            return Ok(python);
        }
        tried.push(python.display().to_string());
    }
    Err(format!(
        "no Python 3.9+ with the venv and ensurepip modules (tried {}): install Python 3 with \
         venv support (Debian/Ubuntu: apt-get install python3-venv) or set {PYTHON_ENV} to \
         one; the tests install {} into a venv under target/ with it",
        tried.join(", "),
        REQUIREMENTS.join(" ")
    ))
}

/// FNV-1a, 64 bits: names the venv after its pins (no hashing crate for one name).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Debian's Chromium, for the test that opens the HTML report in a real browser: found on
/// `PATH`, else installed once with `apt-get` (as root, or through password-less `sudo`), so
/// `cargo test --release` needs no set-up step on a fresh Debian machine either. Panics with
/// what to install when neither works: never a silent skip.
pub fn chromium() -> PathBuf {
    static CHROMIUM: OnceLock<PathBuf> = OnceLock::new();
    CHROMIUM
        .get_or_init(|| {
            if let Some(path) = find_chromium() {
                return path;
            }
            match install_chromium() {
                Ok(()) => find_chromium().unwrap_or_else(|| {
                    panic!("keysweep tests: apt-get installed chromium but it is not on PATH")
                }),
                Err(e) => panic!(
                    "keysweep tests: chromium is not installed and {e}: install Debian's \
                     chromium package"
                ),
            }
        })
        .clone()
}

fn find_chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    })
}

/// `apt-get install chromium` (after `apt-get update` if the package lists are stale), holding
/// `target/pytools/apt.lock` so concurrent tests install it once.
fn install_chromium() -> Result<(), String> {
    let _lock = lock_in(&tools_dir(), "apt.lock")?;
    if find_chromium().is_some() {
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if is_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd.output()
    };
    eprintln!("keysweep tests: installing Debian's chromium with apt-get (once)");
    let install = ["install", "-y", "-qq", "chromium"];
    match apt(&install) {
        Ok(out) if out.status.success() => return Ok(()),
        Err(e) => return Err(format!("apt-get could not run ({e})")),
        Ok(_) => {}
    }
    let _ = apt(&["update", "-qq"]);
    match apt(&install) {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`apt-get install chromium` failed{}: {}",
            if is_root { "" } else { " (through sudo -n)" },
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("apt-get could not run ({e})")),
    }
}

/// An exclusive lock on `root/name` (created if needed), held until the file is dropped:
/// other threads and processes wait on it.
fn lock_in(root: &Path, name: &str) -> Result<File, String> {
    fs::create_dir_all(root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let path = root.join(name);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(lock)
}
