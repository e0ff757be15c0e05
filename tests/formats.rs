//! Detection across the places people paste AWS keys, and the look-alikes that must stay
//! quiet. Every case is a real file written to a temp dir and scanned in-process as
//! `keysweep scan --format json --show-secrets` does (`common::scan_in_process`: the walk, the
//! post-scan pipeline, the JSON report); `the_binary_reports_what_the_library_finds` and the
//! `keysweep:allow` test run the real binary.

use crate::common;

use std::path::Path;

use assert_cmd::Command;
use keysweep::ScanOptions;
use serde_json::Value;

use common::{write, TOKEN};

// Made-up credentials (random base32 / base64).
const K1: &str = "AKIA2JZDEGXDNCF32EPF";
const K2: &str = "AKIA5DHODZDOCIS2JHTL";
const K3: &str = "AKIATMXGEDN73U55XTPL";
const T1: &str = "ASIA4ZG6ZDMEN4KHVDGA";
const S1: &str = "lHUvTCQCyEZDz/TddJ8HyS5SUkCnD8zRA9a9SkpX";
const S2: &str = "z9w3QlY7Zkuvqdt7s8Stqcbnr3yBdGBLEPH1qhT6";
const S3: &str = "OjE2jBMptUsGr7CmY+uCu3ZR1zTOlUcR64cXQLio";

/// Scans `content` written as `name` and returns the JSON findings (secrets shown).
fn scan(name: &str, content: &[u8]) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), name, content);
    scan_dir(dir.path())
}

fn scan_dir(dir: &Path) -> Vec<Value> {
    let run = common::scan_in_process(dir, &ScanOptions::default());
    let code = Some(run.code);
    assert!(
        code == Some(0) || code == Some(1),
        "exit {code:?}: {}",
        run.stderr
    );
    assert_eq!(
        code == Some(1),
        !run.findings.is_empty(),
        "exit code vs findings"
    );
    run.findings
}

/// (kind, severity, key_id, secret, path, line, column, fingerprint) of each finding: what
/// does not depend on when the report was made.
fn placed(findings: &[Value]) -> Vec<[String; 8]> {
    findings
        .iter()
        .map(|f| {
            let s = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let at = &f["location"];
            [
                s(&f["kind"]),
                s(&f["severity"]),
                s(&f["key_id"]),
                s(&f["secret"]),
                s(&at["path"]),
                s(&at["line"]),
                s(&at["column"]),
                s(&f["fingerprint"]),
            ]
        })
        .collect()
}

/// The binary reports what the in-process scan of the tests above reports, on a tree of the
/// kinds of files they use (and exits 1 for findings).
#[test]
fn the_binary_reports_what_the_library_finds() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        ".aws/credentials",
        format!("[default]\naws_access_key_id = {K1}\naws_secret_access_key = {S1}\n"),
    );
    write(
        dir.path(),
        "app.py",
        format!(
            "s3 = boto3.client('s3', aws_access_key_id='{K2}', aws_secret_access_key='{S2}')\n"
        ),
    );
    write(dir.path(), "notes.txt", format!("old key {K3}\n"));
    let mut blob = vec![0u8, 159, 146, 150];
    blob.extend_from_slice(format!("{T1}\x00{S3}").as_bytes());
    write(dir.path(), "core.db", &blob);
    write(
        dir.path(),
        "README.md",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
    );

    let out = Command::cargo_bin("keysweep")
        .expect("binary")
        .args(["scan", "--format", "json", "--show-secrets", "-q"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_binary: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json report");
    let in_process = scan_dir(dir.path());
    assert!(in_process.len() >= 3, "{in_process:#?}");
    assert_eq!(placed(&from_binary), placed(&in_process));
}

/// (kind, key_id or "", secret or "") of each finding, in report order.
fn summary(findings: &[Value]) -> Vec<(String, String, String)> {
    findings
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (s("kind"), s("key_id"), s("secret"))
        })
        .collect()
}

fn pair(key: &str, secret: &str) -> (String, String, String) {
    ("access_key_pair".into(), key.into(), secret.into())
}

