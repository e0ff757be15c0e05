//! `--staged`: the lines the index adds to HEAD, with their real line numbers (whole blobs
//! for binary, archive and compressed ones).

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, ErrorCode, FileMode, Patch, Repository};

use super::pool::scan_blob;
use super::provenance::material;
use super::{git, GitError, GitOptions};
use crate::input::archive;
use crate::input::{InputError, Outcome, Sinks};

pub(super) fn scan_staged(
    sinks: &Sinks<'_>,
    repo: &Repository,
    git_opts: &GitOptions,
) -> Result<Outcome, GitError> {
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

    let mut sink = sinks();
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
            .map(|p| crate::finding::path_key(p).into_owned())
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
                let blob_out = scan_blob(&mut *sink, data, &path);
                out.absorb(blob_out)
            }
            Some(Ok(lines)) => {
                let blob_out = scan_blob(&mut *sink, &only_lines(data, &lines), &path);
                out.absorb(blob_out)
            }
            Some(Err(_)) => {
                // Whole blobs (or no line diff: libgit2 refuses some huge inputs).
                let old_data = old.as_ref().map_or(&[][..], |o| o.content());
                let old_out = scan_blob(&mut *sink, old_data, &path);
                let existed: HashSet<String> = old_out
                    .findings
                    .iter()
                    .flat_map(|f| material(f).map(str::to_string))
                    .collect();
                let blob_out = scan_blob(&mut *sink, data, &path);
                let mut found = out.absorb(blob_out);
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
