//! `--range BASE..HEAD`: the blobs the commits in the range wrote, minus what the blobs they
//! replaced or deleted already held.

use std::collections::{HashMap, HashSet};

use git2::{Oid, Repository, Sort};

use super::catalog::{entry_kind, head_tree_blobs, ids_in_shard, push_name, Catalog, EntryKind};
use super::pool::{jobs_in_pack_order, scan_blobs};
use super::provenance::{finish_findings, material, other_parts_at_head};
use super::{git, GitError, GitOptions};
use crate::finding::Finding;
use crate::input::{Outcome, Sinks};

/// A blob written or dropped at a path by a commit.
struct Change {
    path: String,
    new: Option<Oid>,
    old: Option<Oid>,
}

/// The blob-level differences from tree `old` to tree `new` (`None`: the empty tree).
/// Identical subtrees are skipped without being read.
fn tree_changes(
    repo: &Repository,
    old: Option<Oid>,
    new: Option<Oid>,
    prefix: &mut String,
    out: &mut Vec<Change>,
) -> Result<(), git2::Error> {
    if old == new {
        return Ok(());
    }
    let mut before: HashMap<Vec<u8>, (Oid, EntryKind)> = HashMap::new();
    if let Some(old) = old {
        for e in repo.find_tree(old)?.iter() {
            before.insert(e.name_bytes().to_vec(), (e.id(), entry_kind(e.filemode())));
        }
    }
    if let Some(new) = new {
        for e in repo.find_tree(new)?.iter() {
            let (id, kind) = (e.id(), entry_kind(e.filemode()));
            let was = before.remove(e.name_bytes());
            if was.map(|w| w.0) == Some(id) {
                continue;
            }
            let len = prefix.len();
            push_name(prefix, e.name_bytes());
            let old_tree = was.filter(|w| w.1 == EntryKind::Tree).map(|w| w.0);
            let old_blob = was.filter(|w| w.1 == EntryKind::Blob).map(|w| w.0);
            match kind {
                EntryKind::Tree => {
                    tree_changes(repo, old_tree, Some(id), prefix, out)?;
                    if old_blob.is_some() {
                        out.push(Change {
                            path: prefix.clone(),
                            new: None,
                            old: old_blob,
                        });
                    }
                }
                EntryKind::Blob => {
                    out.push(Change {
                        path: prefix.clone(),
                        new: Some(id),
                        old: old_blob,
                    });
                    tree_changes(repo, old_tree, None, prefix, out)?;
                }
                EntryKind::Gitlink => {
                    if old_blob.is_some() {
                        out.push(Change {
                            path: prefix.clone(),
                            new: None,
                            old: old_blob,
                        });
                    }
                    tree_changes(repo, old_tree, None, prefix, out)?;
                }
            }
            prefix.truncate(len);
        }
    }
    for (name, (id, kind)) in before {
        let len = prefix.len();
        push_name(prefix, &name);
        match kind {
            EntryKind::Tree => tree_changes(repo, Some(id), None, prefix, out)?,
            EntryKind::Blob => out.push(Change {
                path: prefix.clone(),
                new: None,
                old: Some(id),
            }),
            EntryKind::Gitlink => {}
        }
        prefix.truncate(len);
    }
    Ok(())
}

/// What one commit changed, blob by blob.
struct CommitChanges {
    /// The blobs it wrote, with their paths.
    new: Vec<(String, Oid)>,
    /// The blobs those replaced, and the blobs it deleted.
    old: Vec<Oid>,
}

/// The blobs a commit wrote (`new`, with their paths) and the blobs they replaced or the
/// commit deleted (`old`). For a merge, only what differs from every parent counts: a file
/// taken as is from one side was written by that side's own commits.
fn commit_changes(
    repo: &Repository,
    commit: &git2::Commit<'_>,
) -> Result<CommitChanges, git2::Error> {
    let tree = commit.tree_id();
    let mut per_parent: Vec<Vec<Change>> = Vec::new();
    let parents: Vec<Oid> = commit.parent_ids().collect();
    let mut prefix = String::new();
    if parents.is_empty() {
        let mut changes = Vec::new();
        tree_changes(repo, None, Some(tree), &mut prefix, &mut changes)?;
        per_parent.push(changes);
    }
    for parent in parents {
        let parent_tree = repo.find_commit(parent)?.tree_id();
        let mut changes = Vec::new();
        prefix.clear();
        tree_changes(
            repo,
            Some(parent_tree),
            Some(tree),
            &mut prefix,
            &mut changes,
        )?;
        per_parent.push(changes);
    }
    let (first, others) = per_parent
        .split_first()
        .map_or((&[][..], &[][..]), |(f, o)| (f.as_slice(), o));
    let in_all = |c: &Change| {
        others
            .iter()
            .all(|o| o.iter().any(|d| d.path == c.path && d.new == c.new))
    };
    let mut new = Vec::new();
    let mut paths = HashSet::new();
    for change in first.iter().filter(|c| in_all(c)) {
        paths.insert(change.path.as_str());
        if let Some(id) = change.new {
            new.push((change.path.clone(), id));
        }
    }
    let old = per_parent
        .iter()
        .flatten()
        .filter(|c| paths.contains(c.path.as_str()))
        .filter_map(|c| c.old)
        .collect();
    Ok(CommitChanges { new, old })
}

