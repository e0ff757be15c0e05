//! S3 buckets as inputs: `keysweep scan s3://BUCKET[/PREFIX]`.
//!
//! Objects are listed (ListObjectsV2, or ListObjectVersions with `--all-versions`) and
//! downloaded with at most [`Options::concurrency`] GETs in flight; each body is streamed in
//! bounded pieces to a scanner thread, which sends it through the same archive, compression,
//! encoding and detector path as a file (handed to the thread's [`Sink`] as a
//! [`Source::Reopenable`]): an object is never held whole. A zip, whose directory is at its
//! end, is read by ranged GETs instead.
//!
//! The network side runs on a tokio runtime owned by [`scan`] and uses the same AWS
//! configuration chain as `--verify` (credentials, profile, region, `AWS_ENDPOINT_URL_S3` /
//! `AWS_ENDPOINT_URL`). Each bucket's region is found by itself (HeadBucket's
//! `x-amz-bucket-region`, else GetBucketLocation), so one run covers buckets in several
//! regions. Requests and bytes are counted for the summary (what the scan cost).
//!
//! Errors on one object (access denied, vanished) name the object and the scan goes on; a
//! bucket that cannot be listed is an error of the run. The first Ctrl-C stops listing and
//! downloading, and the run reports what was scanned so far.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::DateTimeFormat;
use aws_sdk_s3::types::RequestPayer;
use bytes::Bytes;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use thiserror::Error;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, Semaphore};

use crate::aws;
use crate::finding::Origin;
use crate::input::archive::{ReadSeek, Reopen, Source};
use crate::input::outcome::{Observer, S3Stats, Stats};
use crate::input::{FileOutcome, InputError, Outcome, Sink, Sinks};
use crate::shard::Shard;

/// GETs in flight by default (`--s3-concurrency`).
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Body pieces buffered per download before it waits for its scanner.
const PIECES_PER_OBJECT: usize = 16;
/// A zip is read in ranged GETs of this many bytes.
const RANGE_BLOCK: u64 = 8 << 20;
/// A download that delivers nothing for this long is abandoned.
const STALL: Duration = Duration::from_secs(60);
/// Objects of a storage class that cannot be read without a restore named in a warning.
const ARCHIVED_EXAMPLES: usize = 5;

/// One `s3://BUCKET[/PREFIX]` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    /// Key prefix (ListObjects `Prefix`: `logs/` is a folder, `logs` also takes `logs-old/`).
    pub prefix: String,
}

impl Target {
    /// `Some` when `arg` is an `s3://` URL (then `Err` when it is not a usable one).
    pub fn parse(arg: &str) -> Option<Result<Target, TargetError>> {
        let rest = arg
            .get(..5)
            .filter(|scheme| scheme.eq_ignore_ascii_case("s3://"))
            .map(|_| &arg[5..])?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (1..=255).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        Some(if valid {
            Ok(Target {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            })
        } else {
            Err(TargetError(arg.to_string()))
        })
    }

    /// `s3://bucket/prefix` as given.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// An `s3://` argument without a usable bucket name.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0:?} is not an S3 location: use s3://BUCKET or s3://BUCKET/PREFIX")]
pub struct TargetError(String);

/// Settings of the S3 part of a scan: `Options::default()` with fields set.
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Every version of every object (ListObjectVersions), not only the current ones.
    pub all_versions: bool,
    /// Globs a key must match one of (all keys when empty).
    pub include: Vec<String>,
    /// Globs whose keys are not scanned (they win over `include`).
    pub exclude: Vec<String>,
    /// Accept the charges of requester-pays buckets.
    pub request_payer: bool,
    /// GETs in flight at once.
    pub concurrency: usize,
    /// Scanner threads (0: one per core).
    pub threads: usize,
    /// Time for one attempt of one request.
    pub timeout: Duration,
    /// Attempts per request.
    pub max_attempts: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            all_versions: false,
            include: Vec::new(),
            exclude: Vec::new(),
            request_payer: false,
            concurrency: DEFAULT_CONCURRENCY,
            threads: 0,
            timeout: Duration::from_secs(30),
            max_attempts: 4,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("all_versions", &self.all_versions)
            .field("include", &self.include)
            .field("exclude", &self.exclude)
            .field("request_payer", &self.request_payer)
            .field("concurrency", &self.concurrency)
            .field("threads", &self.threads)
            .finish()
    }
}