fn assert_pairs(name: &str, content: &str, expected: &[(&str, &str)]) {
    let found = summary(&scan(name, content.as_bytes()));
    let want: Vec<_> = expected.iter().map(|(k, s)| pair(k, s)).collect();
    assert_eq!(found, want, "{name}:\n{content}");
}

fn assert_quiet(name: &str, content: &str) {
    let found = scan(name, content.as_bytes());
    assert!(
        found.is_empty(),
        "{name} should be quiet:\n{content}\n{found:#?}"
    );
}

#[test]
fn aws_credentials_ini_with_profiles() {
    let text = format!(
        "[default]\naws_access_key_id = {K1}\naws_secret_access_key = {S1}\n\n[prod]\nregion = eu-west-1\naws_access_key_id={K2}\naws_secret_access_key={S2}\n"
    );
    assert_pairs(".aws/credentials", &text, &[(K1, S1), (K2, S2)]);
}

#[test]
fn dotenv_and_shell_exports() {
    assert_pairs(
        ".env",
        &format!("AWS_ACCESS_KEY_ID={K1}\nAWS_SECRET_ACCESS_KEY={S1}\nAWS_REGION=us-east-1\n"),
        &[(K1, S1)],
    );
    assert_pairs(
        "deploy.sh",
        &format!("#!/bin/sh\nexport AWS_ACCESS_KEY_ID=\"{K1}\"\nexport AWS_SECRET_ACCESS_KEY='{S1}'\naws s3 ls\n"),
        &[(K1, S1)],
    );
}

#[test]
fn code_in_many_languages() {
    let cases = [
        ("app.py", format!("import boto3\ns3 = boto3.client(\n    's3',\n    aws_access_key_id='{K1}',\n    aws_secret_access_key='{S1}',\n)\n")),
        ("app.js", format!("const s3 = new AWS.S3({{\n  accessKeyId: '{K1}',\n  secretAccessKey: '{S1}',\n}});\n")),
        ("App.java", format!("AWSCredentials c = new BasicAWSCredentials(\"{K1}\", \"{S1}\");\n")),
        ("main.go", format!("sess := session.Must(session.NewSession(&aws.Config{{\n\tCredentials: credentials.NewStaticCredentials(\"{K1}\", \"{S1}\", \"\"),\n}}))\n")),
        ("Program.cs", format!("var creds = new BasicAWSCredentials(\"{K1}\", \"{S1}\");\n")),
        ("s3.rb", format!("Aws.config.update(credentials: Aws::Credentials.new('{K1}', '{S1}'))\n")),
        ("config.php", format!("<?php\nreturn ['credentials' => [\n  'key'    => '{K1}',\n  'secret' => '{S1}',\n]];\n")),
        ("main.rs", format!("let creds = Credentials::new(\"{K1}\", \"{S1}\", None, None, \"static\");\n")),
    ];
    for (name, text) in cases {
        assert_pairs(name, &text, &[(K1, S1)]);
    }
}

#[test]
fn configs_and_infrastructure_files() {
    let cases = [
        ("config.yml", format!("aws:\n  aws_access_key_id: {K1}\n  aws_secret_access_key: {S1}\n")),
        ("main.tf", format!("provider \"aws\" {{\n  region     = \"us-west-2\"\n  access_key = \"{K1}\"\n  secret_key = \"{S1}\"\n}}\n")),
        ("Dockerfile", format!("FROM alpine\nENV AWS_ACCESS_KEY_ID={K1}\nENV AWS_SECRET_ACCESS_KEY {S1}\nRUN aws s3 ls\n")),
        ("application.properties", format!("cloud.aws.credentials.access-key={K1}\ncloud.aws.credentials.secret-key={S1}\n")),
        ("aws.properties", format!("aws.accessKeyId={K1}\naws.secretKey={S1}\n")),
        (".s3cfg", format!("[default]\naccess_key = {K1}\nsecret_key = {S1}\nhost_base = s3.amazonaws.com\n")),
        ("rclone.conf", format!("[s3]\ntype = s3\nprovider = AWS\naccess_key_id = {K1}\nsecret_access_key = {S1}\n")),
        ("workflow.yml", format!("      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: {K1}\n          aws-secret-access-key: {S1}\n")),
        ("secret.yaml", format!("apiVersion: v1\nkind: Secret\nstringData:\n  AWS_ACCESS_KEY_ID: {K1}\n  AWS_SECRET_ACCESS_KEY: {S1}\n")),
        ("notes.md", format!("| key | secret |\n|---|---|\n| {K1} | {S1} |\n")),
        ("app.log", format!("2026-11-27T10:00:00Z DEBUG env: AWS_ACCESS_KEY_ID={K1} AWS_SECRET_ACCESS_KEY={S1} pid=42\n")),
        ("dump.sql", format!("INSERT INTO settings (name, value) VALUES ('aws_key', '{K1}'), ('aws_secret', '{S1}');\n")),
        ("cmd.txt", format!("aws configure set aws_access_key_id {K1}\naws configure set aws_secret_access_key {S1}\n")),
    ];
    for (name, text) in cases {
        assert_pairs(name, &text, &[(K1, S1)]);
    }
}

