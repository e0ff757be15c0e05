//! One function per fuzz target: each takes the fuzzer's bytes, drives one reader or parser
//! of keysweep with them, and panics when a property fails (a panic inside keysweep is a
//! finding too). Shared by the fuzz binaries (`fuzz/fuzz_targets/`) and by the main crate's
//! `tests/fuzz_regressions.rs`, which replays the inputs kept in `fuzz/regressions/`.
//! Depends on nothing but keysweep and std, so both can include it.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keysweep::detect::Detector;
use keysweep::finding::{Finding, Origin, VerificationStatus};
use keysweep::input::archive::{ArchiveOptions, Format, Source};
use keysweep::remediate::{self, Lang};
use keysweep::scan::{BlobScanner, ScanOptions};

/// The built-in detector, built once per process.
fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| Detector::new(keysweep::rules::builtin()).expect("built-in rules"))
}

/// Archive limits small enough that one input cannot take seconds, large enough to reach
/// the limit paths (budget, ratio past its floor, depth).
fn archive_options() -> ArchiveOptions {
    let mut opts = ArchiveOptions::default();
    opts.max_bytes = 32 << 20;
    opts
}

/// Scan options with [`archive_options`].
fn scan_options() -> ScanOptions {
    let mut opts = ScanOptions::default();
    opts.archive = archive_options();
    opts
}

/// Properties every finding must have, whatever the input: a real position, and the file
/// on disk kept as `path` (members are named in `archive_member`, never in `path`).
fn check_findings(findings: &[Finding], path: &str) {
    for f in findings {
        assert!(
            f.location.line >= 1 && f.location.column >= 1,
            "{f:?}: no position"
        );
        assert_eq!(f.location.origin.path, path, "{f:?}: origin path changed");
        assert!(
            f.key_id.is_some() || f.secret.is_some() || f.session_token.is_some(),
            "{f:?}: a finding with nothing found"
        );
    }
}

/// Builds what the targets share once, before the fuzzer's clock runs (the `init:` of every
/// target): the built-in detector and the reference playbooks of [`remediate`].
pub fn init() {
    detector();
    reference_skeletons();
}

/// The detector with the decoders (UTF-16, base64, URL and JSON escapes) on arbitrary bytes.
/// The scanner is reused as for consecutive files: scanning the same bytes again must give
/// the same findings (no state leaks from one blob to the next).
pub fn detect(data: &[u8]) {
    let mut scanner = BlobScanner::new(detector());
    let origin = Origin::file("fuzz.bin");
    let first = scanner.scan_bytes(data, &origin);
    check_findings(&first, "fuzz.bin");
    let again = scanner.scan_bytes(data, &origin);
    assert_eq!(first, again, "the reused scanner found something else");
}

/// `data` made to open as `format`: its magic put in front (tar: in its header), so format
/// sniffing sends whatever follows to that one reader.
fn as_format(format: Format, data: &[u8]) -> Vec<u8> {
    let magic: &[u8] = match format {
        Format::Gzip => &[0x1f, 0x8b, 0x08],
        Format::Bzip2 => b"BZh91AY&SY",
        Format::Xz => &[0xfd, b'7', b'z', b'X', b'Z', 0x00],
        Format::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
        Format::Zip => b"PK\x03\x04",
        Format::Tar => {
            let mut out = data.to_vec();
            if out.len() < 512 {
                out.resize(512, 0);
            }
            out[257..263].copy_from_slice(b"ustar\0");
            return out;
        }
    };
    if data.starts_with(magic) {
        return data.to_vec();
    }
    [magic, data].concat()
}

/// One archive or compression reader, whatever the bytes' magic says.
fn archive_as(format: Format, data: &[u8]) {
    let mut scanner = BlobScanner::new(detector());
    let origin = Origin::file("fuzz.archive");
    let opts = scan_options();
    let input = as_format(format, data);
    let out = scanner.scan_source(Source::Bytes(&input), &origin, &opts);
    check_findings(&out.findings, "fuzz.archive");
}

pub fn archive_zip(data: &[u8]) {
    archive_as(Format::Zip, data)
}

