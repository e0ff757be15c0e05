//! Git as an input: the whole history, a pull request's range, or the staged changes.
//!
//! History is scanned blob by blob, not commit by commit: the trees of every commit reachable
//! from any ref (branches, tags, remote refs, the stash and its reflog, HEAD) are walked once,
//! oldest commit first, remembering for each blob id the first commit and path it appeared
//! at. Every distinct blob is then read once, in the order it is stored in its pack (delta
//! bases before their deltas, so libgit2's base cache hits), and scanned on all cores through
//! [`BlobScanner::scan_bytes`]. Findings get their provenance from that first appearance, and
//! one finding is kept per fingerprint (credential and path), the oldest.
//!
//! `--range BASE..HEAD` scans only the blobs the commits in the range wrote, and drops a
//! credential that the blobs those commits replaced or deleted already held. `--staged` scans
//! only the lines the index adds to HEAD, with their real line numbers.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::Instant;

use git2::{
    Delta, DiffFindOptions, DiffOptions, ErrorCode, FileMode, ObjectType, Oid, Patch, Repository,
    Sort,
};

use crate::detect::Detector;
use crate::finding::Finding;
use crate::input::archive::{self, ArchiveOptions, Source};
use crate::input::{InputError, Origin};
use crate::scan::{BlobScanner, FileOutcome, Outcome, ScanOptions, Stats};
use crate::shard::Shard;

/// Errors that stop a git scan (a single unreadable blob does not: it becomes an
/// [`InputError`] and the scan goes on).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "{path}: not a git repository ({message}): run it inside a git work tree or pass the \
         repository's path; `keysweep scan {path}` scans files that are not in git"
    )]
    NotARepository { path: String, message: String },
    #[error("{context}: {}", err.message())]
    Git { context: String, err: git2::Error },
    #[error("invalid range {0:?}: expected BASE..HEAD (HEAD may be left out)")]
    BadRange(String),
}

fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let context = context.into();
    move |err| GitError::Git { context, err }
}

/// What part of the repository to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every blob reachable from any ref; with `all_objects`, every blob in the object
    /// database, reachable or not.
    History { all_objects: bool },
    /// The blobs written by the commits in `base..head`.
    Range { base: String, head: String },
    /// The lines the index adds to HEAD.
    Staged,
}

/// Options of `keysweep git`.
#[derive(Debug, Clone)]
pub struct GitOptions {
    pub selection: Selection,
    /// Scanning threads; 0 means one per core.
    pub threads: usize,
    /// How archives and compressed blobs are opened: exactly as for files.
    pub archive: ArchiveOptions,
    /// The part of the blobs this run scans (`--shard K/N`), by the path each blob first
    /// appeared at: every version of a file falls in one part, so the oldest commit that
    /// introduced a credential at a path is found within one part and merged reports equal
    /// an unsharded one.
    pub shard: Shard,
    /// Nesting levels of encodings decoded (`--decode-depth`).
    pub decode_depth: u32,
}

/// What a git scan produced: the outcome plus warnings (shallow clone, unreadable refs).
#[derive(Debug, Default)]
pub struct GitOutcome {
    pub outcome: Outcome,
    pub warnings: Vec<String>,
}

/// Splits `BASE..HEAD` (an empty HEAD means `HEAD`).
pub fn parse_range(range: &str) -> Result<(String, String), GitError> {
    let bad = || GitError::BadRange(range.to_string());
    let (base, head) = range.split_once("..").ok_or_else(bad)?;
    if base.is_empty() || head.starts_with('.') || head.contains("..") {
        return Err(bad());
    }
    let head = if head.is_empty() { "HEAD" } else { head };
    Ok((base.to_string(), head.to_string()))
}

/// Scans the repository at or above `path`.
pub fn scan(detector: &Detector, path: &Path, opts: &GitOptions) -> Result<GitOutcome, GitError> {
    let started = Instant::now();
    tune_libgit2();
    let repo = Repository::discover(path).map_err(|e| GitError::NotARepository {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })?;
    let mut warnings = Vec::new();
    if repo.is_shallow() && opts.selection != Selection::Staged {
        warnings.push(format!(
            "{} is a shallow clone: commits before the shallow boundary are not in it and \
             were not scanned (`git fetch --unshallow` fetches them)",
            display_repo(&repo)
        ));
    }
    let mut out = match &opts.selection {
        Selection::History { all_objects } => {
            scan_history(detector, &repo, *all_objects, opts, &mut warnings)?
        }
        Selection::Range { base, head } => {
            scan_range(detector, &repo, base, head, opts, &mut warnings)?
        }
        Selection::Staged => scan_staged(detector, &repo, opts, &mut warnings)?,
    };
    out.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out.errors.sort_by(|a, b| a.path.cmp(&b.path));
    out.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    out.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    out.stats.elapsed = started.elapsed();
    out.stats.blobs = true;
    Ok(GitOutcome {
        outcome: out,
        warnings,
    })
}

