//! `keysweep git`: a repository's history, a range (the pull-request gate) or the staged
//! changes (the pre-commit hook).

use anyhow::{Context, Result};

use keysweep::config::ScanRoot;
use keysweep::input::git::{self, GitOptions, Selection};
use keysweep::input::remote;
use keysweep::policy::BaseTree;

use crate::cli::GitArgs;
use crate::setup::{archive_options, Setup};
use crate::threads;

pub fn run(args: GitArgs) -> Result<u8> {
    let selection = if args.staged {
        Selection::Staged
    } else if let Some(range) = &args.range {
        let (base, head) = git::parse_range(range)?;
        Selection::Range { base, head }
    } else if let Some(base) = &args.since_commit {
        Selection::Range {
            base: base.clone(),
            head: "HEAD".into(),
        }
    } else {
        Selection::History {
            all_objects: args.all_objects,
        }
    };
    let url = args.repo.to_str().filter(|s| remote::is_remote(s));
    if url.is_none() && args.keep_clone.is_some() {
        anyhow::bail!("--keep-clone needs a repository URL");
    }
    // A remote repository is cloned bare (removed when `clone` drops, unless kept). Policy
    // never comes from it: config from where keysweep runs, a range's from its BASE.
    let clone = match url {
        Some(url) => {
            if selection == Selection::Staged {
                anyhow::bail!("--staged needs a local repository (a clone has no index)");
            }
            Some(remote::clone(url, args.keep_clone.as_deref())?)
        }
        None => None,
    };
    let repo = clone.as_ref().map_or(args.repo.as_path(), |c| c.dir());
    let root = ScanRoot::repository(repo).context("cannot read the working directory")?;
    // A range is a review of HEAD: policy comes from BASE.
    let base = match &selection {
        Selection::Range { base, head } => Some(BaseTree::open(repo, base, head)?),
        _ => None,
    };
    let setup = Setup::new(&args.common, root, base)?;
    let mut opts = GitOptions::new(selection);
    opts.threads = threads(args.common.threads);
    opts.archive = archive_options(&args.archive, &setup.config);
    opts.shard = args.shard.unwrap_or_default();
    opts.decode_depth = args.archive.decode_depth;
    let scanned = keysweep::scan::scan_git(&setup.detector, repo, &opts)?;
    for warning in &scanned.notes {
        note!("keysweep: warning: {warning}");
    }
    crate::output::finish(scanned, &args.common, &setup, args.allow_policy_change)
}