#[test]
fn json_with_escaped_slashes_and_notebooks() {
    let escaped = S1.replace('/', "\\/");
    assert_pairs(
        "settings.json",
        &format!("{{\"aws\":{{\"accessKeyId\":\"{K1}\",\"secretAccessKey\":\"{escaped}\"}}}}"),
        &[(K1, S1)],
    );
    let notebook = format!(
        "{{\"cells\": [{{\"cell_type\": \"code\", \"source\": [\"import boto3\\n\", \"session = boto3.Session(aws_access_key_id=\\\"{K1}\\\", aws_secret_access_key=\\\"{S1}\\\")\\n\"]}}]}}"
    );
    assert_pairs("analysis.ipynb", &notebook, &[(K1, S1)]);
}

#[test]
fn crlf_lines_report_the_right_line() {
    let text =
        format!("# creds\r\n\r\naws_access_key_id = {K1}\r\naws_secret_access_key = {S1}\r\n");
    let findings = scan("creds.ini", text.as_bytes());
    assert_eq!(summary(&findings), vec![pair(K1, S1)]);
    assert_eq!(findings[0]["location"]["line"], 3);
    assert_eq!(findings[0]["location"]["column"], 21);
}

#[test]
fn console_credentials_csv_both_variants() {
    let v1 = format!("User name,Password,Access key ID,Secret access key,Console login link\ndeploy-bot,,{K1},{S1},https://111122223333.signin.aws.amazon.com/console\n");
    let findings = scan("credentials.csv", v1.as_bytes());
    assert_eq!(summary(&findings), vec![pair(K1, S1)]);
    assert_eq!(findings[0]["rule"], "aws-credentials-csv");
    assert_eq!(findings[0]["user_name"], "deploy-bot");
    let v2 = format!("Access key ID,Secret access key\r\n{K2},{S2}\r\n");
    let findings = scan("new_user_credentials.csv", v2.as_bytes());
    assert_eq!(summary(&findings), vec![pair(K2, S2)]);
    assert_eq!(findings[0]["rule"], "aws-credentials-csv");
}

#[test]
fn aws_cli_json_outputs() {
    let create = format!(
        "{{\n    \"AccessKey\": {{\n        \"UserName\": \"ci-deployer\",\n        \"AccessKeyId\": \"{K1}\",\n        \"Status\": \"Active\",\n        \"SecretAccessKey\": \"{S1}\",\n        \"CreateDate\": \"2026-11-01T10:00:00+00:00\"\n    }}\n}}\n"
    );
    let findings = scan("key.json", create.as_bytes());
    assert_eq!(summary(&findings), vec![pair(K1, S1)]);
    assert_eq!(findings[0]["rule"], "aws-cli-create-access-key");
    assert_eq!(findings[0]["user_name"], "ci-deployer");

    for (name, wrapper) in [("session.json", ""), ("assume.json", "\"AssumedRoleUser\": {\"Arn\": \"arn:aws:sts::111122223333:assumed-role/deploy/s\"},\n")] {
        let sts = format!(
            "{{\n    {wrapper}\"Credentials\": {{\n        \"AccessKeyId\": \"{T1}\",\n        \"SecretAccessKey\": \"{S3}\",\n        \"SessionToken\": \"{TOKEN}\",\n        \"Expiration\": \"2026-11-27T22:00:00+00:00\"\n    }}\n}}\n"
        );
        let findings = scan(name, sts.as_bytes());
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f["kind"], "session_credentials");
        assert_eq!(f["key_id"], T1);
        assert_eq!(f["secret"], S3);
        assert_eq!(f["session_token"], TOKEN);
        assert_eq!(f["key_type"], "temporary");
        assert_eq!(f["rule"], "aws-sts-credentials-json");
    }
}