/// The work tree (or, for a bare repository, the git directory) for messages.
fn display_repo(repo: &Repository) -> String {
    repo.workdir()
        .unwrap_or_else(|| repo.path())
        .display()
        .to_string()
}

/// Sets libgit2's process-wide options: no hash check on read, no object cache, and a bound
/// on the pack windows it maps.
/// Mapped pack pages count in the resident set, and libgit2's default (8 GiB of windows)
/// would let a large history's packs become resident whole.
fn tune_libgit2() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Reading does not re-hash objects (git's own readers do not either): hashing every
        // blob with collision detection cost a third of the scan time.
        git2::opts::strict_hash_verification(false);
        // The object cache keeps parsed trees (several times their packed size) and is no
        // use here: every tree is read once (see `Catalog::seen_trees`).
        git2::opts::enable_caching(false);
        // SAFETY: these calls set libgit2's global options; they must not race with other
        // libgit2 calls. They run once, before this module opens its first repository, and
        // the binary makes no libgit2 call from another thread before that point.
        unsafe {
            let _ = git2::opts::set_mwindow_size(32 * 1024 * 1024);
            let _ = git2::opts::set_mwindow_mapped_limit(128 * 1024 * 1024);
        }
    });
}

// ---------------------------------------------------------------------------------------
// Where blobs first appear.

/// The first place a blob was seen: commit (index into [`Catalog::commits`], `None` for an
/// object no commit reaches) and path (index into [`Catalog::paths`]).
#[derive(Debug, Clone, Copy)]
struct Place {
    commit: Option<u32>,
    path: u32,
}

/// Blob ids with the first commit and path they appeared at. Paths are interned: a file's
/// many versions share one string.
#[derive(Default)]
struct Catalog {
    commits: Vec<Oid>,
    paths: Vec<String>,
    path_ids: HashMap<String, u32>,
    blobs: HashMap<Oid, Place>,
    seen_trees: HashSet<Oid>,
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

    fn add_commit(&mut self, id: Oid) -> u32 {
        self.commits.push(id);
        u32::try_from(self.commits.len() - 1).unwrap_or(u32::MAX)
    }

    /// Records a blob unless it was seen before.
    fn add_blob(&mut self, id: Oid, path: &str, commit: Option<u32>) {
        if !self.blobs.contains_key(&id) {
            let path = self.intern(path);
            self.blobs.insert(id, Place { commit, path });
        }
    }