/// An S3 scan that could not start at all (per-object and per-bucket failures are errors in
/// the outcome).
#[derive(Debug, Error)]
pub enum S3Error {
    #[error("cannot start the async runtime for S3: {0}")]
    Runtime(#[from] io::Error),
    #[error("invalid --include/--exclude glob {glob:?}: {message}")]
    Glob { glob: String, message: String },
}

/// `--include` / `--exclude` on keys. `*` also matches `/` (as in `aws s3 sync`).
#[derive(Debug, Clone)]
pub struct KeyFilter {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl KeyFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<KeyFilter, S3Error> {
        let set = |globs: &[String]| -> Result<GlobSet, S3Error> {
            let mut builder = GlobSetBuilder::new();
            for glob in globs {
                let compiled = GlobBuilder::new(glob)
                    .literal_separator(false)
                    .backslash_escape(true)
                    .build()
                    .map_err(|e| S3Error::Glob {
                        glob: glob.clone(),
                        message: e.kind().to_string(),
                    })?;
                builder.add(compiled);
            }
            builder.build().map_err(|e| S3Error::Glob {
                glob: globs.join(" "),
                message: e.kind().to_string(),
            })
        };
        Ok(KeyFilter {
            include: if include.is_empty() {
                None
            } else {
                Some(set(include)?)
            },
            exclude: set(exclude)?,
        })
    }

    /// True when `key` is to be scanned.
    pub fn keeps(&self, key: &str) -> bool {
        self.include.as_ref().is_none_or(|s| s.is_match(key)) && !self.exclude.is_match(key)
    }
}

/// True for storage classes whose objects must be restored before a GET can read them.
pub fn needs_restore(storage_class: &str) -> bool {
    matches!(storage_class, "GLACIER" | "DEEP_ARCHIVE")
}

/// The region a `GetBucketLocation` answer names (empty: us-east-1; `EU`: eu-west-1).
pub fn region_of_location(constraint: Option<&str>) -> String {
    match constraint.map(str::trim) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(region) => region.to_string(),
    }
}