#[test]
fn session_credentials_in_env_files() {
    let text =
        format!("AWS_ACCESS_KEY_ID={T1}\nAWS_SECRET_ACCESS_KEY={S3}\nAWS_SESSION_TOKEN={TOKEN}\n");
    let findings = scan(".envrc", text.as_bytes());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["kind"], "session_credentials");
    assert_eq!(findings[0]["session_token"], TOKEN);
}

#[test]
fn sts_xml_response() {
    let xml = format!("<AssumeRoleResponse><AssumeRoleResult><Credentials>\n<AccessKeyId>{T1}</AccessKeyId>\n<SecretAccessKey>{S3}</SecretAccessKey>\n<SessionToken>{TOKEN}</SessionToken>\n</Credentials></AssumeRoleResult></AssumeRoleResponse>\n");
    let findings = scan("response.xml", xml.as_bytes());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["kind"], "session_credentials");
}

#[test]
fn key_in_the_middle_of_a_minified_megabyte_line() {
    let mut text = String::with_capacity(1_600_000);
    let mut i = 0u64;
    while text.len() < 750_000 {
        text.push_str(&format!("var a{i}=function(b){{return b*{i}+\"x{i}\"}};"));
        i += 1;
    }
    text.push_str(&format!(
        "var cfg={{accessKeyId:\"{K1}\",secretAccessKey:\"{S1}\"}};"
    ));
    let col = text.find(K1).expect("planted") + 1;
    while text.len() < 1_500_000 {
        text.push_str(&format!("var z{i}=[{i},{i},{i}];"));
        i += 1;
    }
    let findings = scan("bundle.min.js", text.as_bytes());
    assert_eq!(summary(&findings), vec![pair(K1, S1)]);
    assert_eq!(findings[0]["location"]["line"], 1);
    assert_eq!(findings[0]["location"]["column"], col);
}

#[test]
fn key_between_random_binary_bytes() {
    let mut state = 0x1234_5678_u32;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect()
    };
    let mut data = noise(50_000);
    data.extend_from_slice(b"\0\x01");
    data.extend_from_slice(format!("{K1}\0\x07{S1}").as_bytes());
    data.extend_from_slice(b"\xff\0");
    data.extend(noise(50_000));
    let found = summary(&scan("core.db", &data));
    assert!(found.contains(&pair(K1, S1)), "{found:?}");
    let with_k1 = found.iter().filter(|f| f.1 == K1).count();
    assert_eq!(with_k1, 1, "{found:?}");
}

#[test]
fn lone_key_id_and_lone_secret() {
    let findings = scan(
        "readme.txt",
        format!("the deploy key is {K3}, ask ops for the rest\n").as_bytes(),
    );
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["kind"], "access_key_id");
    assert_eq!(findings[0]["severity"], "medium");
    let pair_sev = scan(
        "x.env",
        format!("AWS_ACCESS_KEY_ID={K1}\nAWS_SECRET_ACCESS_KEY={S1}\n").as_bytes(),
    );
    assert_eq!(pair_sev[0]["severity"], "critical");

    let findings = scan(
        "vars.env",
        format!("AWS_SECRET_ACCESS_KEY={S2}\n").as_bytes(),
    );
    assert_eq!(
        summary(&findings),
        vec![("secret_access_key".into(), String::new(), S2.into())]
    );
}

#[test]
fn pairs_join_closest_key_and_secret_only_within_distance() {
    // Secret before the key ID, and a second key far away stays alone.
    let far = "x".repeat(3000);
    let text = format!("secret: {S1}\nid: {K1}\n{far}\nother id {K2}\n");
    let found = summary(&scan("mixed.yml", text.as_bytes()));
    assert_eq!(
        found,
        vec![
            pair(K1, S1),
            ("access_key_id".into(), K2.into(), String::new())
        ]
    );
}