    /// Records every blob under tree `id` not seen before. A tree seen before is skipped
    /// whole: its blobs were recorded then, at an older commit.
    fn add_tree(
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
    fn add_commits(
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
enum EntryKind {
    Tree,
    Blob,
    /// A submodule's commit: not in this repository.
    Gitlink,
}

fn entry_kind(mode: i32) -> EntryKind {
    match mode & 0o170000 {
        0o040000 => EntryKind::Tree,
        0o160000 => EntryKind::Gitlink,
        _ => EntryKind::Blob,
    }
}

fn push_name(prefix: &mut String, name: &[u8]) {
    if !prefix.is_empty() {
        prefix.push('/');
    }
    // Lossless: a name that is not UTF-8 keeps its bytes (see `input::path_key`).
    prefix.push_str(&crate::input::path_key(name));
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
struct Tips {
    commits: Vec<Oid>,
    /// Trees and blobs a ref points at directly (named by the ref).
    trees: Vec<(String, Oid)>,
    blobs: Vec<(String, Oid)>,
}

/// HEAD, every ref (branches, tags, remote refs, notes, the stash) and the stash's reflog
/// (older stashes live only there).
fn tips(repo: &Repository, warnings: &mut Vec<String>) -> Result<Tips, GitError> {
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

// ---------------------------------------------------------------------------------------
// Reading blobs in pack order and scanning them on all cores.

/// One blob to scan and the path its findings are reported under.
struct Job<'a> {
    id: Oid,
    path: &'a str,
}

/// What scanning a list of jobs produced; findings carry the index of their job.
#[derive(Default)]
struct Scanned {
    findings: Vec<(usize, Finding)>,
    errors: Vec<InputError>,
    warnings: Vec<InputError>,
    skipped: Vec<InputError>,
    unscanned: u64,
    blobs: u64,
    bytes: u64,
    archives: u64,
    decompressed: u64,
}

impl Scanned {
    /// Adds one blob's outcome; its findings get the job index `n`.
    fn add(&mut self, n: usize, out: FileOutcome) {
        self.findings
            .extend(out.findings.into_iter().map(|f| (n, f)));
        self.errors.extend(out.errors);
        self.warnings.extend(out.warnings);
        self.skipped.extend(out.skipped);
        self.unscanned += out.unscanned;
        self.archives += out.archives;
        self.decompressed += out.decompressed;
    }

    fn append(&mut self, mut other: Scanned) {
        self.findings.append(&mut other.findings);
        self.errors.append(&mut other.errors);
        self.warnings.append(&mut other.warnings);
        self.skipped.append(&mut other.skipped);
        self.unscanned += other.unscanned;
        self.blobs += other.blobs;
        self.bytes += other.bytes;
        self.archives += other.archives;
        self.decompressed += other.decompressed;
    }

    /// The outcome of a scan whose findings are `findings` (with provenance attached).
    fn into_outcome(self, findings: Vec<Finding>) -> Outcome {
        Outcome {
            findings,
            errors: self.errors,
            warnings: self.warnings,
            skipped: self.skipped,
            stats: Stats {
                files: self.blobs,
                bytes: self.bytes,
                archives: self.archives,
                decompressed: self.decompressed,
                unscanned: self.unscanned,
                ..Stats::default()
            },
        }
    }
}

/// Scans one blob held in memory exactly as a file with the same bytes is scanned
/// (archives, compression, nesting, limits, encodings), with `path` as its origin.
fn scan_blob(
    scanner: &mut BlobScanner<'_>,
    data: &[u8],
    path: &str,
    opts: &ScanOptions,
) -> FileOutcome {
    scanner.guarded(path, |s| {
        s.scan_source(Source::Bytes(data), &Origin::from_path_key(path), opts)
    })
}

/// The ids in `ids` in the order that makes libgit2 inflate each object about once: by
/// pack, then by delta family (all objects whose delta chains end at the same full object,
/// in pack order of that object), deepest first within a family. Loose objects (in no pack
/// index) come last, in id order.
///
/// Why not plain pack order: libgit2 caches only the delta bases it reconstructs on the way
/// to an object (16 MiB, emptied whole when full), not the objects it returns, and git puts
/// full objects first with their deltas spread out in recency order. Read in pack order, a
/// delta's base was just returned but not cached, so its chain is rebuilt: measured 5
/// inflations per blob on a delta-heavy repository. Reading the deepest member of a family
/// first caches every ancestor on its chain; its shallower relatives are then cache hits.
fn pack_order(objects: &Path, ids: &[Oid]) -> Vec<Oid> {
    let wanted: HashSet<Oid> = ids.iter().copied().collect();
    // (pack, family root offset, depth reversed, offset, id)
    let mut placed: Vec<(u32, u64, u16, u64, Oid)> = Vec::new();
    for (n, idx) in pack_indexes(objects).iter().enumerate() {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let mut entries = Vec::new();
        // An unreadable index only costs the order: its objects are read as loose ones.
        if read_pack_index(idx, |id, offset| entries.push((offset, id))).is_err() {
            continue;
        }
        entries.sort_unstable_by_key(|e| e.0);
        let families = delta_families(&idx.with_extension("pack"), &entries);
        for (i, &(offset, id)) in entries.iter().enumerate() {
            if !wanted.contains(&id) {
                continue;
            }
            let (root, depth) = families
                .as_ref()
                .and_then(|f| f.get(i))
                .map_or((offset, 0), |&(root, depth)| {
                    (entries[root as usize].0, depth)
                });
            placed.push((n, root, u16::MAX - depth, offset, id));
        }
    }
    placed.sort_unstable();
    let mut seen = HashSet::with_capacity(ids.len());
    let mut order = Vec::with_capacity(ids.len());
    for (.., id) in placed {
        if seen.insert(id) {
            order.push(id);
        }
    }
    let mut loose: Vec<Oid> = ids
        .iter()
        .filter(|id| !seen.contains(id))
        .copied()
        .collect();
    loose.sort_unstable();
    loose.dedup();
    order.extend(loose);
    order
}

/// For each entry of a pack (`entries` sorted by offset): the index of the full object its
/// delta chain ends at, and its depth in that chain. Reads only the entry headers. `None`
/// when the pack cannot be read or parsed (the caller falls back to plain pack order).
/// A REF_DELTA entry (base named by id, e.g. in a fetched thin pack) counts as a root.
fn delta_families(pack: &Path, entries: &[(u64, Oid)]) -> Option<Vec<(u32, u16)>> {
    let file = fs::File::open(pack).ok()?;
    // SAFETY: a read-only private mapping of a pack file, which git never rewrites in place
    // (packs are written under a temporary name and renamed). Only entry headers are read,
    // with bounds checks; if the file were truncated meanwhile, a read could fault, the
    // accepted risk of mapping (see `input::file::load`).
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    pack_delta_families(&map, entries, &mut |r| crate::input::file::release(&map, r))
}

/// [`delta_families`] of the pack bytes `map`; `release` is told which bytes are done with.
/// Public for the fuzz targets.
pub fn pack_delta_families<T>(
    map: &[u8],
    entries: &[(u64, T)],
    release: &mut dyn FnMut(std::ops::Range<usize>),
) -> Option<Vec<(u32, u16)>> {
    const OFS_DELTA: u8 = 6;
    let mut out: Vec<(u32, u16)> = Vec::with_capacity(entries.len());
    let mut released = 0usize;
    for (i, &(offset, _)) in entries.iter().enumerate() {
        let me = u32::try_from(i).ok()?;
        let mut pos = usize::try_from(offset).ok()?;
        // Pages behind the cursor are done with: keep the resident set small on big packs.
        if pos >= released + crate::scan::CHUNK {
            release(released..pos);
            released = pos;
        }
        let mut byte = *map.get(pos)?;
        let kind = (byte >> 4) & 7;
        while byte & 0x80 != 0 {
            pos += 1;
            byte = *map.get(pos)?;
        }
        pos += 1;
        if kind != OFS_DELTA {
            out.push((me, 0));
            continue;
        }
        byte = *map.get(pos)?;
        let mut back = u64::from(byte & 0x7f);
        while byte & 0x80 != 0 {
            pos += 1;
            byte = *map.get(pos)?;
            // A back offset past 2^63 is corrupt (git rejects it the same way); without the
            // check, `back + 1` overflows (found by fuzzing).
            if back >> 56 != 0 {
                return None;
            }
            back = ((back + 1) << 7) | u64::from(byte & 0x7f);
        }
        let base_offset = offset.checked_sub(back)?;
        match entries[..i].binary_search_by_key(&base_offset, |e| e.0) {
            Ok(base) => {
                let (root, depth) = out[base];
                out.push((root, depth.saturating_add(1)));
            }
            Err(_) => out.push((me, 0)),
        }
    }
    Some(out)
}

/// The pack index files of an object directory and of its alternates.
fn pack_indexes(objects: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![objects.to_path_buf()];
    if let Ok(text) = fs::read_to_string(objects.join("info").join("alternates")) {
        for line in text.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                dirs.push(objects.join(line));
            }
        }
    }
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(dir.join("pack")) else {
            continue;
        };
        let mut idx: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        idx.sort();
        found.extend(idx);
    }
    found
}

/// Calls `each(id, offset)` for every object of a pack index (version 1 or 2, SHA-1).
fn read_pack_index(path: &Path, each: impl FnMut(Oid, u64)) -> io::Result<()> {
    pack_index_entries(&fs::read(path)?, each)
}

/// [`read_pack_index`] of the index bytes `data`. Public for the fuzz targets.
pub fn pack_index_entries(data: &[u8], mut each: impl FnMut(Oid, u64)) -> io::Result<()> {
    const HASH: usize = 20;
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "unrecognised pack index");
    let u32_at = |at: usize| -> io::Result<u32> {
        let bytes = data.get(at..at + 4).ok_or_else(bad)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    let oid_at = |at: usize| -> io::Result<Oid> {
        let bytes = data.get(at..at + HASH).ok_or_else(bad)?;
        Oid::from_bytes(bytes).map_err(|_| bad())
    };
    if data.starts_with(b"\xfftOc") {
        if u32_at(4)? != 2 {
            return Err(bad());
        }
        let fanout = 8;
        let count = u32_at(fanout + 255 * 4)? as usize;
        let names = fanout + 256 * 4;
        let offsets = names + count * (HASH + 4);
        let large = offsets + count * 4;
        if data.len() < large {
            return Err(bad());
        }
        for i in 0..count {
            let small = u32_at(offsets + i * 4)?;
            let offset = if small & 0x8000_0000 == 0 {
                u64::from(small)
            } else {
                let at = large + (small & 0x7fff_ffff) as usize * 8;
                let bytes = data.get(at..at + 8).ok_or_else(bad)?;
                let mut be = [0u8; 8];
                be.copy_from_slice(bytes);
                u64::from_be_bytes(be)
            };
            each(oid_at(names + i * HASH)?, offset);
        }
    } else {
        let count = u32_at(255 * 4)? as usize;
        let entries = 256 * 4;
        for i in 0..count {
            let at = entries + i * (4 + HASH);
            each(oid_at(at + 4)?, u64::from(u32_at(at)?));
        }
    }
    Ok(())
}

/// Reads and scans `jobs` (already in pack order) on `threads` threads. Each thread opens
/// its own repository handle and keeps one [`BlobScanner`]; threads take consecutive runs
/// of jobs, so neighbouring objects (a delta and its base) are read close together in time.
fn scan_blobs(detector: &Detector, git_dir: &Path, jobs: &[Job<'_>], opts: &GitOptions) -> Scanned {
    if jobs.is_empty() {
        return Scanned::default();
    }
    let scan_opts = ScanOptions {
        archive: opts.archive,
        decode_depth: opts.decode_depth,
        ..ScanOptions::default()
    };
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(jobs.len());
    let run = (jobs.len() / (threads * 32)).clamp(8, 512);
    let next = AtomicUsize::new(0);
    let total = Mutex::new(Scanned::default());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut mine = Scanned::default();
                match Repository::open(git_dir) {
                    Ok(repo) => scan_runs(detector, &repo, jobs, run, &next, &scan_opts, &mut mine),
                    Err(e) => mine.errors.push(InputError {
                        path: git_dir.display().to_string(),
                        message: format!("cannot open the repository: {}", e.message()),
                    }),
                }
                let mut total = total.lock().unwrap_or_else(|p| p.into_inner());
                total.append(mine);
            });
        }
    });
    total.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// One thread's share of [`scan_blobs`]: claims runs of `run` jobs until none are left.
