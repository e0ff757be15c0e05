//! The whole history: every blob any ref reaches (and, with `all_objects`, every blob in the
//! object database), each scanned once.

use git2::Repository;

use super::catalog::{add_unreachable, head_tree_blobs, ids_in_shard, tips, Catalog};
use super::pool::{jobs_in_pack_order, scan_blobs};
use super::provenance::{finish_findings, other_parts_at_head};
use super::{git, GitError, GitOptions};
use crate::input::{Outcome, Sinks};

pub(super) fn scan_history(
    sinks: &Sinks<'_>,
    repo: &Repository,
    all_objects: bool,
    opts: &GitOptions,
    warnings: &mut Vec<String>,
) -> Result<Outcome, GitError> {
    let tips = tips(repo, warnings)?;
    let mut catalog = Catalog::default();
    catalog.add_commits(repo, &tips.commits, &[], warnings)?;
    let mut prefix = String::new();
    for (name, id) in &tips.trees {
        prefix.clear();
        prefix.push_str(name);
        catalog
            .add_tree(repo, *id, &mut prefix, None)
            .map_err(git(format!("cannot read the tree {name} points at")))?;
    }
    for (name, id) in &tips.blobs {
        catalog.add_blob(*id, name, None);
    }
    if all_objects {
        add_unreachable(repo, &mut catalog, &tips.commits, warnings)?;
    }

    let ids = ids_in_shard(&catalog, opts.shard);
    let jobs = jobs_in_pack_order(repo, &catalog, &ids);
    let mut scanned = scan_blobs(sinks, repo.path(), &jobs, opts.threads);
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id());
    let head_blobs = head_tree_blobs(repo, head)?;
    let found = std::mem::take(&mut scanned.findings);
    let (others, errors) =
        other_parts_at_head(sinks, repo, &catalog, &jobs, &found, &head_blobs, opts);
    let findings = finish_findings(repo, &catalog, &jobs, found, &head_blobs, others);
    scanned.rest.errors.extend(errors);
    Ok(scanned.into_outcome(findings))
}