/// The `s3://bucket/key` path of an object.
pub fn object_path(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// Request and byte counters, shared by the tasks.
#[derive(Debug, Default)]
struct Counters {
    list: AtomicU64,
    get: AtomicU64,
    other: AtomicU64,
    bytes: AtomicU64,
    archived: AtomicU64,
    filtered: AtomicU64,
    failed: AtomicU64,
    interrupted: AtomicU64,
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// What the tasks and scanner threads share.
struct Shared {
    counters: Counters,
    errors: Mutex<Vec<InputError>>,
    warnings: Mutex<Vec<InputError>>,
    /// What was not scanned, and why (objects in Glacier, members past a limit).
    skipped: Mutex<Vec<InputError>>,
    cancel: AtomicBool,
    payer: Option<RequestPayer>,
}

impl Shared {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn error(&self, path: String, message: String) {
        lock(&self.errors).push(InputError { path, message });
    }
}

/// One object (or version) to scan.
#[derive(Debug, Clone)]
struct ObjectRef {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    /// The listed version (`--all-versions`); `None` for the current one.
    version_id: Option<String>,
    size: u64,
}

impl ObjectRef {
    fn path(&self) -> String {
        object_path(&self.bucket, &self.key)
    }

    fn name(&self, version: Option<&str>) -> String {
        match version.or(self.version_id.as_deref()) {
            Some(v) => format!("{} @ version {v}", self.path()),
            None => self.path(),
        }
    }
}

/// A piece of a body, or why the download stopped.
type Piece = Result<Bytes, String>;

/// What a scanner thread is handed.
enum Job {
    /// A download under way.
    Open(Opened),
    /// A GET that failed.
    Failed { object: ObjectRef, message: String },
}

struct Opened {
    object: ObjectRef,
    /// The version the GET returned (pins ranged re-reads).
    version_id: Option<String>,
    etag: Option<String>,
    /// When this version was written (ISO 8601): the earliest the leak can date from.
    last_modified: Option<String>,
    size: u64,
    pieces: mpsc::Receiver<Piece>,
}

/// Reads the objects of `targets` in `shard` and hands each to a sink made by `sinks` (one
/// per scanner thread), telling `observer` as each is done: findings sorted, one error per
/// object or bucket that could not be read.
pub fn scan(
    sinks: &Sinks<'_>,
    targets: &[Target],
    shard: Shard,
    observer: Option<&dyn Observer>,
    s3: &Options,
) -> Result<Outcome, S3Error> {
    let started = Instant::now();
    let filter = KeyFilter::new(&s3.include, &s3.exclude)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("keysweep-s3")
        .enable_all()
        .build()?;
    let shared = Arc::new(Shared {
        counters: Counters::default(),
        errors: Mutex::new(Vec::new()),
        warnings: Mutex::new(Vec::new()),
        skipped: Mutex::new(Vec::new()),
        cancel: AtomicBool::new(false),
        payer: s3.request_payer.then_some(RequestPayer::Requester),
    });
    runtime.spawn(watch_interrupt(Arc::clone(&shared)));
    let limits = aws::Limits {
        attempt_timeout: s3.timeout,
        max_attempts: s3.max_attempts,
    };
    let config = runtime.block_on(aws::load_config(limits));
    let concurrency = s3.concurrency.max(1);
    let threads = match s3.threads {
        0 => crate::input::cores(),
        n => n,
    };
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(concurrency + threads);
    let producer = Producer {
        base: base_config(&config),
        default_region: config
            .region()
            .map_or_else(|| "us-east-1".to_string(), |r| r.to_string()),
        clients: HashMap::new(),
        filter,
        shard,
        all_versions: s3.all_versions,
        shared: Arc::clone(&shared),
        permits: Arc::new(Semaphore::new(concurrency)),
        jobs: jobs_tx,
    };
    let listing = runtime.spawn(producer.run(targets.to_vec()));

    let handle = runtime.handle().clone();
    let jobs_rx = Mutex::new(jobs_rx);
    let findings = Mutex::new(Vec::new());
    let totals = Mutex::new(FileTotals::default());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut sink = sinks();
                loop {
                    let job = lock(&jobs_rx).blocking_recv();
                    let Some(job) = job else { break };
                    let out = run_job(&mut *sink, job, &shared, &handle);
                    if let Some(out) = out {
                        if let Some(observer) = observer {
                            observer.file_done(out.bytes, out.findings.len(), out.archives);
                        }
                        lock(&totals).add(&out);
                        lock(&findings).extend(out.findings);
                        lock(&shared.errors).extend(out.errors);
                        lock(&shared.warnings).extend(out.warnings);
                        lock(&shared.skipped).extend(out.skipped);
                    }
                }
            });
        }
    });
    // The listing ended before the job queue closed; a panic in it (a bug) must not pass
    // for a complete scan.
    if let Err(e) = runtime.block_on(listing) {
        shared.error(
            "s3://".to_string(),
            format!("internal error: the listing stopped ({e}); the scan is incomplete"),
        );
    }
    runtime.shutdown_background();

    let c = &shared.counters;
    let was_interrupted = shared.cancelled();
    let stats = S3Stats {
        list_requests: c.list.load(Ordering::Relaxed),
        get_requests: c.get.load(Ordering::Relaxed),
        other_requests: c.other.load(Ordering::Relaxed),
        bytes_read: c.bytes.load(Ordering::Relaxed),
        objects: lock(&totals).objects,
        archived: c.archived.load(Ordering::Relaxed),
        filtered: c.filtered.load(Ordering::Relaxed),
        failed: c.failed.load(Ordering::Relaxed),
        interrupted: c.interrupted.load(Ordering::Relaxed),
        was_interrupted,
    };
    if was_interrupted {
        shared.error(
            "s3://".to_string(),
            format!(
                "interrupted (Ctrl-C): listing stopped; {} listed object(s) not scanned",
                stats.interrupted
            ),
        );
    }
    let totals = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut findings = findings.into_inner().unwrap_or_else(|p| p.into_inner());
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let sorted = |m: &Mutex<Vec<InputError>>| {
        let mut v = std::mem::take(&mut *lock(m));
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    };
    let outcome = Outcome {
        findings,
        errors: sorted(&shared.errors),
        warnings: sorted(&shared.warnings),
        skipped: sorted(&shared.skipped),
        stats: Stats {
            files: totals.objects,
            bytes: totals.bytes,
            elapsed: started.elapsed(),
            archives: totals.archives,
            decompressed: totals.decompressed,
            // Inside objects (members past a limit, read failures, failed GETs) plus the
            // objects never read: archived, or left by an interrupt.
            unscanned: totals.unscanned + stats.archived + stats.interrupted,
            s3: Some(stats),
            ..Stats::default()
        },
        notes: Vec::new(),
    };
    Ok(outcome)
}