fn scan_runs(
    detector: &Detector,
    repo: &Repository,
    jobs: &[Job<'_>],
    run: usize,
    next: &AtomicUsize,
    opts: &ScanOptions,
    out: &mut Scanned,
) {
    let odb = match repo.odb() {
        Ok(odb) => odb,
        Err(e) => {
            out.errors.push(InputError {
                path: repo.path().display().to_string(),
                message: format!("cannot open the object database: {}", e.message()),
            });
            return;
        }
    };
    let mut scanner = BlobScanner::new(detector);
    loop {
        let start = next.fetch_add(run, Ordering::Relaxed);
        if start >= jobs.len() {
            break;
        }
        for (n, job) in jobs.iter().enumerate().skip(start).take(run) {
            let object = match odb.read(job.id) {
                Ok(o) => o,
                Err(e) => {
                    out.errors.push(InputError {
                        path: job.path.to_string(),
                        message: format!("cannot read blob {}: {}", job.id, e.message()),
                    });
                    out.unscanned += 1;
                    continue;
                }
            };
            if object.kind() != ObjectType::Blob {
                continue;
            }
            let data = object.data();
            out.blobs += 1;
            out.bytes += data.len() as u64;
            out.add(n, scan_blob(&mut scanner, data, job.path, opts));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Provenance.

/// Author and date of commits, read once each.
struct CommitInfo<'r> {
    repo: &'r Repository,
    cache: HashMap<Oid, (Option<String>, Option<String>)>,
}

impl<'r> CommitInfo<'r> {
    fn new(repo: &'r Repository) -> Self {
        CommitInfo {
            repo,
            cache: HashMap::new(),
        }
    }

    /// Fills `origin`'s commit, author and date from commit `id`.
    fn fill(&mut self, origin: &mut Origin, id: Oid) {
        let repo = self.repo;
        let (author, date) = self
            .cache
            .entry(id)
            .or_insert_with(|| match repo.find_commit(id) {
                Ok(c) => {
                    let a = c.author();
                    let author = format!(
                        "{} <{}>",
                        String::from_utf8_lossy(a.name_bytes()),
                        String::from_utf8_lossy(a.email_bytes())
                    );
                    let when = a.when();
                    (
                        Some(author),
                        Some(rfc3339(when.seconds(), when.offset_minutes())),
                    )
                }
                Err(_) => (None, None),
            });
        origin.commit = Some(id.to_string());
        origin.author = author.clone();
        origin.date = date.clone();
    }
}

/// `seconds` since the epoch at UTC offset `offset_minutes`, as `2024-05-01T12:34:56+02:00`.
fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    let local = seconds + i64::from(offset_minutes) * 60;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 60,
        off % 60
    )
}

/// The credential values of a finding: key ID, secret, session token as present.
fn material(f: &Finding) -> impl Iterator<Item = &str> {
    [&f.key_id, &f.secret, &f.session_token]
        .into_iter()
        .flatten()
        .map(String::as_str)
}

/// Attaches provenance to findings of blobs and keeps, per fingerprint, the one whose blob
/// appeared first. `present_at_head` says whether every credential value of the finding is
/// still in a blob of the HEAD tree (`head_blobs`).
fn finish_findings(
    repo: &Repository,
    catalog: &Catalog,
    jobs: &[Job<'_>],
    scanned: Vec<(usize, Finding)>,
    head_blobs: &HashSet<Oid>,
    other_parts_at_head: HashSet<String>,
) -> Vec<Finding> {
    let mut at_head = material_at_head(jobs, &scanned, head_blobs);
    at_head.extend(other_parts_at_head);
    let mut ranked: Vec<(u32, Finding)> = scanned
        .into_iter()
        .map(|(n, f)| {
            let order = catalog
                .blobs
                .get(&jobs[n].id)
                .and_then(|p| p.commit)
                .unwrap_or(u32::MAX);
            (order, f)
        })
        .collect();
    ranked.sort_by(|(a, fa), (b, fb)| a.cmp(b).then_with(|| fa.sort_key().cmp(&fb.sort_key())));
    let mut info = CommitInfo::new(repo);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (order, mut f) in ranked {
        if !seen.insert(f.fingerprint.clone()) {
            continue;
        }
        if let Some(&id) = catalog.commits.get(order as usize) {
            info.fill(&mut f.location.origin, id);
        }
        let present = material(&f).all(|m| at_head.contains(m));
        f.location.origin.present_at_head = Some(present);
        out.push(f);
    }
    out
}

/// The credential values that findings in blobs of the HEAD tree hold.
fn material_at_head(
    jobs: &[Job<'_>],
    scanned: &[(usize, Finding)],
    head_blobs: &HashSet<Oid>,
) -> HashSet<String> {
    scanned
        .iter()
        .filter(|(n, _)| head_blobs.contains(&jobs[*n].id))
        .flat_map(|(_, f)| material(f).map(str::to_string))
        .collect()
}

/// The ids of the catalogue's blobs in `shard` (by the path each first appeared at).
fn ids_in_shard(catalog: &Catalog, shard: Shard) -> Vec<Oid> {
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

/// For a sharded run: the credential values held by HEAD-tree blobs of the *other* parts,
/// which `present_at_head` needs. They are scanned only when a finding of this part holds a
/// value that its own HEAD blobs do not (a credential moved to a file of another part), so a
/// run with no such finding reads nothing more.
#[allow(clippy::too_many_arguments)]
fn other_parts_at_head(
    detector: &Detector,
    repo: &Repository,
    catalog: &Catalog,
    jobs: &[Job<'_>],
    scanned: &[(usize, Finding)],
    head_blobs: &HashSet<Oid>,
    opts: &GitOptions,
) -> (HashSet<String>, Vec<InputError>) {
    let shard = opts.shard;
    if shard.count() <= 1 {
        return (HashSet::new(), Vec::new());
    }
    let own = material_at_head(jobs, scanned, head_blobs);
    if scanned
        .iter()
        .all(|(_, f)| material(f).all(|m| own.contains(m)))
    {
        return (HashSet::new(), Vec::new());
    }
    let mine: HashSet<Oid> = jobs.iter().map(|j| j.id).collect();
    let others: Vec<Oid> = head_blobs
        .iter()
        .filter(|id| catalog.blobs.contains_key(id) && !mine.contains(id))
        .copied()
        .collect();
    let other_jobs = jobs_in_pack_order(repo, catalog, &others);
    let found = scan_blobs(detector, repo.path(), &other_jobs, opts);
    let values = found
        .findings
        .iter()
        .flat_map(|(_, f)| material(f).map(str::to_string))
        .collect();
    (values, found.errors)
}

/// Jobs for the catalogue's blobs, in pack order.
fn jobs_in_pack_order<'c>(repo: &Repository, catalog: &'c Catalog, ids: &[Oid]) -> Vec<Job<'c>> {
    pack_order(&repo.commondir().join("objects"), ids)
        .into_iter()
        .filter_map(|id| {
            let place = catalog.blobs.get(&id)?;
            Some(Job {
                id,
                path: catalog.paths.get(place.path as usize)?.as_str(),
            })
        })
        .collect()
}

fn head_tree_blobs(repo: &Repository, head: Option<Oid>) -> Result<HashSet<Oid>, GitError> {
    let Some(head) = head else {
        return Ok(HashSet::new());
    };
    let tree = repo
        .find_commit(head)
        .map(|c| c.tree_id())
        .map_err(git(format!("cannot read commit {head}")))?;
    tree_blobs(repo, tree).map_err(git("cannot read the HEAD tree"))
}

// ---------------------------------------------------------------------------------------
// The three selections.

fn scan_history(
    detector: &Detector,
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
    let mut scanned = scan_blobs(detector, repo.path(), &jobs, opts);
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id());
    let head_blobs = head_tree_blobs(repo, head)?;
    let found = std::mem::take(&mut scanned.findings);
    let (others, errors) =
        other_parts_at_head(detector, repo, &catalog, &jobs, &found, &head_blobs, opts);
    let findings = finish_findings(repo, &catalog, &jobs, found, &head_blobs, others);
    scanned.errors.extend(errors);
    Ok(scanned.into_outcome(findings))
}

/// Adds what no ref reaches: dangling commits (with their trees), then trees and blobs no
/// commit holds (a blob `git add`ed and never committed).
fn add_unreachable(
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

fn scan_range(
    detector: &Detector,
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
    let mut scanned = scan_blobs(detector, repo.path(), &jobs, opts);

    // What the replaced and deleted blobs held already existed before the range.
    let mut old_catalog = Catalog::default();
    for id in &old_ids {
        old_catalog.add_blob(*id, "(replaced blob)", None);
    }
    let old_list: Vec<Oid> = old_ids.into_iter().collect();
    let old_jobs = jobs_in_pack_order(repo, &old_catalog, &old_list);
    let before = scan_blobs(detector, repo.path(), &old_jobs, opts);
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
        other_parts_at_head(detector, repo, &catalog, &jobs, &fresh, &head_blobs, opts);
    let findings = finish_findings(repo, &catalog, &jobs, fresh, &head_blobs, others);
    scanned.errors.extend(errors);
    // What could not be read in the replaced blobs counts too: a credential there might
    // have hidden one in the new blobs.
    let Scanned {
        errors,
        skipped,
        unscanned,
        warnings: notes,
        ..
    } = before;
    scanned.errors.extend(errors);
    scanned.skipped.extend(skipped);
    scanned.warnings.extend(notes);
    scanned.unscanned += unscanned;
    Ok(scanned.into_outcome(findings))
}

fn scan_staged(
    detector: &Detector,
    repo: &Repository,
    git_opts: &GitOptions,
    warnings: &mut Vec<String>,
) -> Result<Outcome, GitError> {
    let _ = warnings;
    let scan_opts = ScanOptions {
        archive: git_opts.archive,
        decode_depth: git_opts.decode_depth,
        ..ScanOptions::default()
    };
    let index = repo.index().map_err(git("cannot read the index"))?;
    let head_tree = match repo.head() {
        Ok(head) => Some(
            head.peel_to_tree()
                .map_err(git("cannot read the HEAD tree"))?,
        ),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => None,
        Err(e) => return Err(git("cannot read HEAD")(e)),
    };
    let mut opts = DiffOptions::new();
    opts.include_typechange(true);
    let mut diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut opts))
        .map_err(git("cannot compare the index with HEAD"))?;
    // A staged rename is compared with its source, so only the lines it changed count.
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))
        .map_err(git("cannot detect renames in the index"))?;

    let mut scanner = BlobScanner::new(detector);
    let mut out = Outcome::default();
    for delta in diff.deltas() {
        match delta.status() {
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange => {
            }
            Delta::Conflicted => {
                let path = delta
                    .new_file()
                    .path()
                    .unwrap_or(Path::new("?"))
                    .display()
                    .to_string();
                out.skipped.push(InputError {
                    path,
                    message: "unresolved merge conflict: not scanned".to_string(),
                });
                out.stats.unscanned += 1;
                continue;
            }
            _ => continue,
        }
        let new = delta.new_file();
        if matches!(
            new.mode(),
            FileMode::Commit | FileMode::Tree | FileMode::Unreadable
        ) {
            continue;
        }
        let path = new
            .path_bytes()
            .map(|p| crate::input::path_key(p).into_owned())
            .unwrap_or_default();
        if !git_opts.shard.contains(path.as_bytes()) {
            continue;
        }
        let blob = match repo.find_blob(new.id()) {
            Ok(b) => b,
            Err(e) => {
                out.errors.push(InputError {
                    path,
                    message: format!("cannot read staged blob {}: {}", new.id(), e.message()),
                });
                out.stats.unscanned += 1;
                continue;
            }
        };
        let old_file = delta.old_file();
        let old = if old_file.id().is_zero()
            || matches!(old_file.mode(), FileMode::Commit | FileMode::Tree)
        {
            None
        } else {
            repo.find_blob(old_file.id()).ok()
        };
        let data = blob.content();
        out.stats.files += 1;
        out.stats.bytes += data.len() as u64;
        // Added lines apply to text only: a binary, archive or compressed blob is scanned
        // whole, through the same path as a file, and keeps what the old blob did not hold.
        let lines = match &old {
            Some(o) if !is_binary(data) && !is_binary(o.content()) => {
                Some(added_lines(o.content(), data))
            }
            Some(_) => Some(Err(git2::Error::from_str("binary"))),
            None => None,
        };
        let found = match lines {
            None => {
                let blob_out = scan_blob(&mut scanner, data, &path, &scan_opts);
                absorb(&mut out, blob_out)
            }
            Some(Ok(lines)) => {
                let blob_out =
                    scan_blob(&mut scanner, &only_lines(data, &lines), &path, &scan_opts);
                absorb(&mut out, blob_out)
            }
            Some(Err(_)) => {
                // Whole blobs (or no line diff: libgit2 refuses some huge inputs).
                let old_data = old.as_ref().map_or(&[][..], |o| o.content());
                let old_out = scan_blob(&mut scanner, old_data, &path, &scan_opts);
                let existed: HashSet<String> = old_out
                    .findings
                    .iter()
                    .flat_map(|f| material(f).map(str::to_string))
                    .collect();
                let blob_out = scan_blob(&mut scanner, data, &path, &scan_opts);
                let mut found = absorb(&mut out, blob_out);
                found.retain(|f| !material(f).all(|m| existed.contains(m)));
                found
            }
        };
        out.findings.extend(found);
    }
    Ok(out)
}

