//! `keysweep completions` and `keysweep man`: the manual the binary carries, generated from
//! the clap definitions in [`crate::cli`] so it always matches the options.

use std::io::{self, Write};

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Writes the completion script for `shell` to `out`.
fn write_completions(shell: Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "keysweep", out);
}

/// Writes the man page of `keysweep` (roff) to `out`.
fn man_page(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Writes `keysweep.1` and one `keysweep-COMMAND.1` page per (sub)command into `dir`, creating
/// it if needed; returns the pages written.
fn man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    collect_pages(&cmd, dir, &mut pages);
    clap_mangen::generate_to(cmd, dir)?;
    Ok(pages)
}

/// The files [`clap_mangen::generate_to`] writes for `cmd` and its subcommands.
fn collect_pages(cmd: &clap::Command, dir: &Path, pages: &mut Vec<PathBuf>) {
    pages.push(dir.join(clap_mangen::Man::new(cmd.clone()).get_filename()));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect_pages(sub, dir, pages);
    }
}

pub fn completions(shell: clap_complete::Shell) -> Result<u8> {
    let mut out = Vec::new();
    write_completions(shell, &mut out);
    write_stdout(&out, "the completion script")
}

pub fn man(dir: Option<&Path>) -> Result<u8> {
    match dir {
        Some(dir) => {
            let pages = man_pages(dir)
                .with_context(|| format!("{}: cannot write the man pages", dir.display()))?;
            note!(
                "keysweep: wrote {} man pages into {} (e.g. man -l {})",
                pages.len(),
                dir.display(),
                dir.join("keysweep.1").display()
            );
            Ok(0)
        }
        None => {
            let mut out = Vec::new();
            man_page(&mut out).context("cannot render the man page")?;
            write_stdout(&out, "the man page")
        }
    }
}

/// Writes generated text to stdout; a reader that stopped early is not an error.
fn write_stdout(bytes: &[u8], what: &str) -> Result<u8> {
    match io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(e).with_context(|| format!("cannot write {what} to stdout"))
        }
        _ => Ok(0),
    }
}
