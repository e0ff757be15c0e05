//! Keys where real dumps hide them: nested encodings, documents, binary layouts, patches that
//! rotate a key, literals the language joins, placeholders, and the AWS CLI's own caches.
//! Every input is generated at test time (python3 for SQLite/marshal/zip/PDF bytes, git for
//! patches) and scanned in-process as `keysweep scan --format json --show-secrets` does
//! (`common::scan_in_process`); the tests of a flag (`--decode-depth`) and of what the binary
//! prints (the PDF streams it could not read) run the real binary.

use crate::common;

use std::path::Path;
use std::process::Command as Process;

use base64::Engine;
use keysweep::ScanOptions;
use serde_json::Value;

use common::{json_scan, write, Run, TOKEN};

// Made-up credentials (random base32 / base64).
const K1: &str = "AKIA2JZDEGXDNCF32EPF";
const K2: &str = "AKIA5DHODZDOCIS2JHTL";
const S1: &str = "lHUvTCQCyEZDz/TddJ8HyS5SUkCnD8zRA9a9SkpX";
const S2: &str = "z9w3QlY7Zkuvqdt7s8Stqcbnr3yBdGBLEPH1qhT6";
const T1: &str = "ASIA4ZG6ZDMEN4KHVDGA";

fn b64(data: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Scans `dir` with the binary and `extra` arguments (secrets shown) and returns the run.
fn scan_cli(dir: &Path, extra: &[&str]) -> Run {
    let out = json_scan()
        .args(["--show-secrets", "-q"])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    Run::report(out)
}

/// Scans `dir` in-process as the binary does (secrets shown) and returns the run.
fn scan_dir(dir: &Path) -> Run {
    common::scan_in_process(dir, &ScanOptions::default())
}

fn scan_one(name: &str, content: impl AsRef<[u8]>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), name, content);
    scan_dir(dir.path())
}

/// (kind, key_id, secret) of each finding.
fn parts(run: &Run) -> Vec<(String, String, String)> {
    run.findings
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (s("kind"), s("key_id"), s("secret"))
        })
        .collect()
}

fn pair(k: &str, s: &str) -> (String, String, String) {
    ("access_key_pair".into(), k.into(), s.into())
}

fn field<'a>(f: &'a Value, name: &str) -> &'a str {
    f["location"][name].as_str().unwrap_or("")
}

fn credentials_file() -> String {
    format!("[default]\naws_access_key_id = {K1}\naws_secret_access_key = {S1}\n")
}

/// Wraps `text` at `width` characters per line, each line prefixed with `indent`.
fn wrap(text: &str, width: usize, indent: &str, sep: &str) -> String {
    text.as_bytes()
        .chunks(width)
        .map(|c| format!("{indent}{}", std::str::from_utf8(c).unwrap()))
        .collect::<Vec<_>>()
        .join(sep)
}

fn python(script: &str, dir: &Path) {
    let status = Process::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .expect("python3");
    assert!(status.success(), "python3 failed");
}

// ---- 1. recursive decoding ------------------------------------------------------------------

#[test]
fn wrapped_base64_pairs_across_line_breaks() {
    let encoded = b64(credentials_file());
    let cases = [
        (
            "mail.eml",
            format!(
                "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n{}\n\n--b--\n",
                wrap(&encoded, 76, "", "\n")
            ),
        ),
        (
            "block.pem",
            format!(
                "-----BEGIN CREDENTIALS-----\n{}\n-----END CREDENTIALS-----\n",
                wrap(&encoded, 64, "", "\r\n")
            ),
        ),
        (
            "values.yaml",
            format!(
                "secret:\n  credentials: |\n{}\n  other_key: value\n",
                wrap(&encoded, 40, "    ", "\n")
            ),
        ),
        (
            "setup.sh",
            format!("echo {} | base64 -d\n", wrap(&encoded, 50, "", "\\\n")),
        ),
    ];
    for (name, text) in cases {
        let run = scan_one(name, &text);
        assert_eq!(parts(&run), [pair(K1, S1)], "{name}:\n{text}");
        assert_eq!(field(&run.findings[0], "decoded_from"), "base64", "{name}");
    }
}