#[test]
fn documentation_examples_and_placeholders_stay_quiet() {
    let cases = [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        "AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE\nAWS_SECRET_ACCESS_KEY=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n",
        "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX\naws_secret_access_key = XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n",
        "aws_access_key_id = AKIA...\naws_secret_access_key = ...\n",
        "aws_access_key_id = <YOUR_ACCESS_KEY_ID>\naws_secret_access_key = <YOUR_SECRET_ACCESS_KEY>\n",
        "AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID}\nAWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}\n",
        "aws_access_key_id = AKIA****************\naws_secret_access_key = ****************************************\n",
        "aws_access_key_id: {{ vault_aws_key }}\naws_secret_access_key: \"{{ lookup('env', 'AWS_SECRET_ACCESS_KEY') }}\"\n",
        "AccessKeyId: AKIAABCDEFGHIJKLMNOP\nSecretAccessKey: abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN\n",
        // test suites mutate the documentation keys
        "(\"AKIAIOSFODNN7EXAMPLF\", \"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\"),\n",
        "AKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n",
    ];
    for text in cases {
        assert_quiet("config", text);
    }
}

#[test]
fn iam_unique_ids_are_not_credentials() {
    assert_quiet(
        "get-user.json",
        "{\"User\": {\"UserName\": \"alice\", \"UserId\": \"AIDA2JZDEGXDNCF32EPF\", \"Arn\": \"arn:aws:iam::111122223333:user/alice\"}}\n\
         {\"Role\": {\"RoleId\": \"AROA5DHODZDOCIS2JHTL\"}, \"Group\": {\"GroupId\": \"AGPATMXGEDN73U55XTPL\"}, \"Policy\": {\"PolicyId\": \"ANPAXFT7V4SEH2KVJ72C\"}}\n\
         {\"InstanceProfileId\": \"AIPASUVW75EFR6EDT4SY\"}\n",
    );
}

#[test]
fn digests_and_unrelated_base64_stay_quiet() {
    let cases = [
        // 40-hex digests next to a key-ish context
        "aws_secret_access_key = da39a3ee5e6b4b0d3255bfef95601890afd80709\n".to_string(),
        "commit 3f786850e387550fdab836ed7e6dc881de23001b\nAuthor: dev\n".to_string(),
        // 40-char base64 without AWS context
        format!("client_secret = {S1}\n"),
        format!("password: {S2}\n"),
        format!("SECRET_KEY = '{S3}'\n"),
        // a key ID inside a longer alphanumeric run, or in lower case
        format!("blob=x{K1}y\n"),
        format!("id={}\n", K1.to_ascii_lowercase()),
        // base64 image data containing AKIA
        format!("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAKIA{}AAAAAElFTkSuQmCC\n", &K1[4..]),
        // a JWT and a UUID
        "token = eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n".to_string(),
        "request-id: 7c9e6679-7425-40de-944b-e07fc1f90ae7\n".to_string(),
    ];
    for text in cases {
        assert_quiet("file.txt", &text);
    }
}

#[test]
fn key_id_next_to_a_digest_is_reported_alone() {
    let text = format!("key {K1} sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709\n");
    let found = summary(&scan("notes.txt", text.as_bytes()));
    assert_eq!(
        found,
        vec![("access_key_id".into(), K1.into(), String::new())]
    );
}