pub fn archive_tar(data: &[u8]) {
    archive_as(Format::Tar, data)
}

pub fn archive_gzip(data: &[u8]) {
    archive_as(Format::Gzip, data)
}

pub fn archive_bzip2(data: &[u8]) {
    archive_as(Format::Bzip2, data)
}

pub fn archive_xz(data: &[u8]) {
    archive_as(Format::Xz, data)
}

pub fn archive_zstd(data: &[u8]) {
    archive_as(Format::Zstd, data)
}

/// A whole input as `keysweep scan` takes it: format sniffing, nested archives up to the
/// depth, then the blob scanner.
pub fn archive_nested(data: &[u8]) {
    let mut scanner = BlobScanner::new(detector());
    let origin = Origin::file("fuzz.input");
    let opts = scan_options();
    let out = scanner.scan_source(Source::Bytes(data), &origin, &opts);
    check_findings(&out.findings, "fuzz.input");
}

/// `.keysweep.toml`: parse, then use the globs it compiled.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(config) = keysweep::config::Config::parse(&text, Path::new("fuzz/.keysweep.toml")) {
        for path in ["app/.env", "a/b/c.zip", "", ".", "x/../y"] {
            let _ = config.is_excluded(path);
        }
    }
}

/// A rules file: parse, build a detector from it, run it over its own examples and a text
/// with a key pair in it.
pub fn rules(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(rules) = keysweep::rules::parse(&text, Path::new("fuzz/rules.toml")) else {
        return;
    };
    let _ = keysweep::rules::check_unique(&rules);
    let ids: Vec<String> = rules.iter().map(|r| r.id().to_string()).collect();
    let Ok(detector) = Detector::new(rules) else {
        return;
    };
    let _ = detector.check_examples(&ids);
    let mut scanner = BlobScanner::new(&detector);
    let sample = "aws_access_key_id = AKIAR7VZ3MOXQ4JTLW2N\n\
                  aws_secret_access_key = Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy\n";
    let found = scanner.scan_bytes(sample.as_bytes(), &Origin::file("sample"));
    check_findings(&found, "sample");
}

/// A JSON or JSON Lines report, as `remediate` and `--baseline` read it. What is read must
/// survive a round trip through both JSON writers; the text and SARIF writers take it too.
pub fn report(data: &[u8]) {
    use keysweep::report::{self, Context, Format};
    let text = String::from_utf8_lossy(data);
    let _ = keysweep::baseline::Baseline::parse(&text);
    let Ok(findings) = remediate::read_report(&text) else {
        return;
    };
    for format in [Format::Json, Format::Jsonl, Format::Text, Format::Sarif] {
        let mut out = Vec::new();
        report::write(&mut out, &findings, format, &Context::default()).expect("in memory");
        if matches!(format, Format::Json | Format::Jsonl) {
            let json = String::from_utf8(out).expect("JSON is UTF-8");
            let again = remediate::read_report(&json).expect("a report keysweep wrote reads back");
            assert_eq!(
                findings, again,
                "{format:?} round trip changed the findings"
            );
        }
    }
}

/// The git pack reader: the input is a 2-byte length (little endian), a pack index of that
/// length, then the pack. Objects are read from the index, then the entry headers of the
/// pack at those offsets; then once more at every offset of the first bytes of the pack, so
/// entry headers are reached without a valid index.
pub fn git_pack(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (idx, pack) = rest.split_at(len);
    let mut entries = Vec::new();
    let _ = keysweep::input::git::pack_index_entries(idx, |id, offset| entries.push((offset, id)));
    entries.sort_unstable_by_key(|e| e.0);
    if let Some(families) = keysweep::input::git::pack_delta_families(pack, &entries, &mut |_| {}) {
        check_families(&families, entries.len());
    }
    let every: Vec<(u64, ())> = (0..pack.len().min(512) as u64).map(|o| (o, ())).collect();
    if let Some(families) = keysweep::input::git::pack_delta_families(pack, &every, &mut |_| {}) {
        check_families(&families, every.len());
    }
}