/// True when `data` is not text for a line diff: an archive or compressed stream, or NUL
/// bytes in its first 8000 (git's own test).
fn is_binary(data: &[u8]) -> bool {
    archive::sniff(data).is_some() || memchr::memchr(0, &data[..data.len().min(8000)]).is_some()
}

/// Moves a blob's errors, notes and counters into `out`; returns its findings.
fn absorb(out: &mut Outcome, blob: FileOutcome) -> Vec<Finding> {
    out.errors.extend(blob.errors);
    out.warnings.extend(blob.warnings);
    out.skipped.extend(blob.skipped);
    out.stats.unscanned += blob.unscanned;
    out.stats.archives += blob.archives;
    out.stats.decompressed += blob.decompressed;
    blob.findings
}

/// The 1-based line numbers `new` adds to `old`, as ranges.
fn added_lines(old: &[u8], new: &[u8]) -> Result<Vec<Range<usize>>, git2::Error> {
    let mut opts = DiffOptions::new();
    opts.context_lines(0).interhunk_lines(0).force_text(true);
    let patch = Patch::from_buffers(old, None, new, None, Some(&mut opts))?;
    let mut lines = Vec::with_capacity(patch.num_hunks());
    for i in 0..patch.num_hunks() {
        let (hunk, _) = patch.hunk(i)?;
        let start = hunk.new_start() as usize;
        lines.push(start..start + hunk.new_lines() as usize);
    }
    Ok(lines)
}

