//! The manual the binary carries: shell completion scripts and man pages, generated from the
//! clap definitions in [`crate::cli`] so they always match the options.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "keysweep", out);
}

/// Writes the man page of `keysweep` (roff) to `out`.
pub fn man_page(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Writes `keysweep.1` and one `keysweep-COMMAND.1` page per (sub)command into `dir`, creating
/// it if needed; returns the pages written.
pub fn man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
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