#[test]
fn every_builtin_rule_example_passes() {
    let detector = keysweep::detect::Detector::new(keysweep::rules::builtin()).expect("detector");
    let ids: Vec<String> = detector
        .rules()
        .iter()
        .map(|r| r.id().to_string())
        .collect();
    assert!(ids.len() >= 7);
    let failures = detector.check_examples(&ids);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn more_places_keys_are_pasted() {
    let cases = [
        (
            "page.html",
            format!("<td>&quot;{K1}&quot;</td><td>&quot;{S1}&quot;</td>\n"),
        ),
        ("copy.sh", format!("aws s3 cp s3://{K1}:{S1}@bucket/x .\n")),
        (
            "env.ps1",
            format!("$env:AWS_ACCESS_KEY_ID = \"{K1}\"; $env:AWS_SECRET_ACCESS_KEY = \"{S1}\"\n"),
        ),
        (
            "cred.ps1",
            format!("Set-AWSCredential -AccessKey {K1} -SecretKey {S1} -StoreAs default\n"),
        ),
        ("terraform.tfstate", format!("{{\"resources\":[{{\"type\":\"aws_iam_access_key\",\"instances\":[{{\"attributes\":{{\"id\":\"{K1}\",\"secret\":\"{S1}\",\"status\":\"Active\",\"user\":\"ci-bot\"}}}}]}}]}}\n")),
        ("collection.postman.json", format!("{{\"auth\":{{\"type\":\"awsv4\",\"awsv4\":[{{\"key\":\"secretKey\",\"value\":\"{S1}\"}},{{\"key\":\"accessKey\",\"value\":\"{K1}\"}}]}}}}\n")),
        ("app.config", format!("<appSettings>\n  <add key=\"AWSAccessKey\" value=\"{K1}\" />\n  <add key=\"AWSSecretKey\" value=\"{S1}\" />\n</appSettings>\n")),
        ("credentials.xml", format!("<AWSCredentialsImpl>\n  <accessKey>{K1}</accessKey>\n  <secretKey>{S1}</secretKey>\n</AWSCredentialsImpl>\n")),
    ];
    for (name, text) in cases {
        assert_pairs(name, &text, &[(K1, S1)]);
    }
    // Lone secrets whose names say AWS.
    for text in [
        format!("System.setProperty(\"aws.secretKey\", \"{S2}\");\n"),
        format!("os.environ[\"AWS_SECRET_ACCESS_KEY\"] = \"{S2}\"\n"),
    ] {
        let found = summary(&scan("Main.java", text.as_bytes()));
        assert_eq!(
            found,
            vec![("secret_access_key".into(), String::new(), S2.into())],
            "{text}"
        );
    }
    // Instance-metadata and credential_process JSON: temporary credentials with their token.
    for text in [
        format!("{{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"{T1}\",\"SecretAccessKey\":\"{S3}\",\"Token\":\"{TOKEN}\",\"Expiration\":\"2026-11-27T20:00:00Z\"}}"),
        format!("{{\"Version\": 1, \"AccessKeyId\": \"{T1}\", \"SecretAccessKey\": \"{S3}\", \"SessionToken\": \"{TOKEN}\"}}"),
    ] {
        let findings = scan("creds.json", text.as_bytes());
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0]["kind"], "session_credentials");
        assert_eq!(findings[0]["session_token"], TOKEN);
    }
}

#[test]
fn inline_allow_suppresses_its_line_and_no_allow_reports_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("fixture.py"),
        format!("TEST_KEY = '{K3}'  # keysweep:allow\nREAL = '{K2}'\n"),
    )
    .expect("write");
    let run = |extra: &[&str]| {
        Command::cargo_bin("keysweep")
            .expect("binary")
            .args(["scan", "--format", "json"])
            .args(extra)
            .arg(dir.path())
            .output()
            .expect("run")
    };
    let out = run(&[]);
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        summary(&findings),
        vec![("access_key_id".into(), K2.into(), String::new())]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 by keysweep:allow"), "{stderr}");

    let out = run(&["--no-allow"]);
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    let keys: Vec<_> = summary(&findings).into_iter().map(|f| f.1).collect();
    assert_eq!(keys, vec![K3.to_string(), K2.to_string()]);
}

#[test]
fn temporary_key_ids_in_cloudtrail_logs_are_low_severity() {
    let log = format!("{{\"Records\":[{{\"userIdentity\":{{\"type\":\"AssumedRole\",\"principalId\":\"AROA5DHODZDOCIS2JHTL:bot\",\"accessKeyId\":\"{T1}\"}},\"eventName\":\"GetObject\"}}]}}\n");
    let findings = scan("cloudtrail.json", log.as_bytes());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["kind"], "access_key_id");
    assert_eq!(findings[0]["key_id"], T1);
    assert_eq!(findings[0]["severity"], "low");
}
