//! Provenance: which commit, author and date a finding's blob first appeared at, one finding
//! per fingerprint (the oldest), and whether its credential is still in HEAD.

use std::collections::{HashMap, HashSet};

use git2::{Oid, Repository};

use super::catalog::Catalog;
use super::pool::{jobs_in_pack_order, scan_blobs, Job};
use super::GitOptions;
use crate::finding::{Finding, Origin};
use crate::input::{InputError, Sinks};
use crate::time;

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
                        Some(time::rfc3339(when.seconds(), when.offset_minutes())),
                    )
                }
                Err(_) => (None, None),
            });
        origin.commit = Some(id.to_string());
        origin.author = author.clone();
        origin.date = date.clone();
    }
}

/// The credential values of a finding: key ID, secret, session token as present.
pub(super) fn material(f: &Finding) -> impl Iterator<Item = &str> {
    [&f.key_id, &f.secret, &f.session_token]
        .into_iter()
        .flatten()
        .map(String::as_str)
}

/// Attaches provenance to findings of blobs and keeps, per fingerprint, the one whose blob
/// appeared first. `present_at_head` says whether every credential value of the finding is
/// still in a blob of the HEAD tree (`head_blobs`).
pub(super) fn finish_findings(
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

/// For a sharded run: the credential values held by HEAD-tree blobs of the *other* parts,
/// which `present_at_head` needs. They are scanned only when a finding of this part holds a
/// value that its own HEAD blobs do not (a credential moved to a file of another part), so a
/// run with no such finding reads nothing more.
#[allow(clippy::too_many_arguments)]
pub(super) fn other_parts_at_head(
    sinks: &Sinks<'_>,
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
    let found = scan_blobs(sinks, repo.path(), &other_jobs, opts.threads);
    let values = found
        .findings
        .iter()
        .flat_map(|(_, f)| material(f).map(str::to_string))
        .collect();
    (values, found.rest.errors)
}