#[derive(Debug, Default)]
struct FileTotals {
    objects: u64,
    bytes: u64,
    archives: u64,
    decompressed: u64,
    unscanned: u64,
}

impl FileTotals {
    fn add(&mut self, out: &FileOutcome) {
        if !(out.bytes == 0 && out.findings.is_empty() && !out.errors.is_empty()) {
            self.objects += 1;
        }
        self.bytes += out.bytes;
        self.archives += out.archives;
        self.decompressed += out.decompressed;
        self.unscanned += out.unscanned;
    }
}

/// The first Ctrl-C stops the scan where it is (the report is written with what was
/// scanned); a second one ends the process at once.
async fn watch_interrupt(shared: Arc<Shared>) {
    let mut seen = 0;
    while tokio::signal::ctrl_c().await.is_ok() {
        seen += 1;
        if seen > 1 {
            std::process::exit(130);
        }
        shared.cancel.store(true, Ordering::Relaxed);
        eprintln!(
            "keysweep: interrupted: stopping the S3 scan and reporting what was scanned \
             (Ctrl-C again to quit at once)"
        );
    }
}

/// The S3 client settings every region's client starts from: the loaded AWS configuration,
/// with path-style addressing when an endpoint is configured (moto, MinIO, LocalStack, VPC
/// endpoints: `bucket.host` names do not resolve there).
fn base_config(config: &SdkConfig) -> aws_sdk_s3::config::Builder {
    let custom_endpoint = config.endpoint_url().is_some()
        || ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    aws_sdk_s3::config::Builder::from(config).force_path_style(custom_endpoint)
}

/// Lists the targets and starts the downloads.
struct Producer {
    base: aws_sdk_s3::config::Builder,
    default_region: String,
    clients: HashMap<String, aws_sdk_s3::Client>,
    filter: KeyFilter,
    /// Objects outside it are left to other jobs (`--shard K/N`, by `bucket/key`).
    shard: Shard,
    all_versions: bool,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
}

/// What a listing page says about one entry.
struct Listed<'a> {
    key: &'a str,
    version_id: Option<&'a str>,
    size: u64,
    storage_class: Option<&'a str>,
}

impl Producer {
    fn client(&mut self, region: &str) -> aws_sdk_s3::Client {
        let base = &self.base;
        self.clients
            .entry(region.to_string())
            .or_insert_with(|| {
                aws_sdk_s3::Client::from_conf(
                    base.clone().region(Region::new(region.to_string())).build(),
                )
            })
            .clone()
    }

