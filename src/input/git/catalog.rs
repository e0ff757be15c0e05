//! Where blobs first appear: the refs' tips, then every commit reachable from them, oldest
//! first, with each blob id remembered at the first commit and path it was seen at.

use std::collections::{HashMap, HashSet};

use git2::{ObjectType, Oid, Repository, Sort};

use super::{git, GitError};
use crate::shard::Shard;

/// The first place a blob was seen: commit (index into [`Catalog::commits`], `None` for an
/// object no commit reaches) and path (index into [`Catalog::paths`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    pub(super) commit: Option<u32>,
    pub(super) path: u32,
}

/// Blob ids with the first commit and path they appeared at. Paths are interned: a file's
/// many versions share one string.
#[derive(Default)]
pub(super) struct Catalog {
    pub(super) commits: Vec<Oid>,
    pub(super) paths: Vec<String>,
    path_ids: HashMap<String, u32>,
    pub(super) blobs: HashMap<Oid, Place>,
    pub(super) seen_trees: HashSet<Oid>,
}

impl Catalog {
    fn intern(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.path_ids.get(path) {
            return id;
        }
        let id = u32::try_from(self.paths.len()).unwrap_or(u32::MAX);
        self.paths.push(path.to_string());
        self.path_ids.insert(path.to_string(), id);
        id
    }

    pub(super) fn add_commit(&mut self, id: Oid) -> u32 {
        self.commits.push(id);
        u32::try_from(self.commits.len() - 1).unwrap_or(u32::MAX)
    }

    /// Records a blob unless it was seen before.
    pub(super) fn add_blob(&mut self, id: Oid, path: &str, commit: Option<u32>) {
        if !self.blobs.contains_key(&id) {
            let path = self.intern(path);
            self.blobs.insert(id, Place { commit, path });
        }
    }

    /// Records every blob under tree `id` not seen before. A tree seen before is skipped
    /// whole: its blobs were recorded then, at an older commit.
    pub(super) fn add_tree(
        &mut self,
        repo: &Repository,
        id: Oid,
        prefix: &mut String,
        commit: Option<u32>,
    ) -> Result<(), git2::Error> {
        if !self.seen_trees.insert(id) {
            return Ok(());
        }
        let tree = repo.find_tree(id)?;
        for entry in tree.iter() {
            let kind = entry_kind(entry.filemode());
            if kind == EntryKind::Blob && self.blobs.contains_key(&entry.id()) {
                continue;
            }
            let len = prefix.len();
            push_name(prefix, entry.name_bytes());
            match kind {
                EntryKind::Tree => self.add_tree(repo, entry.id(), prefix, commit)?,
                EntryKind::Blob => self.add_blob(entry.id(), prefix, commit),
                EntryKind::Gitlink => {}
            }
            prefix.truncate(len);
        }
        Ok(())
    }