/// `data` with every line outside `lines` (sorted 1-based ranges) emptied but its newline
/// kept, so what is left keeps its line and column numbers.
fn only_lines<'a>(data: &'a [u8], lines: &[Range<usize>]) -> Cow<'a, [u8]> {
    if lines.is_empty() {
        return Cow::Owned(memchr::memchr_iter(b'\n', data).map(|_| b'\n').collect());
    }
    let mut out = Vec::with_capacity(data.len().min(1 << 20));
    let (mut pos, mut line, mut next) = (0usize, 1usize, 0usize);
    while pos < data.len() {
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
        while next < lines.len() && lines[next].end <= line {
            next += 1;
        }
        if next < lines.len() && lines[next].contains(&line) {
            out.extend_from_slice(&data[pos..end]);
        } else if data[end - 1] == b'\n' {
            out.push(b'\n');
        }
        pos = end;
        line += 1;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(
            parse_range("main..feature").unwrap(),
            ("main".to_string(), "feature".to_string())
        );
        assert_eq!(
            parse_range("abc123..").unwrap(),
            ("abc123".to_string(), "HEAD".to_string())
        );
        assert!(parse_range("main").is_err());
        assert!(parse_range("..x").is_err());
        assert!(parse_range("a...b").is_err());
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_714_566_896, 120), "2024-05-01T14:34:56+02:00");
        assert_eq!(rfc3339(951_782_400, -330), "2000-02-28T18:30:00-05:30");
    }

    #[test]
    fn only_lines_keeps_numbers() {
        let data = b"one\ntwo\nthree\nfour";
        assert_eq!(&*only_lines(data, &[2..3, 4..5]), b"\ntwo\n\nfour");
        assert_eq!(&*only_lines(data, &[]), b"\n\n\n");
        assert_eq!(
            &*only_lines(data, std::slice::from_ref(&(1..2))),
            b"one\n\n\n"
        );
    }
}
