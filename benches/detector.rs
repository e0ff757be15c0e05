//! Detector throughput on generated data (criterion, reported as bytes per second).
//!
//! Inputs, all built in memory at start-up:
//! - `no_candidates`: source-like text in which no rule keyword occurs (the common case; the
//!   target is >= 1 GB/s on one core);
//! - `key_every_mb`: the same text with a key ID + secret pair every MiB;
//! - `dense_akia`: the worst case for the prefilter, `AKIA` every 100 bytes followed by text
//!   that is not a key ID (every hit opens a window and runs the key-ID regex);
//! - `dense_key_ids`: a valid-looking key ID every 100 bytes (every hit is confirmed, so the
//!   near-key-ID secret rule and pairing run too).
//!
//! The dense target is >= 100 MB/s. Run with `cargo bench --bench detector`; the run is kept
//! short (few samples, a few seconds each).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keysweep::detect::{Detector, ScanState};
use keysweep::finding::Origin;
use keysweep::rules;
use keysweep::scan::BlobScanner;

const MIB: usize = 1024 * 1024;

/// xorshift64*: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: [&str; 24] = [
    "value", "config", "handler", "request", "response", "buffer", "index", "count", "result",
    "error", "client", "server", "parse", "render", "update", "item", "total", "offset", "length",
    "options", "context", "state", "stream", "cache",
];

/// One line of source-like text (Rust/Python/JS-ish), with no rule keyword in it.
fn source_line(rng: &mut Rng, out: &mut Vec<u8>) {
    let w = |rng: &mut Rng| WORDS[rng.below(WORDS.len())];
    let indent = "    ".repeat(rng.below(4));
    let line = match rng.below(6) {
        0 => format!(
            "{indent}let {}_{} = {}(&{}, {});\n",
            w(rng),
            rng.below(100),
            w(rng),
            w(rng),
            rng.below(10_000)
        ),
        1 => format!(
            "{indent}// Returns the {} of the {} after {} updates.\n",
            w(rng),
            w(rng),
            rng.below(50)
        ),
        2 => format!(
            "{indent}if {}.{}() > {} {{ return Err(Error::{}); }}\n",
            w(rng),
            w(rng),
            rng.below(1000),
            w(rng)
        ),
        3 => format!(
            "{indent}def {}_{}(self, {}, {}={}):\n",
            w(rng),
            w(rng),
            w(rng),
            w(rng),
            rng.below(9)
        ),
        4 => format!(
            "{indent}const {} = await {}.{}({{ {}: \"{}-{}\" }});\n",
            w(rng),
            w(rng),
            w(rng),
            w(rng),
            w(rng),
            rng.below(1 << 20)
        ),
        _ => format!("{indent}}}\n"),
    };
    out.extend_from_slice(line.as_bytes());
}

fn text_without_candidates(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(len + 128);
    while out.len() < len {
        source_line(&mut rng, &mut out);
    }
    out.truncate(len);
    out
}

const KEY_ID: &str = "AKIAR7VZ3MOXQ4JTLW2N";
const SECRET: &str = "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";

/// Source-like text with a credentials-file pair every MiB.
fn key_every_mb(len: usize) -> Vec<u8> {
    let mut data = text_without_candidates(len, 7);
    let pair = format!("\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n");
    let mut at = MIB / 2;
    while at + pair.len() < data.len() {
        data[at..at + pair.len()].copy_from_slice(pair.as_bytes());
        at += MIB;
    }
    data
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `AKIA` every 100 bytes; with `valid`, each is followed by 16 random base32 characters
/// (a plausible key ID), otherwise by lower-case text the key-ID pattern rejects.
fn dense(len: usize, valid: bool) -> Vec<u8> {
    let mut data = text_without_candidates(len, 11);
    let mut rng = Rng(13);
    let mut at = 50;
    while at + 20 < data.len() {
        data[at - 1] = b' ';
        data[at..at + 4].copy_from_slice(b"AKIA");
        for b in &mut data[at + 4..at + 20] {
            *b = if valid {
                BASE32[rng.below(32)]
            } else {
                b'a' + rng.below(26) as u8
            };
        }
        data[at + 20] = b' ';
        at += 100;
    }
    data
}

fn bench_detector(c: &mut Criterion) {
    let detector = Detector::new(rules::builtin()).expect("built-in rules compile");
    let inputs: [(&str, Vec<u8>); 4] = [
        ("no_candidates", text_without_candidates(64 * MIB, 3)),
        ("key_every_mb", key_every_mb(64 * MIB)),
        ("dense_akia", dense(16 * MIB, false)),
        ("dense_key_ids", dense(16 * MIB, true)),
    ];

    let mut group = c.benchmark_group("detector");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (name, data) in &inputs {
        group.throughput(Throughput::Bytes(data.len() as u64));
        // The detector alone: prefilter, windows, checks, pairing.
        let mut state = ScanState::default();
        group.bench_function(*name, |b| {
            b.iter(|| black_box(detector.scan(black_box(data), &mut state)).len())
        });
    }
    // The whole per-blob path (pieces, line/column, findings) on the realistic input.
    let (name, data) = &inputs[1];
    group.throughput(Throughput::Bytes(data.len() as u64));
    let mut scanner = BlobScanner::new(&detector);
    let origin = Origin::file("bench");
    group.bench_function(format!("{name}/scan_bytes"), |b| {
        b.iter(|| black_box(scanner.scan_bytes(black_box(data), &origin)).len())
    });
    group.finish();
}

criterion_group!(benches, bench_detector);
criterion_main!(benches);