    /// Walks the commits reachable from `tips` (minus those reachable from `hide`), oldest
    /// first, recording each new tree's blobs.
    pub(super) fn add_commits(
        &mut self,
        repo: &Repository,
        tips: &[Oid],
        hide: &[Oid],
        warnings: &mut Vec<String>,
    ) -> Result<(), GitError> {
        let mut walk = repo.revwalk().map_err(git("cannot walk the history"))?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
            .map_err(git("cannot walk the history"))?;
        let mut pushed = 0;
        for &tip in tips {
            match walk.push(tip) {
                Ok(()) => pushed += 1,
                Err(e) => warnings.push(format!("cannot walk from commit {tip}: {}", e.message())),
            }
        }
        for &id in hide {
            let _ = walk.hide(id);
        }
        if pushed == 0 {
            return Ok(());
        }
        let mut prefix = String::new();
        for id in walk {
            let id = id.map_err(git("cannot walk the history"))?;
            let commit = repo
                .find_commit(id)
                .map_err(git(format!("cannot read commit {id}")))?;
            let index = self.add_commit(id);
            prefix.clear();
            self.add_tree(repo, commit.tree_id(), &mut prefix, Some(index))
                .map_err(git(format!("cannot read the tree of commit {id}")))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryKind {
    Tree,
    Blob,
    /// A submodule's commit: not in this repository.
    Gitlink,
}

pub(super) fn entry_kind(mode: i32) -> EntryKind {
    match mode & 0o170000 {
        0o040000 => EntryKind::Tree,
        0o160000 => EntryKind::Gitlink,
        _ => EntryKind::Blob,
    }
}

pub(super) fn push_name(prefix: &mut String, name: &[u8]) {
    if !prefix.is_empty() {
        prefix.push('/');
    }
    // Lossless: a name that is not UTF-8 keeps its bytes (see `finding::path_key`).
    prefix.push_str(&crate::finding::path_key(name));
}

/// The blob ids in tree `id`, recursively.
fn tree_blobs(repo: &Repository, id: Oid) -> Result<HashSet<Oid>, git2::Error> {
    let mut blobs = HashSet::new();
    let mut seen = HashSet::new();
    let mut stack = vec![id];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for entry in repo.find_tree(id)?.iter() {
            match entry_kind(entry.filemode()) {
                EntryKind::Tree => stack.push(entry.id()),
                EntryKind::Blob => {
                    blobs.insert(entry.id());
                }
                EntryKind::Gitlink => {}
            }
        }
    }
    Ok(blobs)
}

/// What the refs point at, peeled through annotated tags.
#[derive(Default)]
pub(super) struct Tips {
    pub(super) commits: Vec<Oid>,
    /// Trees and blobs a ref points at directly (named by the ref).
    pub(super) trees: Vec<(String, Oid)>,
    pub(super) blobs: Vec<(String, Oid)>,
}

/// HEAD, every ref (branches, tags, remote refs, notes, the stash) and the stash's reflog
/// (older stashes live only there).
pub(super) fn tips(repo: &Repository, warnings: &mut Vec<String>) -> Result<Tips, GitError> {
    let mut targets: Vec<(String, Oid)> = Vec::new();
    if let Ok(head) = repo.head() {
        if let Some(id) = head.target() {
            targets.push(("HEAD".into(), id));
        }
    }
    let refs = repo
        .references()
        .map_err(git("cannot list the references"))?;
    for reference in refs {
        let reference = match reference {
            Ok(r) => r,
            Err(e) => {
                warnings.push(format!("cannot read a reference: {}", e.message()));
                continue;
            }
        };
        let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
        match reference.resolve().ok().and_then(|r| r.target()) {
            Some(id) => targets.push((name, id)),
            None => warnings.push(format!("reference {name} points nowhere; skipped")),
        }
    }
    if let Ok(reflog) = repo.reflog("refs/stash") {
        for entry in reflog.iter() {
            targets.push(("refs/stash".into(), entry.id_new()));
        }
    }
    let mut tips = Tips::default();
    let mut seen = HashSet::new();
    for (name, mut id) in targets {
        // Peel annotated tags (a tag may point at a tag).
        for _ in 0..16 {
            if !seen.insert(id) {
                break;
            }
            let object = match repo.find_object(id, None) {
                Ok(o) => o,
                Err(e) => {
                    warnings.push(format!("{name}: cannot read object {id}: {}", e.message()));
                    break;
                }
            };
            match object.kind() {
                Some(ObjectType::Commit) => tips.commits.push(id),
                Some(ObjectType::Tree) => tips.trees.push((name.clone(), id)),
                Some(ObjectType::Blob) => tips.blobs.push((name.clone(), id)),
                Some(ObjectType::Tag) => {
                    if let Some(tag) = object.as_tag() {
                        id = tag.target_id();
                        continue;
                    }
                }
                _ => {}
            }
            break;
        }
    }
    Ok(tips)
}

pub(super) fn head_tree_blobs(
    repo: &Repository,
    head: Option<Oid>,
) -> Result<HashSet<Oid>, GitError> {
    let Some(head) = head else {
        return Ok(HashSet::new());
    };
    let tree = repo
        .find_commit(head)
        .map(|c| c.tree_id())
        .map_err(git(format!("cannot read commit {head}")))?;
    tree_blobs(repo, tree).map_err(git("cannot read the HEAD tree"))
}

/// The ids of the catalogue's blobs in `shard` (by the path each first appeared at).
pub(super) fn ids_in_shard(catalog: &Catalog, shard: Shard) -> Vec<Oid> {
    catalog
        .blobs
        .iter()
        .filter(|(_, place)| {
            catalog
                .paths
                .get(place.path as usize)
                .is_none_or(|path| shard.contains(path.as_bytes()))
        })
        .map(|(id, _)| *id)
        .collect()
}

/// Adds what no ref reaches: dangling commits (with their trees), then trees and blobs no
/// commit holds (a blob `git add`ed and never committed).
pub(super) fn add_unreachable(
    repo: &Repository,
    catalog: &mut Catalog,
    reachable_tips: &[Oid],
    warnings: &mut Vec<String>,
) -> Result<(), GitError> {
    let odb = repo.odb().map_err(git("cannot open the object database"))?;
    let known_commits: HashSet<Oid> = catalog.commits.iter().copied().collect();
    let mut unknown = Vec::new();
    odb.foreach(|id| {
        if !catalog.blobs.contains_key(id)
            && !catalog.seen_trees.contains(id)
            && !known_commits.contains(id)
        {
            unknown.push(*id);
        }
        true
    })
    .map_err(git("cannot list the object database"))?;
    unknown.sort_unstable();
    unknown.dedup();
    let (mut commits, mut trees, mut blobs) = (Vec::new(), Vec::new(), Vec::new());
    for id in unknown {
        match odb.read_header(id) {
            Ok((_, ObjectType::Commit)) => commits.push(id),
            Ok((_, ObjectType::Tree)) => trees.push(id),
            Ok((_, ObjectType::Blob)) => blobs.push(id),
            Ok(_) => {}
            Err(e) => warnings.push(format!("cannot read object {id}: {}", e.message())),
        }
    }
    catalog.add_commits(repo, &commits, reachable_tips, warnings)?;
    let mut prefix = String::new();
    for id in trees {
        prefix.clear();
        catalog
            .add_tree(repo, id, &mut prefix, None)
            .map_err(git(format!("cannot read tree {id}")))?;
    }
    for id in blobs {
        catalog.add_blob(id, &format!("(unreachable blob {id})"), None);
    }
    Ok(())
}