fn resolve_commit(repo: &Repository, spec: &str) -> Result<Oid, GitError> {
    repo.revparse_single(spec)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|err| GitError::Git {
            context: format!(
                "cannot resolve {spec:?} to a commit{}",
                if repo.is_shallow() {
                    " (the clone is shallow: fetch the base too, e.g. with fetch-depth 0)"
                } else {
                    " (name a branch, tag or commit of this repository; fetch it first if it \
                     is on a remote, e.g. `git fetch origin`)"
                }
            ),
            err,
        })
}

pub(super) fn scan_range(
    sinks: &Sinks<'_>,
    repo: &Repository,
    base: &str,
    head: &str,
    opts: &GitOptions,
    warnings: &mut Vec<String>,
) -> Result<Outcome, GitError> {
    let base_id = resolve_commit(repo, base)?;
    let head_id = resolve_commit(repo, head)?;
    let mut walk = repo.revwalk().map_err(git("cannot walk the history"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(git("cannot walk the history"))?;
    walk.push(head_id)
        .map_err(git(format!("cannot walk from {head}")))?;
    walk.hide(base_id)
        .map_err(git(format!("cannot walk to {base}")))?;

    let mut catalog = Catalog::default();
    // Blobs that existed before the range: replaced or deleted by a range commit without
    // having been written by an earlier one.
    let mut old_ids = HashSet::new();
    for id in walk {
        let id = id.map_err(git("cannot walk the range"))?;
        let commit = repo
            .find_commit(id)
            .map_err(git(format!("cannot read commit {id}")))?;
        let index = catalog.add_commit(id);
        let CommitChanges { new, old } = commit_changes(repo, &commit)
            .map_err(git(format!("cannot compare commit {id} with its parents")))?;
        old_ids.extend(old.into_iter().filter(|b| !catalog.blobs.contains_key(b)));
        for (path, blob) in new {
            // A blob that existed before and is written again (a rename) is not new.
            if !old_ids.contains(&blob) {
                catalog.add_blob(blob, &path, Some(index));
            }
        }
    }
    if catalog.commits.is_empty() {
        warnings.push(format!("the range {base}..{head} holds no commit"));
    }
    // Every part scans all the replaced blobs (what existed before the range), and only its
    // own new ones.
    let new_ids = ids_in_shard(&catalog, opts.shard);
    let jobs = jobs_in_pack_order(repo, &catalog, &new_ids);
    let mut scanned = scan_blobs(sinks, repo.path(), &jobs, opts.threads);

    // What the replaced and deleted blobs held already existed before the range.
    let mut old_catalog = Catalog::default();
    for id in &old_ids {
        old_catalog.add_blob(*id, "(replaced blob)", None);
    }
    let old_list: Vec<Oid> = old_ids.into_iter().collect();
    let old_jobs = jobs_in_pack_order(repo, &old_catalog, &old_list);
    let before = scan_blobs(sinks, repo.path(), &old_jobs, opts.threads);
    let existed: HashSet<String> = before
        .findings
        .iter()
        .flat_map(|(_, f)| material(f).map(str::to_string))
        .collect();
    let fresh: Vec<(usize, Finding)> = std::mem::take(&mut scanned.findings)
        .into_iter()
        .filter(|(_, f)| !material(f).all(|m| existed.contains(m)))
        .collect();

    let head_blobs = head_tree_blobs(repo, Some(head_id))?;
    let (others, errors) =
        other_parts_at_head(sinks, repo, &catalog, &jobs, &fresh, &head_blobs, opts);
    let findings = finish_findings(repo, &catalog, &jobs, fresh, &head_blobs, others);
    scanned.rest.errors.extend(errors);
    // What could not be read in the replaced blobs counts too: a credential there might
    // have hidden one in the new blobs.
    let Outcome {
        errors,
        skipped,
        warnings,
        stats,
        ..
    } = before.rest;
    scanned.rest.errors.extend(errors);
    scanned.rest.skipped.extend(skipped);
    scanned.rest.warnings.extend(warnings);
    scanned.rest.stats.unscanned += stats.unscanned;
    Ok(scanned.into_outcome(findings))
}
