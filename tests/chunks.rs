//! Piecewise scanning finds exactly what a whole-buffer scan finds.
//!
//! Every input is read in segments (`ArchiveOptions::segment`, overlapping so a credential on
//! a border is seen whole) and each segment is handed to the detector in pieces
//! (`ScanOptions::chunk`). These tests plant credentials across piece and segment borders,
//! scan the same bytes in several ways through the library, and require identical findings,
//! each credential exactly once at the right line and column.
//!
//! All keys are made up (generated below from a fixed seed), never real credentials.

use crate::common;

use std::path::Path;

use keysweep::detect::Detector;
use keysweep::finding::{Finding, Kind, Origin};
use keysweep::input::archive::ArchiveOptions;
use keysweep::rules;
use keysweep::scan::{BlobScanner, ScanOptions};
use proptest::prelude::*;
use tempfile::TempDir;

use common::{KEY as KEY_ID, SECRET, TOKEN};

const CHUNKS: [usize; 4] = [4096, 10_000, 65_536, 1 << 20];
/// Segment sizes: small ones put many planted credentials on segment borders.
const SEGMENTS: [usize; 3] = [40_000, 1 << 16, keysweep::input::archive::SEGMENT];

/// The built-in detector, compiled once for all tests (compiling it is the slow part of a
/// small scan).
fn detector() -> &'static Detector {
    static DETECTOR: std::sync::OnceLock<Detector> = std::sync::OnceLock::new();
    DETECTOR.get_or_init(|| Detector::new(rules::builtin()).unwrap())
}

/// A small deterministic generator (xorshift64*), so the planted keys are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// One credential text to plant and what it must yield.
struct Plant {
    text: String,
    kind: Kind,
    key_id: Option<String>,
    secret: Option<String>,
    /// Byte offset within `text` where the finding is reported.
    anchor: usize,
}