/// One (root, depth) per entry; a root is an earlier entry (or itself) and a chain's depth
/// grows by one per delta.
fn check_families(families: &[(u32, u16)], entries: usize) {
    assert_eq!(families.len(), entries);
    for (i, &(root, depth)) in families.iter().enumerate() {
        assert!(root as usize <= i, "entry {i}: root {root} after it");
        assert_eq!(
            depth == 0,
            root as usize == i,
            "entry {i}: depth {depth}, root {root}"
        );
    }
}

/// Fixed "now" of the playbooks, so runs are reproducible.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// `remediate` on an arbitrary report: the bash playbook must stay injection-free. Whatever
/// the report says, every line of the script, reduced to its shell skeleton (see
/// [`skeleton`]), and every pair of consecutive lines must be one that keysweep writes for a
/// well-formed report: report data may only fill the slots of a command (as a plain word or
/// a single-quoted string), never add a command, a substitution, an operator or a line.
pub fn remediate(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(findings) = remediate::read_report(&text) else {
        return;
    };
    for lang in [Lang::En, Lang::Ko] {
        let groups = remediate::group(&findings, lang, now());
        let _ = remediate::markdown(&groups, lang, now());
        let script = remediate::shell(&groups, lang, now());
        if let Err(problem) = check_script(&script) {
            panic!("playbook is not injection-free: {problem}\n--- script ---\n{script}");
        }
    }
}

/// Checks `script` against the skeletons of the reference playbooks.
pub fn check_script(script: &str) -> Result<(), String> {
    let (lines, pairs) = reference_skeletons();
    let skel = skeleton(script)?;
    let mut prev: Option<&str> = None;
    for (n, line) in skel.lines().enumerate() {
        if !lines.contains(line) {
            return Err(format!("line {} has an unknown shape: {line:?}", n + 1));
        }
        if let Some(p) = prev {
            if !pairs.contains(&(p.to_string(), line.to_string())) {
                return Err(format!("line {} cannot follow {p:?}: {line:?}", n + 1));
            }
        }
        prev = Some(line);
    }
    Ok(())
}

/// Characters that bash reads as part of a plain word, with no special meaning anywhere in
/// one (no glob, tilde, brace or parameter syntax).
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@:/%-".contains(c)
}