#[test]
fn base64_inside_base64_and_gzip_inside_base64() {
    let inner = b64(credentials_file());
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: aws\ndata:\n  credentials: {}\n",
        b64(&inner)
    );
    let run = scan_one("secret.yaml", &secret);
    assert_eq!(parts(&run), [pair(K1, S1)]);
    assert_eq!(field(&run.findings[0], "decoded_from"), "base64>base64");

    // `kubectl get secret -o json` order: data before kind.
    let json = format!(
        r#"{{"apiVersion": "v1", "data": {{"credentials": "{}"}}, "kind": "Secret", "metadata": {{"name": "aws"}}}}"#,
        b64(&inner)
    );
    let run = scan_one("secret.json", &json);
    assert_eq!(parts(&run), [pair(K1, S1)]);
    assert_eq!(field(&run.findings[0], "decoded_from"), "base64>base64");

    // A Helm release: base64 (Kubernetes) of base64 of gzip of JSON.
    let json =
        format!(r#"{{"config": {{"aws": {{"AccessKeyId": "{K1}", "SecretAccessKey": "{S1}"}}}}}}"#);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, json.as_bytes()).unwrap();
    let release = b64(b64(gz.finish().unwrap()));
    let run = scan_one(
        "helm.yaml",
        format!("kind: Secret\ndata:\n  release: {release}\n"),
    );
    assert_eq!(parts(&run), [pair(K1, S1)]);
    assert_eq!(
        field(&run.findings[0], "decoded_from"),
        "base64>base64>gzip"
    );

    // --decode-depth 1 stops after the first level.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secret.yaml", &secret);
    let run = scan_cli(dir.path(), &["--decode-depth", "1"]);
    assert!(run.findings.is_empty(), "{:?}", run.findings);
}

#[test]
fn quoted_printable_mail_bodies() {
    // A soft break inside the key ID and inside the secret; `=` written as =3D.
    let (k, s) = (K1, S1);
    let body = format!(
        "Content-Transfer-Encoding: quoted-printable\n\naws_access_key_id =3D {}=\n{}\naws_secret_access_key =3D {}=\n{}\n",
        &k[..12],
        &k[12..],
        &s[..25].replace('/', "=2F"),
        &s[25..]
    );
    let run = scan_one("mail.eml", &body);
    assert_eq!(parts(&run), [pair(K1, S1)], "{body}");
    assert_eq!(field(&run.findings[0], "decoded_from"), "quoted-printable");
}

#[test]
fn java_unicode_escapes() {
    let escaped: String = K1.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    let run = scan_one(
        "app.properties",
        format!("aws.accessKeyId={escaped}\naws.secretKey={S1}\n"),
    );
    assert_eq!(parts(&run), [pair(K1, S1)]);
}

/// Escapes are looked for only near the prefilter's hits (key-ID prefixes, `secret` names):
/// a URL-encoded secret some 700 bytes after its key ID, in a 24 KB line of other escapes.
#[test]
fn url_encoded_secret_near_a_key_id_in_a_long_line() {
    let params =
        |tag: &str, n: usize| -> String { (0..n).map(|i| format!("&{tag}{i}=v%2F{i}")).collect() };
    let line = format!(
        "GET /track?{}&id={K1}{}&sig={}{} HTTP/1.1\n",
        params("p", 800),
        params("q", 60),
        S1.replace('/', "%2F"),
        params("r", 800)
    );
    let run = scan_one("access.log", &line);
    assert_eq!(parts(&run), [pair(K1, S1)]);
    assert_eq!(field(&run.findings[0], "decoded_from"), "url");
}

/// The key-ID prefix itself cut by a soft break (`AK=` / `IA…`): no `AKIA` in the text, but
/// `aws_secret_access_key` next to it puts its `=3D` escapes in reach.
#[test]
fn quoted_printable_key_prefix_cut_by_a_soft_break() {
    let body = format!(
        "Content-Transfer-Encoding: quoted-printable\n\nHello,\nhere are the keys: \
         aws_access_key_id =3D {}=\n{}\nand aws_secret_access_key =3D {}\nThanks\n",
        &K1[..2],
        &K1[2..],
        S1.replace('/', "=2F")
    );
    let run = scan_one("mail.eml", &body);
    assert_eq!(parts(&run), [pair(K1, S1)], "{body}");
    assert_eq!(field(&run.findings[0], "decoded_from"), "quoted-printable");
}