    async fn run(mut self, targets: Vec<Target>) {
        let mut regions: HashMap<String, Result<String, String>> = HashMap::new();
        for target in targets {
            if self.shared.cancelled() {
                break;
            }
            let region = match regions.get(&target.bucket) {
                Some(r) => r.clone(),
                None => {
                    let r = self.find_region(&target.bucket).await;
                    regions.insert(target.bucket.clone(), r.clone());
                    r
                }
            };
            let client = match region {
                Ok(region) => self.client(&region),
                Err(message) => {
                    self.shared.error(target.url(), message);
                    continue;
                }
            };
            let mut archived = Vec::new();
            let result = if self.all_versions {
                self.list_versions(&client, &target, &mut archived).await
            } else {
                self.list_objects(&client, &target, &mut archived).await
            };
            if let Err(message) = result {
                self.shared
                    .error(target.url(), format!("cannot list the bucket: {message}"));
            }
            if !archived.is_empty() {
                self.warn_archived(&target, &archived);
            }
        }
    }

    fn warn_archived(&self, target: &Target, archived: &[String]) {
        let examples: Vec<&str> = archived
            .iter()
            .take(ARCHIVED_EXAMPLES)
            .map(String::as_str)
            .collect();
        let more = archived.len().saturating_sub(examples.len());
        lock(&self.shared.skipped).push(InputError {
            path: target.url(),
            message: format!(
                "{} object(s) in GLACIER or DEEP_ARCHIVE storage not scanned (restore them \
                 first): {}{}",
                archived.len(),
                examples.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        });
    }

    /// The bucket's region: HeadBucket's `x-amz-bucket-region` (sent with answers and with
    /// 301/403 errors alike), else GetBucketLocation, else the configured region.
    async fn find_region(&mut self, bucket: &str) -> Result<String, String> {
        let client = self.client(&self.default_region.clone());
        bump(&self.shared.counters.other, 1);
        let answer = client.head_bucket().bucket(bucket).send().await;
        let header = |e: &SdkError<_>| {
            e.raw_response()
                .and_then(|r| r.headers().get("x-amz-bucket-region").map(str::to_string))
        };
        let status = match answer {
            Ok(out) => {
                return Ok(out
                    .bucket_region()
                    .map_or_else(|| self.default_region.clone(), str::to_string))
            }
            Err(e) => {
                if let Some(region) = header(&e) {
                    return Ok(region);
                }
                let status = e.raw_response().map(|r| r.status().as_u16());
                if status == Some(404) {
                    return Err("NoSuchBucket: the bucket does not exist".to_string());
                }
                if status.is_none() {
                    return Err(describe(e));
                }
                status
            }
        };
        bump(&self.shared.counters.other, 1);
        match client.get_bucket_location().bucket(bucket).send().await {
            Ok(out) => Ok(region_of_location(
                out.location_constraint().map(|c| c.as_str()),
            )),
            // Not allowed to ask: list with the configured region and let S3 say.
            Err(_) if status == Some(403) => Ok(self.default_region.clone()),
            Err(e) => Err(describe(e)),
        }
    }

    async fn list_objects(
        &mut self,
        client: &aws_sdk_s3::Client,
        target: &Target,
        archived: &mut Vec<String>,
    ) -> Result<(), String> {
        let mut token: Option<String> = None;
        loop {
            if self.shared.cancelled() {
                return Ok(());
            }
            bump(&self.shared.counters.list, 1);
            let page = client
                .list_objects_v2()
                .bucket(&target.bucket)
                .prefix(&target.prefix)
                .set_continuation_token(token.take())
                .set_request_payer(self.shared.payer.clone())
                .send()
                .await
                .map_err(describe)?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let listed = Listed {
                    key,
                    version_id: None,
                    size: object.size().map_or(0, |n| n.max(0) as u64),
                    storage_class: object.storage_class().map(|c| c.as_str()),
                };
                self.offer(client, &target.bucket, listed, archived).await;
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(()),
            }
        }
    }

