//! The dependency rule holds: no module of `src/` uses one of a layer above its own. The
//! layers are the numbered list under "# Layers" in `src/lib.rs` (the one place they are
//! written); every `crate::` and `super::` path in the library's code (comments and
//! `#[cfg(test)]` modules left out) is read and placed by the longest module path listed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Paths that still run upward, each with why and what removes it. Shrink this list, never
/// grow it: an entry no path needs any more fails the test too.
const KNOWN_UPWARD: &[(&str, &str, &str)] = &[];

/// The layers of `src/lib.rs`, from the top: the module paths of each.
fn layers(lib: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            break;
        };
        let doc = doc.trim();
        if doc.starts_with('#') {
            inside = doc == "# Layers";
            continue;
        }
        let Some((number, rest)) = doc.split_once(". ") else {
            continue;
        };
        if !inside || number.parse::<usize>().is_err() {
            continue;
        }
        assert_eq!(
            number.parse::<usize>().ok(),
            Some(out.len() + 1),
            "layers are numbered 1, 2, ... in src/lib.rs: {line}"
        );
        let names = rest.split_once(':').map_or(rest, |(_, names)| names);
        out.push(
            names
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect(),
        );
    }
    out
}

/// The layer (index from the top) of module path `module`: that of the longest listed path
/// it starts with.
fn layer_of(layers: &[Vec<String>], module: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (n, names) in layers.iter().enumerate() {
        for name in names {
            let within = module == name
                || module
                    .strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with("::"));
            if within && best.is_none_or(|(len, _)| name.len() > len) {
                best = Some((name.len(), n));
            }
        }
    }
    best.map(|(_, n)| n)
}

/// The module path of a file under `src/` (`input/git/mod.rs` is `input::git`).
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts.join("::")
}

/// The code of a file without comments and without its `#[cfg(test)]` module (always the
/// last item of a file in this crate).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The module paths that `code` names from `crate::` and `super::` (resolved against
/// `module`): the lower-case segments of each path, and of each name in a `{...}` group.
fn used_modules(module: &str, code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (start, prefix) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        // Part of a longer name (`foo_crate::`) or path (the second `super::` of
        // `super::super::`, read with the first)?
        let before = &code[..start];
        if before.chars().next_back().is_some_and(is_ident) || before.ends_with("::") {
            continue;
        }
        let mut base: Vec<&str> = Vec::new();
        let mut rest = &code[start + prefix.len()..];
        if prefix == "super::" {
            base = module.split("::").filter(|s| !s.is_empty()).collect();
            base.pop();
            // `super::super::x`
            while let Some(more) = rest.strip_prefix("super::") {
                base.pop();
                rest = more;
            }
        }
        let mut path: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        let mut tail = rest;
        loop {
            let end = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
            let segment = &tail[..end];
            if segment.is_empty() || !segment.starts_with(|c: char| c.is_ascii_lowercase()) {
                break;
            }
            if segment == "self" {
                break;
            }
            path.push(segment.to_string());
            tail = &tail[end..];
            match tail.strip_prefix("::") {
                Some(more) => tail = more,
                None => break,
            }
        }
        if let Some(group) = tail.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let item = item.trim();
                let mut sub = path.clone();
                for segment in item.split("::") {
                    let segment = segment.split_whitespace().next().unwrap_or("");
                    if segment.is_empty()
                        || segment == "self"
                        || !segment.starts_with(|c: char| c.is_ascii_lowercase())
                    {
                        break;
                    }
                    sub.push(segment.to_string());
                }
                out.insert(sub.join("::"));
            }
        }
        out.insert(path.join("::"));
    }
    out.remove("");
    out
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        // src/bin/: the command line, outside the library; it reaches the library only
        // through `keysweep::` paths, never `crate::`.
        if path.ends_with("src/bin") {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The paths of `files` (module path, code) that run upward, as `(from, to, message)`.
fn upward(layers: &[Vec<String>], files: &[(String, String)]) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for (module, code) in files {
        let Some(mine) = layer_of(layers, module) else {
            found.push((
                module.clone(),
                String::new(),
                format!("module {module} is in no layer: add it to \"# Layers\" in src/lib.rs"),
            ));
            continue;
        };
        for used in used_modules(module, code) {
            let Some(theirs) = layer_of(layers, &used) else {
                continue;
            };
            if theirs < mine {
                found.push((
                    module.clone(),
                    used.clone(),
                    format!(
                        "{module} (layer {}) uses {used} (layer {}, above it)",
                        mine + 1,
                        theirs + 1
                    ),
                ));
            }
        }
    }
    found
}