/// A JSON body whose encoder escapes `+` (.NET's does): `\u002B` in the secret, next to its key
/// ID, under a name that is no `secret` keyword.
#[test]
fn json_escaped_plus_in_a_secret_next_to_its_key_id() {
    let secret = S2.replacen('q', "+", 1);
    let body = format!(
        r#"{{"user":"deploy","AccessKeyId":"{K2}","Key":"{}","Note":"rotated"}}"#,
        secret.replace('+', "\\u002B")
    );
    assert!(body.contains(r"\u002B"));
    let run = scan_one("body.json", &body);
    assert_eq!(parts(&run), [pair(K2, &secret)], "{body}");
    assert_eq!(field(&run.findings[0], "decoded_from"), "json-escape");
}

// ---- 2. documents ---------------------------------------------------------------------------

#[test]
fn pdf_streams_are_inflated_and_shown_text_joined() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import zlib
content = b"BT /F1 10 Tf 72 700 Td [(aws_access_key_id = {k1a}) -30 ({k1b})] TJ T* (aws_secret_access_key = {s1}) Tj ET"
s = zlib.compress(content)
pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n12 0 obj\n<< /Length " + str(len(s)).encode() + b" /Filter /FlateDecode >>\nstream\n" + s + b"\nendstream\nendobj\n13 0 obj\n<< /Filter /LZWDecode /Length 2 >>\nstream\nxx\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
open("report.pdf", "wb").write(pdf)
"#,
        k1a = &K1[..9],
        k1b = &K1[9..],
        s1 = S1
    );
    python(&script, dir.path());
    let out = json_scan()
        .args(["--show-secrets", "--no-progress"])
        .arg(dir.path())
        .output()
        .unwrap();
    let run = Run::report(out);
    assert_eq!(parts(&run), [pair(K1, S1)], "{}", run.stderr);
    let f = &run.findings[0];
    assert_eq!(field(f, "archive_member"), "stream 12");
    // The LZW stream is reported as not scanned.
    assert!(run.stderr.contains("LZWDecode"), "{}", run.stderr);
}

#[test]
fn office_documents_join_runs_within_a_paragraph() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import zipfile
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
def runs(text, cut):
    return ''.join('<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">%s</w:t></w:r><w:proofErr w:type="spellStart"/>' % text[i:i+cut] for i in range(0, len(text), cut))