    /// Every version, the ones behind delete markers included (delete markers have no
    /// content and are not scanned).
    async fn list_versions(
        &mut self,
        client: &aws_sdk_s3::Client,
        target: &Target,
        archived: &mut Vec<String>,
    ) -> Result<(), String> {
        let mut markers: (Option<String>, Option<String>) = (None, None);
        loop {
            if self.shared.cancelled() {
                return Ok(());
            }
            bump(&self.shared.counters.list, 1);
            let page = client
                .list_object_versions()
                .bucket(&target.bucket)
                .prefix(&target.prefix)
                .set_key_marker(markers.0.take())
                .set_version_id_marker(markers.1.take())
                .set_request_payer(self.shared.payer.clone())
                .send()
                .await
                .map_err(describe)?;
            for version in page.versions() {
                let Some(key) = version.key() else { continue };
                let listed = Listed {
                    key,
                    version_id: version.version_id().filter(|v| *v != "null"),
                    size: version.size().map_or(0, |n| n.max(0) as u64),
                    storage_class: version.storage_class().map(|c| c.as_str()),
                };
                self.offer(client, &target.bucket, listed, archived).await;
            }
            if page.is_truncated() != Some(true) {
                return Ok(());
            }
            let next = (
                page.next_key_marker().map(str::to_string),
                page.next_version_id_marker().map(str::to_string),
            );
            if next.0.is_none() {
                return Err("truncated listing without a next key marker".to_string());
            }
            markers = next;
        }
    }

    /// Filters one listed entry and starts its download (waiting for a free slot).
    async fn offer(
        &mut self,
        client: &aws_sdk_s3::Client,
        bucket: &str,
        listed: Listed<'_>,
        archived: &mut Vec<String>,
    ) {
        let counters = &self.shared.counters;
        let selected = self
            .shard
            .contains(object_path(bucket, listed.key).as_bytes());
        if !selected || !self.filter.keeps(listed.key) {
            bump(&counters.filtered, 1);
            return;
        }
        if listed.storage_class.is_some_and(needs_restore) {
            bump(&counters.archived, 1);
            let mut name = listed.key.to_string();
            if let Some(v) = listed.version_id {
                name.push_str(&format!(" @ version {v}"));
            }
            archived.push(name);
            return;
        }
        let object = ObjectRef {
            client: client.clone(),
            bucket: bucket.to_string(),
            key: listed.key.to_string(),
            version_id: listed.version_id.map(str::to_string),
            size: listed.size,
        };
        if self.shared.cancelled() {
            bump(&counters.interrupted, 1);
            return;
        }
        let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
            fetch(object, &shared, &jobs).await;
            drop(permit);
        });
    }
}

/// GETs one object and streams its body to the scanner that takes the job.
async fn fetch(object: ObjectRef, shared: &Shared, jobs: &mpsc::Sender<Job>) {
    if shared.cancelled() {
        bump(&shared.counters.interrupted, 1);
        return;
    }
    bump(&shared.counters.get, 1);
    let answer = object
        .client
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(object.version_id.clone())
        .set_request_payer(shared.payer.clone())
        .send()
        .await;
    let out = match answer {
        Ok(out) => out,
        Err(e) => {
            let message = describe(e);
            let _ = jobs.send(Job::Failed { object, message }).await;
            return;
        }
    };
    let (tx, rx) = mpsc::channel::<Piece>(PIECES_PER_OBJECT);
    let version_id = out
        .version_id()
        .filter(|v| *v != "null")
        .map(str::to_string)
        .or_else(|| object.version_id.clone());
    let size = out
        .content_length()
        .map_or(object.size, |n| n.max(0) as u64);
    let etag = out.e_tag().map(str::to_string);
    let last_modified = out
        .last_modified()
        .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok());
    let mut body = out.body;
    let opened = Opened {
        object,
        version_id,
        etag,
        last_modified,
        size,
        pieces: rx,
    };
    if jobs.send(Job::Open(opened)).await.is_err() {
        return;
    }
    loop {
        if shared.cancelled() {
            let _ = tx.send(Err("interrupted (Ctrl-C)".to_string())).await;
            return;
        }
        let piece = match tokio::time::timeout(STALL, body.next()).await {
            Err(_) => Err(format!("no data for {} s", STALL.as_secs())),
            Ok(None) => return,
            Ok(Some(Ok(bytes))) => {
                bump(&shared.counters.bytes, bytes.len() as u64);
                Ok(bytes)
            }
            Ok(Some(Err(e))) => Err(aws::error_chain(&e)),
        };
        let stop = piece.is_err();
        // The scanner went away (it reads a zip by ranges instead): stop downloading.
        if tx.send(piece).await.is_err() || stop {
            return;
        }
    }
}

