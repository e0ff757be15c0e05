//! The order to read blobs in, from git's own pack files: a small hand-written reader of
//! pack indexes (`.idx`, versions 1 and 2) and of pack entry headers (type and delta base).
//! Only the order depends on it: anything it cannot read is read as loose objects would be.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use git2::Oid;

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
pub(super) fn pack_order(objects: &Path, ids: &[Oid]) -> Vec<Oid> {
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
    // accepted risk of mapping (the only file keysweep maps).
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    pack_delta_families(&map, entries, &mut |r| release(&map, r))
}

/// Tells the kernel the pages of `map[range]` are no longer needed, so reading a pack far
/// larger than memory keeps a small resident set. The pages are re-read if touched again.
fn release(map: &memmap2::Mmap, range: std::ops::Range<usize>) {
    // SAFETY: `map` is a read-only file mapping; MADV_DONTNEED on it only drops the cached
    // page-table entries, and later reads fault the unchanged file contents back in. No
    // reference into the range is held across this call.
    let _ = unsafe {
        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, range.start, range.len())
    };
}

/// How far the header reader moves on between two releases of the pages behind it.
const RELEASE_STEP: usize = 16 * 1024 * 1024;

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
        if pos >= released + RELEASE_STEP {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::process::Command;

    /// Runs `git args` in `dir` (no user or system configuration) and returns its stdout.
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("git prints UTF-8")
    }

    /// One object as `git verify-pack -v` lists it.
    #[derive(Debug)]
    struct Listed {
        offset: u64,
        depth: u16,
        base: Option<Oid>,
    }

    /// A repository whose one pack holds delta chains several deep (a file edited line by
    /// line in 30 commits), and git's own listing of that pack.
    fn packed_repo() -> (tempfile::TempDir, PathBuf, HashMap<Oid, Listed>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = dir.path();
        git(repo, &["init", "-q"]);
        let mut lines: Vec<String> = (1..=400).map(|n| n.to_string()).collect();
        for i in 1..=30 {
            lines[i * 10] = format!("{} edit {i}", i * 10);
            fs::write(repo.join("f.txt"), lines.join("\n")).expect("write");
            git(repo, &["add", "f.txt"]);
            git(repo, &["commit", "-qm", &format!("edit {i}")]);
        }
        git(repo, &["repack", "-adfq", "--depth=50", "--window=250"]);
        let idx = pack_indexes(&repo.join(".git/objects"));
        assert_eq!(idx.len(), 1, "{idx:?}");
        let idx = idx.into_iter().next().expect("one index");
        let mut listed = HashMap::new();
        for line in git(
            repo,
            &["verify-pack", "-v", idx.to_str().expect("UTF-8 path")],
        )
        .lines()
        {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(Ok(id)) = f.first().map(|id| Oid::from_str(id)) else {
                continue;
            };
            if f.len() < 5 {
                continue;
            }
            listed.insert(
                id,
                Listed {
                    offset: f[4].parse().expect("offset"),
                    depth: f.get(5).map_or(0, |d| d.parse().expect("depth")),
                    base: f.get(6).map(|b| Oid::from_str(b).expect("base id")),
                },
            );
        }
        (dir, idx, listed)
    }

    fn entries_of(data: &[u8]) -> HashMap<Oid, u64> {
        let mut entries = HashMap::new();
        pack_index_entries(data, |id, offset| {
            assert!(entries.insert(id, offset).is_none(), "{id} listed twice");
        })
        .expect("index parses");
        entries
    }

    #[test]
    fn index_versions_list_what_git_lists() {
        let (dir, idx, listed) = packed_repo();
        let want: HashMap<Oid, u64> = listed.iter().map(|(id, l)| (*id, l.offset)).collect();
        assert!(want.len() > 60, "{} objects", want.len());
        // Version 2, as git writes it.
        assert_eq!(entries_of(&fs::read(&idx).expect("read idx")), want);
        // Version 1, and version 2 with every offset in the 64-bit table.
        let pack = idx.with_extension("pack");
        let pack = pack.to_str().expect("UTF-8 path");
        for (version, name) in [("1", "v1.idx"), ("2,0", "large.idx")] {
            let out = dir.path().join(name);
            let out_arg = out.to_str().expect("UTF-8 path");
            let flag = format!("--index-version={version}");
            git(dir.path(), &["index-pack", &flag, "-o", out_arg, pack]);
            let data = fs::read(&out).expect("read idx");
            assert_eq!(entries_of(&data), want, "index version {version}");
        }
        // 64-bit offsets make the file longer than the default index.
        let large = fs::metadata(dir.path().join("large.idx"))
            .expect("stat")
            .len();
        let normal = fs::metadata(&idx).expect("stat").len();
        assert_eq!(large, normal + 8 * want.len() as u64);
    }

    #[test]
    fn delta_chains_match_git() {
        let (_dir, idx, listed) = packed_repo();
        let mut entries: Vec<(u64, Oid)> = listed.iter().map(|(id, l)| (l.offset, *id)).collect();
        entries.sort_unstable_by_key(|e| e.0);
        let families = delta_families(&idx.with_extension("pack"), &entries).expect("pack parses");
        assert_eq!(families.len(), entries.len());
        let deepest = listed.values().map(|l| l.depth).max().unwrap_or(0);
        assert!(deepest >= 3, "the test pack has chains {deepest} deep");
        for (i, &(_, id)) in entries.iter().enumerate() {
            // Git's base links, followed to the full object the chain ends at.
            let mut root = id;
            while let Some(base) = listed[&root].base {
                root = base;
            }
            let (root_index, depth) = families[i];
            assert_eq!(depth, listed[&id].depth, "depth of {id}");
            assert_eq!(entries[root_index as usize].1, root, "root of {id}");
        }
    }

    #[test]
    fn order_puts_deepest_first_and_loose_objects_last() {
        let (dir, _idx, listed) = packed_repo();
        let repo = dir.path();
        fs::write(repo.join("loose.txt"), "written, never packed\n").expect("write");
        let loose = Oid::from_str(git(repo, &["hash-object", "-w", "loose.txt"]).trim());
        let loose = loose.expect("object id");
        let mut ids: Vec<Oid> = listed.keys().copied().collect();
        ids.push(loose);
        let order = pack_order(&repo.join(".git/objects"), &ids);
        assert_eq!(order.len(), ids.len());
        assert_eq!(order.last(), Some(&loose));
        // Within a family, each member comes before its base.
        let at: HashMap<Oid, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        for (id, l) in &listed {
            if let Some(base) = l.base {
                assert!(at[id] < at[&base], "{id} after its base {base}");
            }
        }
    }

    #[test]
    fn broken_indexes_are_errors() {
        let (_dir, idx, _) = packed_repo();
        let data = fs::read(&idx).expect("read idx");
        for cut in [0, 7, 8 + 255 * 4, 8 + 256 * 4 + 20, data.len() / 2] {
            assert!(
                pack_index_entries(&data[..cut], |_, _| {}).is_err(),
                "cut at {cut}"
            );
        }
        let mut v3 = data.clone();
        v3[7] = 3;
        assert!(pack_index_entries(&v3, |_, _| {}).is_err());
    }
}