doc = '<?xml version="1.0"?><w:document %s><w:body><w:p>%s</w:p><w:p>%s</w:p></w:body></w:document>' % (W, runs('key: {k1}', 7), runs('secret: {s1}', 11))
with zipfile.ZipFile('notes.docx', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('[Content_Types].xml', '<Types/>')
    z.writestr('word/document.xml', doc)
T = 'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
odt = '<?xml version="1.0"?><office:document-content %s><office:body><text:p>aws_access_key_id <text:span>{k2a}</text:span><text:span>{k2b}</text:span></text:p><text:p>aws_secret_access_key <text:span>{s2a}</text:span>{s2b}</text:p></office:body></office:document-content>' % T
with zipfile.ZipFile('notes.odt', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('mimetype', 'application/vnd.oasis.opendocument.text')
    z.writestr('content.xml', odt)
"#,
        k1 = K1,
        s1 = S1,
        k2a = &K2[..6],
        k2b = &K2[6..],
        s2a = &S2[..20],
        s2b = &S2[20..]
    );
    python(&script, dir.path());
    let run = scan_dir(dir.path());
    let mut got: Vec<(String, String, String, String)> = run
        .findings
        .iter()
        .map(|f| {
            (
                field(f, "path").rsplit('/').next().unwrap().to_string(),
                field(f, "archive_member").to_string(),
                f["key_id"].as_str().unwrap_or("").to_string(),
                f["kind"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    let row = |p: &str, m: &str, k: &str| (p.into(), m.into(), k.into(), "access_key_pair".into());
    assert_eq!(
        got,
        [
            row("notes.docx", "word/document.xml", K1),
            row("notes.odt", "content.xml", K2)
        ]
    );
}

#[test]
fn sqlite_rows_are_read_value_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import sqlite3
db = sqlite3.connect("app.db")
db.execute("create table users (id integer primary key, name text, access_key text, secret text)")
db.execute("create table filler (id integer primary key, body text)")
for i in range(300):
    db.execute("insert into filler (body) values (?)", ("x" * 900,))
db.execute("insert into users (name, access_key, secret) values ('ops', '{k1}', '{s1}')")
db.execute("insert into users (name, access_key, secret) values ('ci', '{k2}', '{s2}')")
db.commit()
db.close()
"#,
        k1 = K1,
        s1 = S1,
        k2 = K2,
        s2 = S2
    );
    python(&script, dir.path());
    let run = scan_dir(dir.path());
    assert_eq!(parts(&run), [pair(K1, S1), pair(K2, S2)], "{}", run.stderr);
    assert_eq!(field(&run.findings[0], "archive_member"), "table users");
    assert_eq!(run.findings[1]["location"]["line"], 2);
}

// ---- 3. binary layouts ----------------------------------------------------------------------

#[test]
fn keys_in_pyc_marshal_java_serialization_and_protobuf() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import marshal, importlib.util
code = compile("KEY = '{k1}'\nSECRET = '{s1}'\n", "settings.py", "exec")
open("settings.pyc", "wb").write(importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code))
"#,
        k1 = K1,
        s1 = S1
    );
    python(&script, dir.path());
    // Java serialization: TC_STRING 't' + u16 length + bytes, back to back.
    let mut java = vec![0xac, 0xed, 0x00, 0x05, 0x75, 0x72];
    for s in [K2, S2] {
        java.push(b't');
        java.extend_from_slice(&(s.len() as u16).to_be_bytes());
        java.extend_from_slice(s.as_bytes());
    }
    java.push(b'x');
    write(dir.path(), "creds.ser", java);
    // protobuf: field 6 (tag '2') and field 8 (tag 'B'): the tags are letters/digits.
    let mut pb = vec![0x08, 0x01];
    pb.push(0x32);
    pb.push(T1.len() as u8);
    pb.extend_from_slice(T1.as_bytes());
    pb.push(0x42);
    pb.push(S1.len() as u8);
    pb.extend_from_slice(S1.as_bytes());
    pb.push(0x52);
    pb.push(0x02);
    pb.extend_from_slice(b"ok");
    write(dir.path(), "creds.pb", pb);
    let run = scan_dir(dir.path());
    let mut got: Vec<(String, String)> = run
        .findings
        .iter()
        .map(|f| {
            (
                f["key_id"].as_str().unwrap_or("").to_string(),
                f["secret"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (K1.to_string(), S1.to_string()),
        (K2.to_string(), S2.to_string()),
        (T1.to_string(), S1.to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn keys_glued_to_longer_runs_stay_rejected_in_binary() {
    let mut data = vec![0u8, 0x01, 0x02];
    data.extend_from_slice(K1.as_bytes());
    data.extend_from_slice(b"Q4JT\x00\x01");
    data.extend_from_slice(b"\x00BASE32");
    data.extend_from_slice(K2.as_bytes());
    data.extend_from_slice(b"\x00");
    let run = scan_one("blob.bin", data);
    assert!(run.findings.is_empty(), "{:?}", run.findings);
}

// ---- 4. structural pairing ------------------------------------------------------------------

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Process::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn key_rotation_patches_pair_within_each_side() {
    let repo = tempfile::tempdir().unwrap();
    let d = repo.path();
    git(d, &["init", "-q", "-b", "main"]);
    let file = |k: &str, s: &str| {
        format!("[default]\nregion = eu-west-1\naws_access_key_id = {k}\naws_secret_access_key = {s}\noutput = json\n")
    };
    write(d, "creds.ini", file(K1, S1));
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "old key"]);
    write(d, "creds.ini", file(K2, S2));
    git(d, &["commit", "-q", "-am", "rotate the key"]);
    let diff = git(d, &["diff", "HEAD~1", "HEAD"]);
    let patch = git(d, &["format-patch", "-1", "--stdout", "HEAD"]);
    // A pull request's .diff: several files, the rotation in the middle one.
    let pr = format!(
        "diff --git a/README.md b/README.md\nindex 1111111..2222222 100644\n--- a/README.md\n+++ b/README.md\n@@ -1,2 +1,2 @@\n-Old docs\n+New docs\n {}",
        diff
    );
    let out = tempfile::tempdir().unwrap();
    write(out.path(), "rotation.diff", &diff);
    write(out.path(), "0001-rotate.patch", &patch);
    write(out.path(), "pr-42.diff", &pr);
    let run = scan_dir(out.path());
    let mut got: Vec<(String, String)> = run
        .findings
        .iter()
        .map(|f| {
            (
                f["key_id"].as_str().unwrap_or("").to_string(),
                f["secret"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = Vec::new();
    for _ in 0..3 {
        want.push((K1.to_string(), S1.to_string()));
        want.push((K2.to_string(), S2.to_string()));
    }
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn records_pair_within_their_row_object_or_section() {
    // CSV rows with the secret first: same row before nearest.
    let csv = format!("secret,key\n{S1},{K1}\n{S2},{K2}\n");
    assert_eq!(
        parts(&scan_one("keys.csv", &csv)),
        [pair(K1, S1), pair(K2, S2)]
    );
    // JSON objects: the second object's key ID is closer to the first object's secret.
    let json = format!(
        r#"[{{"secret": "{S1}", "id": "{K1}"}}, {{"id": "{K2}", "note": "rotated", "secret": "{S2}"}}]"#
    );
    assert_eq!(
        parts(&scan_one("keys.json", &json)),
        [pair(K1, S1), pair(K2, S2)]
    );
    // INI sections.
    let ini = format!("[a]\nsecret = {S1}\nkey = {K1}\n[b]\nkey = {K2}\nsecret = {S2}\n");
    assert_eq!(
        parts(&scan_one("keys.ini", &ini)),
        [pair(K1, S1), pair(K2, S2)]
    );
}

// ---- 5. joined literals ---------------------------------------------------------------------

#[test]
fn literals_joined_by_the_language() {
    let (ka, kb) = K1.split_at(8);
    let (sa, sb) = S1.split_at(17);
    let cases = [
        ("app.js", format!("const id = \"{ka}\" + \"{kb}\";\nconst secret = \"{sa}\" +\n    \"{sb}\";\n")),
        ("app.ts", format!("const creds = {{ accessKeyId: ['{ka}', '{kb}'].join(''), secretAccessKey: '{S1}' }};\n")),
        ("app.py", format!("AWS_ACCESS_KEY_ID = (\"{ka}\"\n    \"{kb}\")\nAWS_SECRET_ACCESS_KEY = \"\".join([\"{sa}\", \"{sb}\"])\n")),
        ("App.java", format!("String id = \"{ka}\".concat(\"{kb}\");\nString secretKey = \"{sa}\" + \"{sb}\";\n")),
        ("main.go", format!("id := strings.Join([]string{{\"{ka}\", \"{kb}\"}}, \"\")\nsecret := \"{sa}\" + \"{sb}\"\n")),
        ("App.cs", format!("var id = String.Concat(\"{ka}\", \"{kb}\");\nvar secretKey = \"{sa}\" + \"{sb}\";\n")),
        ("app.rb", format!("id = '{ka}' + '{kb}'\nsecret = '{sa}' + '{sb}'\n")),
        ("app.php", format!("$id = '{ka}' . '{kb}';\n$secret = implode('', ['{sa}', '{sb}']);\n")),
        ("env.sh", format!("export AWS_ACCESS_KEY_ID=\"{ka}\"'{kb}'\nexport AWS_SECRET_ACCESS_KEY=\"{sa}\"\"{sb}\"\n")),
    ];
    for (name, text) in cases {
        let run = scan_one(name, &text);
        assert_eq!(parts(&run), [pair(K1, S1)], "{name}:\n{text}");
        let f = &run.findings[0];
        // Reported where the first piece starts.
        let line1 = text.lines().next().unwrap();
        let col = line1.find(ka).unwrap() + 1;
        assert_eq!(
            (
                f["location"]["line"].as_u64(),
                f["location"]["column"].as_u64()
            ),
            (Some(1), Some(col as u64)),
            "{name}"
        );
    }
}

// ---- 6. placeholders ------------------------------------------------------------------------

#[test]
fn periodic_and_word_placeholders_stay_quiet() {
    let text = "aws_access_key_id = AKIAABCDABCDABCDABCD\n\
                aws_secret_access_key = FakeSecretKeyForUnitTestsOnlyR7VZ3MOXQ4J\n\
                key2 = AKIADEADBEEFDEADBEEF\n\
                aws_secret_access_key = SampleZq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0Qe\n\
                aws_secret_access_key = ThisIsNotARealSecretKeyJustForTesting123\n";
    let run = scan_one("test_config.py", text);
    assert!(run.findings.is_empty(), "{:?}", run.findings);
}

// ---- 7. AWS CLI caches ----------------------------------------------------------------------

fn rfc3339(offset_secs: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = now + offset_secs;
    let out = Process::new("date")
        .args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn sso_token_cache_severity_follows_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let token =
        "aoaAAAAAGbQx7Vn2Kq9RzT4wLm8Yc3Hs6Jd1Fp0Xe5UbV8nQ2wR7tY4pL6xC9hB1mF4dS7jG0qEuA5iOkZ";
    let refresh =
        "aorAAAAAGbQx9Wn3Kr8SzU5xLn7Zd2Ht5Ke0Gq1Yf6VcW9oR3xS8uZ5qM7yD0iC2nG5eT8kH1rFvB6jPlX";
    let client_secret = "eyJraWQiOiJrZXktMTU2NDAyODA5OSIsImFsZyI6IkhTMzg0In0.eyJzZXJpYWxpemVkIjoiZXhhbXBsZSJ9.Qz7xR2vK9mWp3";
    let live = format!(
        r#"{{"startUrl": "https://d-9067c1a2b3.awsapps.com/start", "region": "eu-west-1", "accessToken": "{token}", "expiresAt": "{}", "clientId": "qGLAlyjg3Fz26xGjHyARG3VzLWVhc3QtMg", "clientSecret": "{client_secret}", "registrationExpiresAt": "{}", "refreshToken": "{refresh}"}}"#,
        rfc3339(3600),
        rfc3339(80 * 86400)
    );
    let expired = format!(
        r#"{{"accessToken": "{}", "expiresAt": "{}", "region": "us-east-1", "startUrl": "https://my-org.awsapps.com/start"}}"#,
        token.replace('Q', "P"),
        rfc3339(-86400)
    );
    write(
        dir.path(),
        "home/.aws/sso/cache/4fbbfb5d40afa2f001d7c45107652897179a34ad.json",
        &live,
    );
    write(
        dir.path(),
        "home/.aws/sso/cache/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567.json",
        &expired,
    );
    // The CLI credential cache: an expired and a live ASIA triple.
    let cli = |exp: &str| {
        format!(
            r#"{{"ProviderType": "sso", "Credentials": {{"AccessKeyId": "{T1}", "SecretAccessKey": "{S1}", "SessionToken": "{TOKEN}", "Expiration": "{exp}", "AccountId": "123456789012"}}}}"#
        )
    };
    write(
        dir.path(),
        "home/.aws/cli/cache/aaaa.json",
        cli(&rfc3339(3600)),
    );
    write(
        dir.path(),
        "home/.aws/cli/cache/bbbb.json",
        cli(&rfc3339(-3600)),
    );
    let run = scan_dir(dir.path());
    let got: Vec<(String, String, String, bool)> = run
        .findings
        .iter()
        .map(|f| {
            (
                field(f, "path").rsplit('/').next().unwrap().to_string(),
                f["kind"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["expired"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    let row = |p: &str, k: &str, s: &str, e: bool| (p.to_string(), k.to_string(), s.to_string(), e);
    assert_eq!(
        got,
        [
            row("aaaa.json", "session_credentials", "high", false),
            row("bbbb.json", "session_credentials", "low", true),
            row(
                "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567.json",
                "sso_token",
                "low",
                true
            ),
            row(
                "4fbbfb5d40afa2f001d7c45107652897179a34ad.json",
                "sso_token",
                "high",
                false
            ),
        ]
    );
    let sso = &run.findings[3];
    assert_eq!(sso["rule"], "aws-sso-token-cache");
    assert_eq!(sso["session_token"], token);
    assert_eq!(sso["sso"]["refreshable"], true);
    assert_eq!(sso["sso"]["region"], "eu-west-1");
    let steps: Vec<&str> = sso["remediation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "invalidate_token",
            "end_sessions",
            "revoke_role_sessions",
            "investigate",
            "refresh_token"
        ]
    );
    // Without --show-secrets the tokens are redacted.
    let out = json_scan().arg("-q").arg(dir.path()).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(token) && !text.contains(refresh) && !text.contains(client_secret));
}