/// Hands one job to a scanner thread's sink; `None` when the run was interrupted first.
fn run_job(sink: &mut dyn Sink, job: Job, shared: &Shared, handle: &Handle) -> Option<FileOutcome> {
    match job {
        Job::Failed { object, message } => {
            bump(&shared.counters.failed, 1);
            Some(FileOutcome::failed(&object.name(None), message))
        }
        Job::Open(opened) => {
            if shared.cancelled() {
                bump(&shared.counters.interrupted, 1);
                return None;
            }
            // S3 keys are UTF-8 (the API says so), so the path keeps every byte; control
            // characters in it are escaped wherever it is shown.
            let origin = Origin {
                version_id: opened.version_id.clone(),
                date: opened.last_modified.clone(),
                ..Origin::file(opened.object.path())
            };
            let mut source = ObjectSource {
                opened,
                piece: Bytes::new(),
                shared,
                handle,
            };
            let out = sink.blob(Source::Reopenable(&mut source), &origin);
            if out.bytes == 0 && out.findings.is_empty() && !out.errors.is_empty() {
                bump(&shared.counters.failed, 1);
            }
            Some(out)
        }
    }
}

/// An object being downloaded, read by a scanner thread.
struct ObjectSource<'a> {
    opened: Opened,
    piece: Bytes,
    shared: &'a Shared,
    handle: &'a Handle,
}

impl Read for ObjectSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.piece.is_empty() {
            match self.opened.pieces.blocking_recv() {
                Some(Ok(bytes)) => self.piece = bytes,
                Some(Err(message)) => return Err(io::Error::other(message)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.piece.len());
        buf[..n].copy_from_slice(&self.piece[..n]);
        let _ = self.piece.split_to(n);
        Ok(n)
    }
}

impl Reopen for ObjectSource<'_> {
    fn reader(&mut self) -> &mut dyn Read {
        self
    }

    fn size(&self) -> u64 {
        self.opened.size
    }

    fn seekable(&mut self) -> io::Result<Box<dyn ReadSeek + '_>> {
        // The streamed download is not needed any more.
        self.opened.pieces.close();
        self.piece = Bytes::new();
        Ok(Box::new(Ranged {
            object: &self.opened.object,
            version_id: self.opened.version_id.as_deref(),
            etag: self.opened.etag.as_deref(),
            len: self.opened.size,
            pos: 0,
            block_start: 0,
            block: Vec::new(),
            shared: self.shared,
            handle: self.handle,
        }))
    }
}

/// An object read by random access, in ranged GETs of [`RANGE_BLOCK`] bytes (one block held
/// at a time). Every range asks for the version (or ETag) the first GET returned, so a
/// changed object is an error, not a mix of two.
struct Ranged<'a> {
    object: &'a ObjectRef,
    version_id: Option<&'a str>,
    etag: Option<&'a str>,
    len: u64,
    pos: u64,
    block_start: u64,
    block: Vec<u8>,
    shared: &'a Shared,
    handle: &'a Handle,
}

