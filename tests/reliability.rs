//! No silent clean: every byte is reached or counted, memory stays bounded by construction,
//! nothing crashes the scan. Each case is built at test time and run through the real binary
//! (large inputs live in `benches/reliability.sh`, not here).

use crate::common;

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use base64::Engine;
use tempfile::TempDir;

use common::{exit_code, json_scan, keysweep, write, Run, KEY, OTHER_KEY, SECRET};

fn env_file(key: &str, secret: &str) -> Vec<u8> {
    format!("# deploy settings\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
        .into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_path(name).unwrap();
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A zstd frame of raw blocks whose header asks for a window of `2^window_log` bytes (what
/// `zstd --long=27` writes), holding `data`.
fn zstd_frame(window_log: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, (window_log - 10) << 3];
    let blocks: Vec<&[u8]> = data.chunks(100_000).collect();
    if blocks.is_empty() {
        out.extend_from_slice(&[1, 0, 0]);
    }
    for (i, block) in blocks.iter().enumerate() {
        let last = u32::from(i + 1 == blocks.len());
        let header = last | (block.len() as u32) << 3;
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(block);
    }
    out
}

/// `keysweep scan --format json --show-secrets ARGS` in `dir`.
fn scan(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = json_scan();
    cmd.current_dir(dir)
        .arg("--show-secrets")
        .args(args)
        .timeout(Duration::from_secs(60));
    Run::report(cmd.output().unwrap())
}

fn member_of(run: &Run, key: &str) -> String {
    let f = run
        .findings
        .iter()
        .find(|f| f["key_id"] == key)
        .unwrap_or_else(|| panic!("no finding of {key}: {run:#?}"));
    f["location"]["archive_member"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// 2. Every explicit input is read.

#[test]
fn dev_stdin_given_as_a_path_is_read() {
    let out = keysweep()
        .args(["scan", "--format", "json", "/dev/stdin"])
        .write_stdin(env_file(KEY, SECRET))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let run = Run::report(out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.key_ids(), vec![KEY]);
    assert!(run.stderr.contains("scanned 1 file"), "{}", run.stderr);
}

#[test]
fn process_substitution_is_read() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "k.env.gz", gzip(&env_file(KEY, SECRET)));
    let bin = assert_cmd::cargo::cargo_bin("keysweep");
    let out = Process::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' scan --format json <(cat k.env.gz) <(printf 'nothing\\n')",
            bin.display()
        ))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let run = Run::report(out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.key_ids(), vec![KEY]);
    assert!(run.stderr.contains("scanned 2 files"), "{}", run.stderr);
}

