//! Reading blobs in pack order and scanning them on all cores.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use git2::{ObjectType, Oid, Repository};

use super::catalog::Catalog;
use super::pack::pack_order;
use crate::finding::{Finding, Origin};
use crate::input::archive::Source;
use crate::input::{FileOutcome, InputError, Outcome, Sink, Sinks};

/// One blob to scan and the path its findings are reported under.
pub(super) struct Job<'a> {
    pub(super) id: Oid,
    pub(super) path: &'a str,
}

/// What scanning a list of jobs produced: findings with the index of their job (provenance
/// is attached to them afterwards), and the rest of the outcome (blobs counted as files).
#[derive(Default)]
pub(super) struct Scanned {
    pub(super) findings: Vec<(usize, Finding)>,
    pub(super) rest: Outcome,
}

impl Scanned {
    /// Adds one blob's outcome; its findings get the job index `n`.
    fn add(&mut self, n: usize, out: FileOutcome) {
        let found = self.rest.absorb(out);
        self.findings.extend(found.into_iter().map(|f| (n, f)));
    }

    fn append(&mut self, mut other: Scanned) {
        self.findings.append(&mut other.findings);
        self.rest.merge(other.rest);
    }

    /// The outcome of a scan whose findings are `findings` (with provenance attached).
    pub(super) fn into_outcome(self, findings: Vec<Finding>) -> Outcome {
        Outcome {
            findings,
            ..self.rest
        }
    }
}

/// Hands one blob held in memory to `sink`, with `path` (a [`crate::finding::path_key`]) as
/// its origin.
pub(super) fn scan_blob(sink: &mut dyn Sink, data: &[u8], path: &str) -> FileOutcome {
    sink.blob(Source::Bytes(data), &Origin::from_path_key(path))
}

/// Reads `jobs` (already in pack order) on `threads` threads (0: one per core) and hands
/// each blob to the thread's sink. Each thread opens its own repository handle and makes one
/// sink; threads take consecutive runs of jobs, so neighbouring objects (a delta and its
/// base) are read close together in time.
pub(super) fn scan_blobs(
    sinks: &Sinks<'_>,
    git_dir: &Path,
    jobs: &[Job<'_>],
    threads: usize,
) -> Scanned {
    if jobs.is_empty() {
        return Scanned::default();
    }
    let threads = match threads {
        0 => crate::input::cores(),
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
                    Ok(repo) => scan_runs(sinks, &repo, jobs, run, &next, &mut mine),
                    Err(e) => mine.rest.errors.push(InputError {
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
    sinks: &Sinks<'_>,
    repo: &Repository,
    jobs: &[Job<'_>],
    run: usize,
    next: &AtomicUsize,
    out: &mut Scanned,
) {
    let odb = match repo.odb() {
        Ok(odb) => odb,
        Err(e) => {
            out.rest.errors.push(InputError {
                path: repo.path().display().to_string(),
                message: format!("cannot open the object database: {}", e.message()),
            });
            return;
        }
    };
    let mut sink = sinks();
    loop {
        let start = next.fetch_add(run, Ordering::Relaxed);
        if start >= jobs.len() {
            break;
        }
        for (n, job) in jobs.iter().enumerate().skip(start).take(run) {
            let object = match odb.read(job.id) {
                Ok(o) => o,
                Err(e) => {
                    out.rest.errors.push(InputError {
                        path: job.path.to_string(),
                        message: format!("cannot read blob {}: {}", job.id, e.message()),
                    });
                    out.rest.stats.unscanned += 1;
                    continue;
                }
            };
            if object.kind() != ObjectType::Blob {
                continue;
            }
            let data = object.data();
            out.rest.stats.files += 1;
            out.rest.stats.bytes += data.len() as u64;
            out.add(n, scan_blob(&mut *sink, data, job.path));
        }
    }
}

/// Jobs for the catalogue's blobs, in pack order.
pub(super) fn jobs_in_pack_order<'c>(
    repo: &Repository,
    catalog: &'c Catalog,
    ids: &[Oid],
) -> Vec<Job<'c>> {
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