impl Ranged<'_> {
    fn load(&mut self, start: u64) -> io::Result<()> {
        if self.shared.cancelled() {
            return Err(io::Error::other("interrupted (Ctrl-C)"));
        }
        let end = (start + RANGE_BLOCK).min(self.len) - 1;
        bump(&self.shared.counters.get, 1);
        let o = self.object;
        let request = o
            .client
            .get_object()
            .bucket(&o.bucket)
            .key(&o.key)
            .range(format!("bytes={start}-{end}"))
            .set_version_id(self.version_id.map(str::to_string))
            .set_if_match(
                self.etag
                    .filter(|_| self.version_id.is_none())
                    .map(str::to_string),
            )
            .set_request_payer(self.shared.payer.clone());
        let counters = &self.shared.counters;
        let block = &mut self.block;
        self.handle.block_on(async {
            let out = request
                .send()
                .await
                .map_err(|e| io::Error::other(describe(e)))?;
            block.clear();
            let mut body = out.body;
            while let Some(piece) = tokio::time::timeout(STALL, body.next())
                .await
                .map_err(|_| io::Error::other("ranged GET stalled"))?
            {
                let piece = piece.map_err(|e| io::Error::other(aws::error_chain(&e)))?;
                bump(&counters.bytes, piece.len() as u64);
                block.extend_from_slice(&piece);
            }
            Ok::<(), io::Error>(())
        })?;
        self.block_start = start;
        Ok(())
    }
}

impl Read for Ranged<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let in_block =
            self.pos >= self.block_start && self.pos < self.block_start + self.block.len() as u64;
        if !in_block {
            self.load(self.pos - self.pos % RANGE_BLOCK)?;
        }
        let offset = (self.pos - self.block_start) as usize;
        let available = self.block.get(offset..).unwrap_or_default();
        if available.is_empty() {
            return Err(io::Error::other(
                "the object is shorter than its listed size",
            ));
        }
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Ranged<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(n) => {
                self.pos = n;
                Ok(n)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the object",
            )),
        }
    }
}

/// `Code: message` of a failed request (or the HTTP status, timeout, connection error).
fn describe<E>(err: SdkError<E>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let text = aws::classify(err).to_string();
    match status {
        // HEAD answers carry no body: name the status.
        Some(403) if text.starts_with("HTTP") => "AccessDenied (HTTP 403)".to_string(),
        Some(404) if text.starts_with("HTTP") => "NotFound (HTTP 404)".to_string(),
        _ => text,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(Target::parse("./s3"), None);
        assert_eq!(Target::parse("s3:/x"), None);
        let t = Target::parse("s3://bucket/logs/2024/").unwrap().unwrap();
        assert_eq!(
            (t.bucket.as_str(), t.prefix.as_str()),
            ("bucket", "logs/2024/")
        );
        let t = Target::parse("S3://b.c-d").unwrap().unwrap();
        assert_eq!((t.bucket.as_str(), t.prefix.as_str()), ("b.c-d", ""));
        assert!(Target::parse("s3://").unwrap().is_err());
        assert!(Target::parse("s3:///key").unwrap().is_err());
        assert!(Target::parse("s3://a b/k").unwrap().is_err());
    }

    #[test]
    fn key_filter() {
        let f = KeyFilter::new(&["*.env".into(), "conf/**".into()], &["*test*".into()]).unwrap();
        assert!(f.keeps("a/b/prod.env"));
        assert!(f.keeps("conf/x/y.json"));
        assert!(!f.keeps("a/b/test.env"));
        assert!(!f.keeps("a/b/readme.md"));
        let all = KeyFilter::new(&[], &["logs/*".into()]).unwrap();
        assert!(all.keeps("x"));
        assert!(!all.keeps("logs/a/b.gz"));
        assert!(KeyFilter::new(&["a[".into()], &[]).is_err());
    }

    #[test]
    fn regions_and_classes() {
        assert_eq!(region_of_location(None), "us-east-1");
        assert_eq!(region_of_location(Some("")), "us-east-1");
        assert_eq!(region_of_location(Some("EU")), "eu-west-1");
        assert_eq!(region_of_location(Some("ap-south-2")), "ap-south-2");
        assert!(needs_restore("GLACIER"));
        assert!(needs_restore("DEEP_ARCHIVE"));
        assert!(!needs_restore("GLACIER_IR"));
        assert!(!needs_restore("STANDARD"));
    }
}