fn known(from: &str, to: &str) -> Option<usize> {
    let within = |path: &str, prefix: &str| {
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|r| r.starts_with("::"))
    };
    KNOWN_UPWARD
        .iter()
        .position(|(f, t, _)| within(from, f) && within(to, t))
}

#[test]
fn no_module_uses_one_of_a_layer_above() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).expect("read src/lib.rs");
    let layers = layers(&lib);
    assert!(layers.len() >= 5, "the layers of src/lib.rs: {layers:?}");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: Vec<(String, String)> = paths
        .iter()
        // The binary is the top of everything and names the library as `keysweep::`.
        .filter(|p| !p.ends_with("main.rs") && !p.ends_with("lib.rs"))
        .map(|p| {
            let relative = p.strip_prefix(&src).expect("under src");
            let text = fs::read_to_string(p).expect("read source");
            (module_of(relative), code_of(&text))
        })
        .collect();
    assert!(files.len() > 40, "{} files read", files.len());

    let mut used_exceptions = BTreeSet::new();
    let mut wrong = Vec::new();
    for (from, to, message) in upward(&layers, &files) {
        match known(&from, &to) {
            Some(n) => {
                used_exceptions.insert(n);
            }
            None => wrong.push(message),
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers of src/lib.rs:\n{}",
        wrong.join("\n")
    );
    for (n, (from, to, why)) in KNOWN_UPWARD.iter().enumerate() {
        assert!(
            used_exceptions.contains(&n),
            "{from} -> {to} is listed as a known upward path but no longer used: remove it \
             from KNOWN_UPWARD ({why})"
        );
    }
}

/// The reader sees what the rule is about: grouped, nested, `super::` and inline paths, and
/// it is not fooled by comments or test modules.
#[test]
fn the_reader_finds_upward_paths() {
    let layers = layers(
        "//! # Layers\n//!\n//! 1. top: `scan`\n//! 2. middle: `input`, `detect::decode`\n\
         //! 3. bottom: `detect`, `finding`\n//!\n//! # Other\n//! 4. not a layer: `x`\n",
    );
    assert_eq!(layers.len(), 3, "{layers:?}");
    assert_eq!(layer_of(&layers, "detect::decode::pdf"), Some(1));
    assert_eq!(layer_of(&layers, "detect::pair"), Some(2));
    assert_eq!(layer_of(&layers, "x"), None);

    let files = vec![
        // Upward: grouped with a module inside the braces, and an inline path.
        (
            "finding".to_string(),
            "use crate::detect::{decode::Utf16Reader, Match};\n\
             fn f() { crate::scan::scan_paths(); }\n"
                .to_string(),
        ),
        // `super::` from a file of `detect` reaches `detect::decode`, one layer up.
        (
            "detect::pair".to_string(),
            "use super::{decode, Match};\n".to_string(),
        ),
        // Downward and same-layer paths are fine; comments and tests are not read.
        (
            "input::git::pool".to_string(),
            code_of(
                "use crate::finding::Origin;\nuse super::super::archive::Source;\n\
                 // crate::scan::BlobScanner\n#[cfg(test)]\nmod tests {\n    use crate::scan;\n}\n",
            ),
        ),
        ("stray".to_string(), String::new()),
    ];
    let found: Vec<(String, String)> = upward(&layers, &files)
        .into_iter()
        .map(|(from, to, _)| (from, to))
        .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        found,
        vec![
            pair("finding", "detect::decode"),
            pair("finding", "scan::scan_paths"),
            pair("detect::pair", "detect::decode"),
            pair("stray", ""),
        ]
    );
}