#[test]
fn named_fifo_is_read_and_a_fifo_in_a_walk_is_skipped_and_counted() {
    let dir = TempDir::new().unwrap();
    let fifo = dir.path().join("pipe");
    let made = Process::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Named: read as a stream (a writer feeds it).
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, env_file(KEY, SECRET)).unwrap())
    };
    let run = scan(dir.path(), &["pipe"]);
    writer.join().unwrap();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.key_ids(), vec![KEY]);

    // In a walk: skipped (never opened, so never hung on), named, counted, exit 2.
    write(dir.path(), "clean.txt", "nothing here\n");
    let run = scan(dir.path(), &["."]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.findings.is_empty());
    assert!(run.stderr.contains("pipe: FIFO skipped"), "{}", run.stderr);
    assert!(run.stderr.contains("1 item NOT scanned"), "{}", run.stderr);
    let run = scan(dir.path(), &[".", "--allow-incomplete"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn character_device_is_read_as_a_stream() {
    let dir = TempDir::new().unwrap();
    let run = scan(dir.path(), &["/dev/null"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("scanned 1 file"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// 3. Incomplete is never clean.

#[test]
fn zip_member_past_a_limit_is_skipped_alone() {
    let dir = TempDir::new().unwrap();
    // 16 MiB of zeros (a bomb by ratio) followed by prod.env.
    let zeros = vec![0u8; 16 << 20];
    let bomb = zip(&[("zeros.bin", &zeros), ("prod.env", &env_file(KEY, SECRET))]);
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    write(dir.path(), "bomb.zip", &bomb);
    let run = scan(dir.path(), &["bomb.zip", "--max-ratio", "100"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(member_of(&run, KEY), "prod.env");
    assert!(
        run.stderr
            .contains("keysweep: not scanned: bomb.zip!zeros.bin: expands more than 100x"),
        "{}",
        run.stderr
    );
    // Past the byte budget by its declared size: skipped unread, the next member is read.
    let run = scan(dir.path(), &["bomb.zip", "--max-archive-bytes", "1M"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(member_of(&run, KEY), "prod.env");
    assert!(
        run.stderr
            .contains("bomb.zip!zeros.bin: zip member decompresses to 16.0 MiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn bytes_after_corrupt_compressed_data_are_scanned_raw() {
    let dir = TempDir::new().unwrap();
    // A gzip stream, then a plain-text key: not gzip, but bytes of the file all the same.
    let mut data = gzip(b"just a log line\n");
    data.extend_from_slice(b"\n");
    data.extend_from_slice(&env_file(KEY, SECRET));
    write(dir.path(), "trailing.gz", &data);
    // A gzip stream damaged in its middle, with a key in plain text after it.
    let mut body = Vec::new();
    for i in 0..2000 {
        body.extend_from_slice(format!("entry {i} {}\n", i * 7919 % 1000).as_bytes());
    }
    let mut broken = gzip(&body);
    let mid = broken.len() / 2;
    broken[mid..mid + 16].fill(0xff);
    broken.extend_from_slice(&env_file(OTHER_KEY, SECRET));
    write(dir.path(), "broken.gz", &broken);

    let run = scan(dir.path(), &["trailing.gz", "broken.gz"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.sorted_key_ids(), {
        let mut v = vec![KEY, OTHER_KEY];
        v.sort_unstable();
        v
    });
    assert!(member_of(&run, KEY).contains("after corrupt gzip data"));
    assert!(
        run.stderr
            .contains("broken.gz: corrupt or truncated gzip data"),
        "{}",
        run.stderr
    );
}

#[test]
fn tar_with_a_corrupt_header_then_more_members() {
    let dir = TempDir::new().unwrap();
    let mut t = tar(&[
        ("a.txt", b"first member\n".as_slice()),
        ("b.txt", b"second member\n".as_slice()),
        ("prod.env", &env_file(KEY, SECRET)),
    ]);
    // Break the checksum of the second header (at 1024: 512 header + 512 data of a.txt).
    t[1024 + 148..1024 + 156].copy_from_slice(b"0000000\0");
    write(dir.path(), "broken.tar", &t);
    write(dir.path(), "broken.tar.gz", gzip(&t));
    let run = scan(dir.path(), &["broken.tar", "broken.tar.gz"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings.len(), 2, "{run:#?}");
    assert!(run
        .stderr
        .contains("corrupt or truncated tar data (after member a.txt)"));
    assert!(member_of(&run, KEY).contains("after corrupt tar data"));
}

#[test]
fn truncated_and_multi_member_gzip() {
    let dir = TempDir::new().unwrap();
    // Two gzip members back to back (`cat a.gz b.gz`): both are read.
    let mut multi = gzip(b"first member, nothing\n");
    multi.extend_from_slice(&gzip(&env_file(KEY, SECRET)));
    write(dir.path(), "multi.gz", &multi);
    let run = scan(dir.path(), &["multi.gz"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.key_ids(), vec![KEY]);
    // Truncated with nothing found: not clean.
    let gz = gzip(&vec![b'x'; 100_000]);
    write(dir.path(), "cut.gz", &gz[..gz.len() / 2]);
    let run = scan(dir.path(), &["cut.gz"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run
        .stderr
        .contains("cut.gz: corrupt or truncated gzip data"));
    assert!(run.stderr.contains("NOT scanned"), "{}", run.stderr);
    let run = scan(dir.path(), &["cut.gz", "--allow-incomplete"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn unsupported_compression_inside_a_tar_is_counted() {
    let dir = TempDir::new().unwrap();
    let mut lz4 = vec![0x04, 0x22, 0x4d, 0x18];
    lz4.extend_from_slice(&[0x64, 0x40, 0xa7, 0, 0, 0, 0, 0, 0, 0, 0]);
    write(dir.path(), "bundle.tar", tar(&[("data.lz4", &lz4)]));
    let run = scan(dir.path(), &["bundle.tar"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("bundle.tar!data.lz4: lz4 data cannot be unpacked"),
        "{}",
        run.stderr
    );
}

#[test]
fn empty_and_sparse_files_are_clean_and_complete() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "empty", "");
    write(dir.path(), "empty.gz", gzip(b""));
    let sparse = std::fs::File::create(dir.path().join("sparse")).unwrap();
    sparse.set_len(32 << 20).unwrap();
    drop(sparse);
    let run = scan(dir.path(), &["."]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("scanned 3 files"), "{}", run.stderr);
    // A key after a hole is found.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("sparse"))
        .unwrap();
    f.write_all(&env_file(KEY, SECRET)).unwrap();
    let run = scan(dir.path(), &["sparse"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn missing_input_is_not_clean() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "ok.txt", "nothing\n");
    let run = scan(dir.path(), &["ok.txt", "gone.txt"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("gone.txt"), "{}", run.stderr);
    let run = scan(dir.path(), &["ok.txt", "gone.txt", "--allow-incomplete"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// 4. Memory bounded by construction.

#[test]
fn xz_asking_for_a_huge_dictionary_is_refused() {
    let dir = TempDir::new().unwrap();
    let mut data = xz(&env_file(KEY, SECRET));
    // The first block header (at 12): size byte, flags, then the LZMA2 filter (id 0x21,
    // one property byte: the dictionary size). 36 means 1 GiB. Fix the header's CRC32.
    let size = (usize::from(data[12]) + 1) * 4;
    let props = (12..12 + size - 4)
        .find(|&i| data[i] == 0x21 && data[i + 1] == 1)
        .unwrap()
        + 2;
    data[props] = 36;
    let mut crc = flate2::Crc::new();
    crc.update(&data[12..12 + size - 4]);
    data[12 + size - 4..12 + size].copy_from_slice(&crc.sum().to_le_bytes());
    write(dir.path(), "big-dict.xz", &data);
    let run = scan(dir.path(), &["big-dict.xz"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("big-dict.xz: xz stream needs a 1.0 GiB window"),
        "{}",
        run.stderr
    );
}

#[test]
fn nested_zstd_windows_are_charged_to_one_budget() {
    let dir = TempDir::new().unwrap();
    // A 128 MiB window (`zstd --long=27`) on its own is read.
    write(
        dir.path(),
        "long.zst",
        zstd_frame(27, &env_file(KEY, SECRET)),
    );
    let run = scan(dir.path(), &["long.zst"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Three nested ones: the outer is read; the inner ones do not fit what is left.
    let inner = zstd_frame(27, &env_file(OTHER_KEY, SECRET));
    let middle = zstd_frame(27, &tar(&[("inner.zst", &inner)]));
    let outer = zstd_frame(
        27,
        &tar(&[
            ("middle.tar.zst", &middle),
            ("prod.env", &env_file(KEY, SECRET)),
        ]),
    );
    write(dir.path(), "nested.tar.zst", &outer);
    let run = scan(dir.path(), &["nested.tar.zst"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.key_ids(), vec![KEY]);
    assert!(
        run.stderr.contains(
            "nested.tar.zst!middle.tar.zst: zstd stream needs a 128.0 MiB window, more than"
        ),
        "{}",
        run.stderr
    );
    // A window past every budget: refused, so not clean.
    write(dir.path(), "huge.zst", zstd_frame(31, b"nothing"));
    let run = scan(dir.path(), &["huge.zst"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run
        .stderr
        .contains("huge.zst: zstd stream needs a 2.0 GiB window"));
}

#[test]
fn threads_are_capped() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "a.env", env_file(KEY, SECRET));
    let run = scan(dir.path(), &["-j", "5000", "."]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("-j 5000 capped to"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// 5. No crash, no lost findings.

#[test]
fn closed_stderr_ends_quietly() {
    let dir = TempDir::new().unwrap();
    for i in 0..50 {
        write(
            dir.path(),
            &format!("f{i}.gz"),
            b"\x1f\x8b\x08 not really gzip",
        );
    }
    write(dir.path(), "key.env", env_file(KEY, SECRET));
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = Process::new(assert_cmd::cargo::cargo_bin("keysweep"))
        .args(["scan", "--format", "json", "."])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "{status:?}");
}

#[test]
fn a_panic_while_scanning_one_input_is_an_error_for_it_alone() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "a.env", env_file(KEY, SECRET));
    write(dir.path(), "boom.txt", "whatever\n");
    write(dir.path(), "z.env", env_file(OTHER_KEY, SECRET));
    let out = json_scan()
        .current_dir(dir.path())
        .arg(".")
        .env("KEYSWEEP_TEST_PANIC", "boom.txt")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(exit_code(&out), 1);
    let run = Run::report(out);
    assert_eq!(run.sorted_key_ids(), {
        let mut v = vec![KEY, OTHER_KEY];
        v.sort_unstable();
        v
    });
    assert!(
        run.stderr
            .contains("boom.txt: internal error while scanning this input"),
        "{}",
        run.stderr
    );
}

/// A large file is mapped and scanned where it lies: when another process truncates it
/// meanwhile, the pages past its new end read as zeros instead of raising SIGBUS (which would
/// end the scan and lose every finding), and the file is an error. Deterministic: the first
/// segment's scanner truncates the file before the other segments are read.
#[cfg(unix)]
#[test]
fn a_large_file_truncated_while_mapped_is_an_error_not_a_crash() {
    use keysweep::finding::Origin;
    use keysweep::input::archive::{ArchiveOptions, Source};
    use keysweep::input::pieces::{PipelineSlot, Scanned, Workers};
    use keysweep::input::{file, FileOutcome, Sink};
    use std::sync::{Arc, Mutex};

    struct Truncating<'a> {
        path: &'a Path,
        slot: PipelineSlot,
        /// Bytes seen per segment call: (how many, how many were not zero).
        seen: Arc<Mutex<Vec<(usize, usize)>>>,
    }
    impl Sink for Truncating<'_> {
        fn blob(&mut self, _: Source<'_>, _: &Origin) -> FileOutcome {
            panic!("a large file goes to the workers");
        }
        fn workers(&self) -> Option<Workers<'_>> {
            let (path, seen) = (self.path, self.seen.clone());
            Some(Workers {
                make: Box::new(move || {
                    let seen = seen.clone();
                    Box::new(move |data: &[u8], _: &Origin| -> Scanned {
                        let mut seen = seen.lock().unwrap();
                        if seen.is_empty() {
                            let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
                            f.set_len(4096).unwrap();
                        }
                        seen.push((data.len(), data.iter().filter(|&&b| b != 0).count()));
                        (Vec::new(), Vec::new())
                    })
                }),
                threads: 2,
                slot: &self.slot,
            })
        }
    }

    let dir = TempDir::new().unwrap();
    let path = dir.path().join("big.log");
    std::fs::write(&path, vec![b'x'; 8 << 20]).unwrap();
    let mut opts = ArchiveOptions::default();
    opts.segment = 1 << 20;
    let mut sink = Truncating {
        path: &path,
        slot: PipelineSlot::default(),
        seen: Arc::default(),
    };
    let out = file::read_path(&path, &mut sink, &opts);
    let seen = sink.seen.lock().unwrap().clone();
    // Every segment of the 8 MiB there were when it was opened was scanned, and past the
    // first page the bytes read were zeros.
    assert!(seen.len() >= 8, "{seen:?}");
    let not_zero: usize = seen.iter().map(|&(_, x)| x).sum();
    assert!(not_zero <= 4096 + (1 << 20) + (64 << 10), "{seen:?}");
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert!(
        out.errors[0]
            .message
            .starts_with("changed while being read: it shrank"),
        "{:?}",
        out.errors
    );
    assert_eq!(out.unscanned, 1);
}

// ---------------------------------------------------------------------------------------------
// 7. keysweep:allow applies to decoded findings.

#[test]
fn allow_marker_applies_to_a_base64_finding() {
    let dir = TempDir::new().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(env_file(KEY, SECRET));
    write(
        dir.path(),
        "secret.yaml",
        format!("data:\n  credentials: {b64}  # keysweep:allow\n"),
    );
    let run = scan(dir.path(), &["secret.yaml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("1 by keysweep:allow"), "{}", run.stderr);
    let run = scan(dir.path(), &["secret.yaml", "--no-allow"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings[0]["location"]["decoded_from"], "base64");
}