/// The credential shapes planted across borders (each starts and ends with a newline).
fn make_plant(shape: usize, id: &str, temp_id: &str, secret: &str) -> Plant {
    let (text, kind, key_id, anchor_of) = match shape % 6 {
        0 => (
            format!("\n[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
            Kind::AccessKeyPair,
            Some(id),
            id,
        ),
        1 => (
            format!(
                "\n\tcreds := credentials.NewStaticCredentials(\"{id}\", \"{secret}\", \"\")\n"
            ),
            Kind::AccessKeyPair,
            Some(id),
            id,
        ),
        2 => (
            format!("\n# rotated: {id}\n"),
            Kind::AccessKeyId,
            Some(id),
            id,
        ),
        3 => (
            format!(
                "\n{{\"Credentials\": {{\"AccessKeyId\": \"{temp_id}\", \"SecretAccessKey\": \
                 \"{secret}\", \"SessionToken\": \"{TOKEN}\", \"Expiration\": \"2026-11-27\"}}}}\n"
            ),
            Kind::SessionCredentials,
            Some(temp_id),
            temp_id,
        ),
        4 => (
            format!("\nexport AWS_SECRET_ACCESS_KEY=\"{secret}\"\n"),
            Kind::SecretAccessKey,
            None,
            secret,
        ),
        _ => (
            format!("\nAccess key ID,Secret access key\r\n{id},{secret}\r\n"),
            Kind::AccessKeyPair,
            Some(id),
            id,
        ),
    };
    let anchor = text.find(anchor_of).unwrap();
    let secret = (kind != Kind::AccessKeyId).then(|| secret.to_string());
    Plant {
        anchor,
        kind,
        key_id: key_id.map(str::to_string),
        secret,
        text,
    }
}

/// Scans a plant on its own; true when it yields exactly the finding it should.
fn plant_ok(detector: &Detector, plant: &Plant) -> bool {
    let found = BlobScanner::new(detector).scan_bytes(plant.text.as_bytes(), &Origin::file("x"));
    found.len() == 1
        && found[0].kind == plant.kind
        && found[0].key_id == plant.key_id
        && found[0].secret == plant.secret
}

/// Draws plants of every shape with fresh random keys, keeping those the detector accepts
/// on their own (a random draw may contain a placeholder-like run, which is rejected).
fn plants(detector: &Detector, rng: &mut Rng, n: usize) -> Vec<Plant> {
    let mut out = Vec::new();
    while out.len() < n {
        let id = format!("AKIA{}", rng.pick(BASE32, 16));
        let temp_id = format!("ASIA{}", rng.pick(BASE32, 16));
        let secret = rng.pick(BASE64, 40);
        let plant = make_plant(out.len(), &id, &temp_id, &secret);
        if plant_ok(detector, &plant) {
            out.push(plant);
        }
    }
    out
}

/// Filler: source-like lines, with one stretch of pseudo-random binary bytes.
fn filler(rng: &mut Rng, len: usize, binary: bool) -> Vec<u8> {
    if binary {
        // Random bytes without newlines next to the plants' own newlines is fine either way;
        // keep them from forming base64 runs by mixing in high bytes.
        return (0..len)
            .map(|_| {
                let b = (rng.next() >> 24) as u8;
                if b.is_ascii_alphanumeric() {
                    b | 0x80
                } else {
                    b
                }
            })
            .collect();
    }
    const LINES: [&str; 5] = [
        "    let total = items.iter().map(|x| x.price * x.qty).sum::<u64>();\n",
        "    // Copyright notice and license text for the generated corpus.\n",
        "fn handler(req: Request) -> Result<Response, Error> {\n",
        "    if config.region == \"eu-west-1\" { return Ok(default()); }\n",
        "}\n",
    ];
    let mut out = Vec::with_capacity(len + 80);
    while out.len() < len {
        out.extend_from_slice(LINES[(rng.next() % 5) as usize].as_bytes());
    }
    out.truncate(len);
    out
}

/// Offsets where the plants go: piece borders of every chunk size, at least `gap` bytes
/// apart. Borders of the larger sizes are taken first (there are few of them), then those of
/// the smaller sizes where there is room.
fn border_targets(len: usize, gap: usize) -> Vec<usize> {
    let mut picked = std::collections::BTreeSet::new();
    for &chunk in CHUNKS.iter().rev() {
        for border in (1..).map(|k| k * chunk).take_while(|&b| b + gap < len) {
            let before = picked.range(..=border).next_back();
            let after = picked.range(border..).next();
            let free = before.map_or(border >= gap, |&p| border >= p + gap)
                && after.is_none_or(|&p| p >= border + gap);
            if free {
                picked.insert(border);
            }
        }
    }
    picked.into_iter().collect()
}

/// A blob with plants straddling piece borders; returns it with the expected findings as
/// (offset of the anchor, plant index).
fn planted_blob(detector: &Detector) -> (Vec<u8>, Vec<Plant>, Vec<usize>) {
    let mut rng = Rng(0x6b65_7973_7765_6570);
    const LEN: usize = 1_200_000;
    let targets = border_targets(LEN, 3000);
    let plants = plants(detector, &mut rng, targets.len());
    let mut data = Vec::with_capacity(LEN + 10_000);
    let mut anchors = Vec::new();
    for (i, (&border, plant)) in targets.iter().zip(&plants).enumerate() {
        // Put the border at a different place inside each plant: before it, in the key ID,
        // in the secret, in the token, just after it.
        let text = plant.text.as_bytes();
        let into = match i % 5 {
            0 => 0,
            1 => plant.anchor + 7,
            2 => text.len() * 2 / 3,
            3 => text.len() - 2,
            _ => text.len() / 2,
        }
        .min(text.len());
        let start = border - into;
        assert!(start >= data.len() + 2, "plants overlap at {border}");
        let gap = start - data.len();
        data.extend(filler(&mut rng, gap, i % 7 == 6));
        anchors.push(data.len() + plant.anchor);
        data.extend_from_slice(text);
    }
    let tail = LEN.saturating_sub(data.len());
    data.extend(filler(&mut rng, tail, false));
    (data, plants, anchors)
}

fn line_and_column(data: &[u8], offset: usize) -> (usize, usize) {
    let line_start = data[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let line = data[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
    // Code points: every byte that is not a UTF-8 continuation byte.
    let column = data[line_start..offset]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count()
        + 1;
    (line, column)
}

/// Options scanning in segments of `segment` bytes, pieces of `chunk`, segments of one
/// input on `threads` threads (1: on the reading thread only).
fn options(segment: usize, chunk: usize, threads: usize) -> ScanOptions {
    let mut archive = ArchiveOptions::default();
    archive.segment = segment;
    archive.max_bytes = 1 << 40;
    let mut opts = ScanOptions::default();
    opts.chunk = chunk;
    opts.archive = archive;
    opts.segment_threads = threads;
    opts
}

fn scan_file(detector: &Detector, path: &Path, segment: usize, chunk: usize) -> Vec<Finding> {
    let serial = scan_file_on(detector, path, segment, chunk, 1);
    let parallel = scan_file_on(detector, path, segment, chunk, 3);
    assert_eq!(parallel, serial, "segment {segment}, chunk {chunk}");
    serial
}

fn scan_file_on(
    detector: &Detector,
    path: &Path,
    segment: usize,
    chunk: usize,
    threads: usize,
) -> Vec<Finding> {
    let opts = options(segment, chunk, threads);
    let (found, bytes) = BlobScanner::new(detector).scan_file(path, &opts).unwrap();
    assert_eq!(bytes, std::fs::metadata(path).unwrap().len());
    found
}

#[test]
fn planted_keys_are_found_once_whatever_the_piece_size() {
    let detector = detector();
    let (data, plants, anchors) = planted_blob(detector);
    assert!(plants.len() >= 40, "only {} plants", plants.len());
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("planted.bin");
    std::fs::write(&path, &data).unwrap();
    let origin = Origin::file(path.display().to_string());

    let whole = BlobScanner::new(detector).scan_bytes(&data, &origin);

    // The whole-buffer scan finds every plant exactly once, where it was planted.
    assert_eq!(whole.len(), plants.len(), "{whole:#?}");
    for ((plant, &anchor), found) in plants.iter().zip(&anchors).zip(&whole) {
        let (line, column) = line_and_column(&data, anchor);
        assert_eq!(found.kind, plant.kind, "at {anchor}: {found:#?}");
        assert_eq!(found.key_id, plant.key_id, "at {anchor}");
        assert_eq!(found.secret, plant.secret, "at {anchor}");
        assert_eq!((found.location.line, found.location.column), (line, column));
    }
    let sessions = whole.iter().filter(|f| f.kind == Kind::SessionCredentials);
    assert!(sessions.clone().count() >= 5);
    assert!(sessions
        .into_iter()
        .all(|f| f.session_token.as_deref() == Some(TOKEN)));

    // Pieces of every size, in segments of several sizes, give the same findings.
    for chunk in CHUNKS {
        for segment in SEGMENTS {
            let found = scan_file(detector, &path, segment, chunk);
            assert_eq!(found, whole, "chunk {chunk}, segment {segment}");
        }
    }
    // Odd piece sizes, smaller than the detector's look-around.
    for chunk in [1000, 4097, 9999, detector.overlap(), detector.overlap() + 1] {
        assert_eq!(
            scan_file(detector, &path, 1 << 16, chunk),
            whole,
            "chunk {chunk}"
        );
    }
}

#[test]
fn keys_at_the_segment_border_and_file_end_are_found_once() {
    let detector = detector();
    let dir = TempDir::new().unwrap();
    let pair = format!("\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}");
    let mut rng = Rng(42);
    for len in [4095usize, 4096, 4097, 65_535, 65_536, 65_537] {
        let mut data = filler(&mut rng, len - pair.len(), false);
        data.extend_from_slice(pair.as_bytes());
        let path = dir.path().join(format!("f{len}"));
        std::fs::write(&path, &data).unwrap();
        let anchor = data.len() - pair.len() + pair.find(KEY_ID).unwrap();
        let (line, column) = line_and_column(&data, anchor);
        // One segment, exactly the size, just below it (the pair on the border).
        for segment in [len + 1, len, len - 1] {
            for chunk in [4096, len - 1, len, len + 1] {
                let found = scan_file(detector, &path, segment, chunk);
                let what = format!("len {len}, segment {segment}, chunk {chunk}");
                assert_eq!(found.len(), 1, "{what}: {found:#?}");
                assert_eq!(found[0].kind, Kind::AccessKeyPair, "{what}");
                assert_eq!(found[0].key_id.as_deref(), Some(KEY_ID), "{what}");
                assert_eq!(found[0].secret.as_deref(), Some(SECRET), "{what}");
                assert_eq!(
                    (found[0].location.line, found[0].location.column),
                    (line, column),
                    "{what}"
                );
            }
        }
    }
}

/// Scans `data` as a file, in small segments or one, in pieces of `chunk` bytes.
fn scan_as_file(detector: &Detector, data: &[u8], chunk: usize, small: bool) -> Vec<Finding> {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("blob");
    std::fs::write(&path, data).unwrap();
    let segment = if small {
        8192
    } else {
        keysweep::input::archive::SEGMENT
    };
    scan_file(detector, &path, segment, chunk)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A key pair planted at any offset of random bytes, scanned in pieces of any size,
    /// in small segments or one, is found exactly once, at the right line and column.
    #[test]
    fn planted_pair_in_random_bytes_is_found_once(
        prefix in proptest::collection::vec(any::<u8>(), 0..12_000),
        suffix in proptest::collection::vec(any::<u8>(), 0..6_000),
        chunk in 700usize..16_000,
        mapped in any::<bool>(),
        code_style in any::<bool>(),
    ) {
        let pair = if code_style {
            format!("\nnew BasicAWSCredentials(\"{KEY_ID}\", \"{SECRET}\");\n")
        } else {
            format!("\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
        };
        let mut data = prefix.clone();
        data.extend_from_slice(pair.as_bytes());
        data.extend_from_slice(&suffix);
        let anchor = prefix.len() + pair.find(KEY_ID).unwrap();
        let (line, column) = line_and_column(&data, anchor);

        let found = scan_as_file(detector(), &data, chunk, mapped);
        let pairs: Vec<&Finding> = found
            .iter()
            .filter(|f| f.key_id.as_deref() == Some(KEY_ID))
            .collect();
        prop_assert_eq!(pairs.len(), 1, "{:#?}", found);
        prop_assert_eq!(pairs[0].kind, Kind::AccessKeyPair);
        prop_assert_eq!(pairs[0].secret.as_deref(), Some(SECRET));
        prop_assert_eq!(pairs[0].location.line, line);
        prop_assert_eq!(pairs[0].location.column, column);
        // Nothing else comes out of random bytes around it.
        prop_assert_eq!(found.len(), 1, "{:#?}", found);
    }
}

/// The planted blob of [`planted_blob`], made once.
fn planted() -> &'static (Vec<u8>, Vec<Plant>, Vec<usize>) {
    static BLOB: std::sync::OnceLock<(Vec<u8>, Vec<Plant>, Vec<usize>)> =
        std::sync::OnceLock::new();
    BLOB.get_or_init(|| planted_blob(detector()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Segments scanned on worker threads while the reading thread reads on (a file, a
    /// stream, a gzip stream decompressed on the reading thread) give exactly the findings of
    /// the serial scan, in the same order, at the same lines and columns, whatever the
    /// segment size and the window of planted credentials; with segments larger than a
    /// credential's reach, those of a scan of the whole window at once.
    #[test]
    fn segments_on_worker_threads_match_the_serial_scan(
        from in 0usize..900_000,
        len in 1usize..600_000,
        segment in 1024usize..90_000,
        threads in 2usize..5,
        chunk in proptest::sample::select(vec![4096usize, 65_536, 1 << 20]),
        gzip in any::<bool>(),
    ) {
        use std::io::Write;
        let detector = detector();
        let (data, _, _) = planted();
        let window = &data[from..(from + len).min(data.len())];
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("window");
        let bytes = if gzip {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(window).unwrap();
            gz.finish().unwrap()
        } else {
            window.to_vec()
        };
        std::fs::write(&path, &bytes).unwrap();

        let serial = scan_file_on(detector, &path, segment, chunk, 1);
        let parallel = scan_file_on(detector, &path, segment, chunk, threads);
        prop_assert_eq!(&parallel, &serial);

        let origin = Origin::file(path.display().to_string());
        let streamed = BlobScanner::new(detector).scan_reader(
            &mut std::io::Cursor::new(&bytes),
            &origin,
            &options(segment, chunk, threads),
        );
        prop_assert!(streamed.errors.is_empty(), "{:?}", streamed.errors);
        prop_assert_eq!(&streamed.findings, &serial);

        if segment >= 40_000 {
            let whole = BlobScanner::new(detector).scan_bytes(window, &origin);
            prop_assert_eq!(&parallel, &whole);
        }
    }
}