/// The shell skeleton of `script`: every run of plain word characters becomes `W`, every
/// single-quoted string (with `'\''` joins) becomes `Q`; quotes, `$`, operators, brackets,
/// spaces and newlines stay as they are. Inside double quotes a `'` is literal. An unclosed
/// quote is an error.
pub fn skeleton(script: &str) -> Result<String, String> {
    let mut out = String::with_capacity(script.len() / 4);
    let mut chars = script.chars().peekable();
    let mut in_double = false;
    while let Some(c) = chars.next() {
        let starts_quote = !in_double && (c == '\'' || (c == '\\' && chars.peek() == Some(&'\'')));
        if starts_quote {
            // One Q for the whole concatenation of '...' and \' pieces.
            let mut c = c;
            loop {
                if c == '\\' {
                    chars.next();
                } else {
                    loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(_) => {}
                            None => return Err("unclosed single quote".into()),
                        }
                    }
                }
                match chars.peek() {
                    Some('\'') => c = chars.next().unwrap_or('\''),
                    Some('\\') => {
                        let mut ahead = chars.clone();
                        ahead.next();
                        if ahead.peek() == Some(&'\'') {
                            c = chars.next().unwrap_or('\\');
                        } else {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            out.push('Q');
        } else if is_word(c) {
            while chars.peek().is_some_and(|&n| is_word(n)) {
                chars.next();
            }
            out.push('W');
        } else if c == '\\' {
            out.push('\\');
            match chars.next() {
                Some(n) => out.push(n),
                None => return Err("backslash at the end".into()),
            }
        } else {
            if c == '"' {
                in_double = !in_double;
            }
            out.push(c);
        }
    }
    if in_double {
        return Err("unclosed double quote".into());
    }
    Ok(out)
}

type Skeletons = (HashSet<String>, HashSet<(String, String)>);

/// Line skeletons and pairs of consecutive line skeletons of the playbooks keysweep writes
/// for well-formed reports: every case (IAM user, root, temporary, unknown owner, canary,
/// foreign account), known and unknown names (plain and needing quotes), both languages.
fn reference_skeletons() -> &'static Skeletons {
    static SKELETONS: OnceLock<Skeletons> = OnceLock::new();
    SKELETONS.get_or_init(|| {
        let mut lines = HashSet::new();
        let mut pairs = HashSet::new();
        for finding in reference_findings() {
            for lang in [Lang::En, Lang::Ko] {
                {
                    let groups = remediate::group(std::slice::from_ref(&finding), lang, now());
                    let script = remediate::shell(&groups, lang, now());
                    let skel = skeleton(&script).expect("keysweep's own playbook");
                    let skel_lines: Vec<&str> = skel.lines().collect();
                    for w in skel_lines.windows(2) {
                        pairs.insert((w[0].to_string(), w[1].to_string()));
                    }
                    lines.extend(skel_lines.iter().map(|l| l.to_string()));
                }
            }
        }
        // Two keys in one playbook: the end of one key's block followed by the next key.
        let all = reference_findings();
        for lang in [Lang::En, Lang::Ko] {
            let groups = remediate::group(&all, lang, now());
            let skel = skeleton(&remediate::shell(&groups, lang, now())).expect("own playbook");
            let skel_lines: Vec<&str> = skel.lines().collect();
            for w in skel_lines.windows(2) {
                pairs.insert((w[0].to_string(), w[1].to_string()));
            }
            lines.extend(skel_lines.iter().map(|l| l.to_string()));
        }
        (lines, pairs)
    })
}

fn reference_findings() -> Vec<Finding> {
    const BASE: &str = r#"{"rule":"aws-access-key-pair","kind":"access_key_pair","severity":"critical",
        "location":{"path":"app/.env","line":1,"column":1},"fingerprint":"0123456789abcdef"}"#;
    let base: Finding = remediate::read_report(&format!("[{}]", BASE.replace('\n', " ")))
        .expect("reference report")
        .remove(0);
    let keys = [
        None,
        Some("AKIAR7VZ3MOXQ4JTLW2N"),
        Some("ASIAT4PZQ6HNB2LKW7XM"),
        // Not a key ID: written with the $ACCESS_KEY_ID placeholder.
        Some("not a key"),
    ];
    let users = [None, Some("deploy-bot"), Some("name with spaces")];
    let arns = [
        None,
        Some("arn:aws:iam::123456789012:user/deploy-bot"),
        Some("arn:aws:iam::123456789012:user/path/odd name"),
        Some("arn:aws:iam::123456789012:root"),
        Some("arn:aws:sts::123456789012:assumed-role/ci-role/session"),
        Some("arn:aws:sts::123456789012:assumed-role/odd role/session"),
        Some("arn:aws:iam::123456789012:group/other"),
    ];
    // Only Foreign changes the commands (a notify step); the others only the quoted summary.
    let statuses = [VerificationStatus::Live, VerificationStatus::Foreign];
    let mut out = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        for user in users {
            for arn in arns {
                for status in statuses {
                    for canary in [false, true] {
                        for (token, date) in [None, Some("IQoJb3JpZ2luX2Vj")]
                            .into_iter()
                            .flat_map(|t| [(t, None), (t, Some("2024-05-01T12:00:00Z"))])
                        {
                            let mut f = base.clone();
                            f.key_id = key.map(str::to_string);
                            f.user_name = user.map(str::to_string);
                            f.verification.arn = arn.map(str::to_string);
                            f.verification.status = status;
                            f.canary = canary;
                            f.session_token = token.map(str::to_string);
                            f.location.origin.date = date.map(str::to_string);
                            f.fingerprint = format!("{k}{}", out.len());
                            // A foreign key whose account the report does not give: the
                            // playbook says "account ?".
                            for account in [Some("123456789012"), None] {
                                let mut f = f.clone();
                                f.account_id = account.map(str::to_string);
                                f.fingerprint
                                    .push_str(if account.is_some() { "a" } else { "n" });
                                out.push(f);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}
