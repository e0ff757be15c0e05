//! The detector: Aho-Corasick prefilter -> regex confirmation in bounded windows -> format
//! checks -> pairing of key IDs with nearby secrets and session tokens. Besides the rules'
//! keywords, the prefilter finds the encoded-credential signatures the decoders start from;
//! the escape signatures among them are looked for only near its hits ([`encoded`]).
//!
//! A buffer is scanned in one or more *core ranges* ([`Detector::scan_range`]): only
//! candidates whose match starts inside the core are kept, while windows may reach into the
//! bytes around it, so a large file can be scanned piece by piece and every credential is
//! found exactly once. [`Detector::finish`] then runs the key-ID-relative rules and pairs the
//! parts into [`Match`]es.

pub mod awscache;
mod checks;
pub mod decode;
pub mod encoded;
mod glue;
mod pair;
mod placeholder;
mod structure;

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::rules::{Near, Rule};
use encoded::{Tap, TapKind};

pub use pair::PAIR_DISTANCE;

/// Errors building a detector.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("cannot build the keyword prefilter: {0}")]
    Prefilter(#[from] aho_corasick::BuildError),
}

/// The part of a credential an atom holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    KeyId,
    Secret,
    Token,
    User,
    /// A self-contained API key (Amazon Bedrock): reported on its own, never paired.
    ApiKey,
}

impl Part {
    /// The grammar values of this part must match.
    pub fn field(self) -> crate::grammar::Field {
        use crate::grammar::Field;
        match self {
            Part::KeyId => Field::KeyId,
            Part::Secret => Field::Secret,
            Part::Token => Field::SessionToken,
            Part::User => Field::IamName,
            Part::ApiKey => Field::ApiKey,
        }
    }
}

/// One confirmed credential part, before pairing.
#[derive(Debug, Clone)]
pub struct Atom {
    pub part: Part,
    /// Index of the rule that captured it.
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    /// The value, with JSON `\/` escapes removed.
    pub value: String,
    pub specificity: u8,
    /// Found only next to a key ID: never reported alone.
    pub needs_key: bool,
}

/// A captured part of a match with where it stands in the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub value: String,
    pub start: usize,
    pub end: usize,
}

/// A credential found in a blob: a key ID, a secret and a session token as far as present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule that names the match (the most specific of its parts).
    pub rule: usize,
    pub key_id: Option<Span>,
    pub secret: Option<Span>,
    pub token: Option<Span>,
    pub user: Option<String>,
    /// A self-contained API key (then the other parts are `None`).
    pub api_key: Option<Span>,
    /// Where the match is reported: the key ID, else the secret, else the token.
    pub offset: usize,
}

/// Per-thread scratch space, reused across blobs so scanning allocates little.
#[derive(Debug, Default)]
pub struct ScanState {
    windows: Vec<Vec<Range<usize>>>,
    atoms: Vec<Atom>,
    taps: Vec<Tap>,
    /// Where escapes are looked for in the current core range (merged, in order).
    escape_windows: Vec<Range<usize>>,
}

impl ScanState {
    /// Forgets the atoms and signature hits of the previous blob.
    pub fn clear(&mut self) {
        self.atoms.clear();
        self.taps.clear();
    }

    /// Encoded-credential signatures found since the last [`Self::clear_taps`], in order.
    pub fn taps(&self) -> &[Tap] {
        &self.taps
    }

    pub fn clear_taps(&mut self) {
        self.taps.clear();
    }
}

/// Compiled rules plus the keyword automaton over all of them.
#[derive(Debug)]
pub struct Detector {
    rules: Vec<Rule>,
    prefilter: AhoCorasick,
    /// For each prefilter pattern, the rules that listed that keyword.
    keyword_rules: Vec<Vec<usize>>,
    /// For each prefilter pattern, the encoded-credential signature it also is, if any.
    taps: Vec<Option<TapKind>>,
    /// For each prefilter pattern, whether escapes are looked for around its hits.
    opens_escapes: Vec<bool>,
    /// The escape signatures ([`encoded::escapes`]), searched for near prefilter hits only.
    escapes: AhoCorasick,
    /// For each escape pattern, its kind.
    escape_kinds: Vec<TapKind>,
    /// Rules that run around confirmed key IDs.
    near_key_rules: Vec<usize>,
    /// Bytes on each side of a core range that keyword hits are looked for in.
    overlap: usize,
    /// Captures dropped because their value is off its grammar, per (rule, part). Rules
    /// that pass [`crate::grammar::check_capture`] never add to it; it is the run-time net.
    rejected: std::sync::Mutex<std::collections::BTreeMap<(usize, Part), u64>>,
}

impl Detector {
    pub fn new(rules: Vec<Rule>) -> Result<Detector, DetectError> {
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut near_key_rules = Vec::new();
        let mut overlap = 0;
        for (index, rule) in rules.iter().enumerate() {
            if rule.syntax.near == Some(Near::KeyId) {
                near_key_rules.push(index);
            }
            for keyword in &rule.syntax.keywords {
                let slot = match keywords.iter().position(|k| k == keyword) {
                    Some(slot) => slot,
                    None => {
                        keywords.push(keyword.clone());
                        keyword_rules.push(Vec::new());
                        keywords.len() - 1
                    }
                };
                keyword_rules[slot].push(index);
                overlap = overlap.max(rule.window_before.max(rule.window_after) + keyword.len());
            }
        }
        // Encoded-credential signatures share the automaton, so finding them costs no pass of
        // its own; a literal that is both keyword and signature is one pattern. The escapes,
        // 3 bytes long, have an automaton of their own that runs near the hits only.
        let mut taps = vec![None; keywords.len()];
        for (literal, kind) in encoded::signatures() {
            match keywords.iter().position(|k| k == literal) {
                Some(slot) => taps[slot] = Some(kind),
                None => {
                    keywords.push(literal.to_string());
                    keyword_rules.push(Vec::new());
                    taps.push(Some(kind));
                }
            }
        }
        let prefilter = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&keywords)?;
        let opens_escapes = taps
            .iter()
            .map(|&k| encoded::opens_escape_window(k))
            .collect();
        let (escape_literals, escape_kinds): (Vec<&str>, Vec<TapKind>) = encoded::escapes().unzip();
        let escapes = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&escape_literals)?;
        // Hits this far outside a core range still open escape windows reaching into it.
        let overlap = overlap.max(encoded::ESCAPE_REACH + ESCAPE_MAX_LEN);
        Ok(Detector {
            rules,
            prefilter,
            keyword_rules,
            taps,
            opens_escapes,
            escapes,
            escape_kinds,
            near_key_rules,
            overlap,
            rejected: Default::default(),
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The id of rule `index` (a [`Match::rule`]), as findings name it.
    pub fn rule_id(&self, index: usize) -> &str {
        self.rules[index].id()
    }

    /// How many bytes past a core range the detector may look at (for chunked scanning).
    pub fn overlap(&self) -> usize {
        self.overlap
    }

    /// Scans `data[core]` (looking up to [`Self::overlap`] bytes beyond it for context) and
    /// adds the confirmed parts to `state`.
    pub fn scan_range(&self, data: &[u8], core: Range<usize>, state: &mut ScanState) {
        let lo = core.start.saturating_sub(self.overlap);
        let hi = core.end.saturating_add(self.overlap).min(data.len());
        if lo >= hi {
            return;
        }
        state.windows.resize_with(self.rules.len(), Vec::new);
        for windows in &mut state.windows {
            windows.clear();
        }
        state.escape_windows.clear();
        let first_tap = state.taps.len();
        for hit in self.prefilter.find_iter(&data[lo..hi]) {
            let (start, end) = (lo + hit.start(), lo + hit.end());
            let slot = hit.pattern().as_usize();
            if let Some(kind) = self.taps[slot] {
                if core.contains(&start) {
                    state.taps.push(Tap { kind, start, end });
                }
            }
            if self.opens_escapes[slot] {
                // Only escapes that start in the core are kept: look no further.
                let from = start.saturating_sub(encoded::ESCAPE_REACH).max(core.start);
                let until = end.saturating_add(encoded::ESCAPE_REACH).min(core.end);
                if from < until {
                    match state.escape_windows.last_mut() {
                        // Hits come in order, so windows start in order: merge overlapping ones.
                        Some(last) if from <= last.end => last.end = last.end.max(until),
                        _ => state.escape_windows.push(from..until),
                    }
                }
            }
            for &index in &self.keyword_rules[slot] {
                let rule = &self.rules[index];
                let window = start.saturating_sub(rule.window_before)
                    ..end.saturating_add(rule.window_after).min(data.len());
                push_window(&mut state.windows[index], window);
            }
        }
        if !state.escape_windows.is_empty() {
            self.find_escapes(data, state, first_tap);
        }
        for (index, windows) in state.windows.iter().enumerate() {
            for window in windows {
                self.confirm(index, data, window.clone(), Some(&core), &mut state.atoms);
            }
        }
    }

    /// Adds the escape signatures that start in `state.escape_windows` to the taps, keeping
    /// the taps from `first_tap` on in start order (the decoders walk them in order).
    fn find_escapes(&self, data: &[u8], state: &mut ScanState, first_tap: usize) {
        let signatures = state.taps.len();
        for window in &state.escape_windows {
            // An escape starting at the window's last byte needs its whole length.
            let end = (window.end + ESCAPE_MAX_LEN - 1).min(data.len());
            for hit in self.escapes.find_iter(&data[window.start..end]) {
                let start = window.start + hit.start();
                if start >= window.end {
                    break;
                }
                state.taps.push(Tap {
                    kind: self.escape_kinds[hit.pattern().as_usize()],
                    start,
                    end: window.start + hit.end(),
                });
            }
        }
        if state.taps.len() > signatures && signatures > first_tap {
            // Two sorted runs: the stable sort merges them in one pass.
            state.taps[first_tap..].sort_by_key(|t| t.start);
        }
    }

    /// Counts a capture of rule `index` dropped for being off its grammar.
    fn reject(&self, index: usize, part: Part) {
        let mut map = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((index, part)).or_default() += 1;
    }

    /// One warning per rule and part whose captures were dropped for being off their grammar
    /// (e.g. a custom rule whose `key_id` capture matched `AKIA42CQ$(id)`); the value itself is
    /// not repeated.
    pub fn rejected_captures(&self) -> Vec<String> {
        let map = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(&(index, part), count)| {
                let field = part.field();
                format!(
                    "rule `{}`: {count} `{}` capture(s) dropped: not {}",
                    self.rules.get(index).map_or("?", |r| r.id()),
                    field.name(),
                    field.describe()
                )
            })
            .collect()
    }

    /// Runs the key-ID-relative rules, then pairs the parts found in the whole blob.
    /// `data` is the same blob the core ranges were taken from. Matches come in offset order.
    pub fn finish(&self, data: &[u8], state: &mut ScanState) -> Vec<Match> {
        self.scan_near_key_ids(data, state);
        dedup_atoms(&mut state.atoms);
        pair::pair(&state.atoms, data)
    }

    /// Runs the rules that look around each confirmed key ID.
    fn scan_near_key_ids(&self, data: &[u8], state: &mut ScanState) {
        if !self.near_key_rules.is_empty() {
            let mut windows = Vec::new();
            for &index in &self.near_key_rules {
                let rule = &self.rules[index];
                // A rule that finds only tokens runs only where a token can pair.
                let token_only = rule.captures.secret.is_none();
                windows.clear();
                for atom in state.atoms.iter().filter(|a| {
                    a.part == Part::KeyId && (!token_only || pair::takes_token(&a.value))
                }) {
                    let window = atom.start.saturating_sub(rule.window_before)
                        ..atom.end.saturating_add(rule.window_after).min(data.len());
                    push_window(&mut windows, window);
                }
                for window in &windows {
                    self.confirm(index, data, window.clone(), None, &mut state.atoms);
                }
            }
        }
    }

    /// Convenience for a blob held whole in memory: scan it as one core range and pair.
    pub fn scan(&self, data: &[u8], state: &mut ScanState) -> Vec<Match> {
        state.clear();
        self.scan_range(data, 0..data.len(), state);
        self.finish(data, state)
    }

    /// Runs every example and counter-example of the rules named in `ids` through the whole
    /// detector; returns one line per failure. An example passes when the rule confirms a
    /// part in it; a counter-example when the rule confirms nothing.
    pub fn check_examples(&self, ids: &[String]) -> Vec<String> {
        let mut failures = Vec::new();
        let mut state = ScanState::default();
        for (index, rule) in self.rules.iter().enumerate() {
            if !ids.iter().any(|id| id == rule.id()) {
                continue;
            }
            let cases = rule
                .syntax
                .examples
                .iter()
                .map(|e| (e, true))
                .chain(rule.syntax.counter_examples.iter().map(|e| (e, false)));
            for (text, should_match) in cases {
                state.clear();
                let data = text.as_bytes();
                self.scan_range(data, 0..data.len(), &mut state);
                self.scan_near_key_ids(data, &mut state);
                let matched = state.atoms.iter().any(|a| a.rule == index);
                if matched != should_match {
                    let what = if should_match {
                        "example not matched"
                    } else {
                        "counter-example matched"
                    };
                    failures.push(format!("{} ({}): {what}: {text:?}", rule.id(), rule.source));
                }
            }
        }
        failures
    }

    /// Runs rule `index`'s pattern over `data[window]` and keeps what passes the checks.
    fn confirm(
        &self,
        index: usize,
        data: &[u8],
        window: Range<usize>,
        core: Option<&Range<usize>>,
        atoms: &mut Vec<Atom>,
    ) {
        let rule = &self.rules[index];
        let base = window.start;
        for caps in rule.regex.captures_iter(&data[window]) {
            let Some(whole) = caps.get(0) else { continue };
            if core.is_some_and(|c| !c.contains(&(base + whole.start()))) {
                continue;
            }
            let mut found: [Option<Atom>; 5] = Default::default();
            let mut ok = true;
            let c = rule.captures;
            let parts = [
                (Part::KeyId, c.key_id),
                (Part::Secret, c.secret),
                (Part::Token, c.token),
                (Part::User, c.user),
                (Part::ApiKey, c.api_key),
            ];
            for (slot, (part, group)) in parts.into_iter().enumerate() {
                let Some(m) = group.and_then(|g| caps.get(g)) else {
                    continue;
                };
                let (start, end) = (base + m.start(), base + m.end());
                let value = match part {
                    Part::KeyId => checks::key_id(data, start, end)
                        .then(|| String::from_utf8_lossy(m.as_bytes()).into_owned()),
                    Part::Secret => checks::secret(data, start, end, rule.entropy_min),
                    Part::Token => checks::session_token(data, start, end, rule.entropy_min),
                    Part::User => Some(String::from_utf8_lossy(m.as_bytes()).into_owned()),
                    Part::ApiKey => checks::api_key(data, start, end, rule.entropy_min),
                };
                // Whatever the rule, a value off its grammar is dropped (and counted).
                let value = value.filter(|v| {
                    let fits = part.field().matches(v);
                    if !fits {
                        self.reject(index, part);
                    }
                    fits
                });
                let Some(value) = value else {
                    ok = false;
                    break;
                };
                found[slot] = Some(Atom {
                    part,
                    rule: index,
                    start,
                    end,
                    value,
                    specificity: rule.specificity,
                    needs_key: rule.syntax.near.is_some(),
                });
            }
            if ok {
                atoms.extend(found.into_iter().flatten());
            }
        }
    }
}

/// Longest escape signature ([`encoded::escapes`]): `\u00`.
const ESCAPE_MAX_LEN: usize = 4;

/// Merged windows stop growing past this size, so a run of dense candidates never turns
/// into one regex pass over a whole buffer.
const MAX_MERGED_WINDOW: usize = 64 * 1024;

/// Appends `window`, merging it into the last one when they overlap (hits arrive in order).
fn push_window(windows: &mut Vec<Range<usize>>, window: Range<usize>) {
    if let Some(last) = windows.last_mut() {
        let overlaps = window.start <= last.end && window.end >= last.start;
        if overlaps && last.end - last.start < MAX_MERGED_WINDOW {
            last.start = last.start.min(window.start);
            last.end = last.end.max(window.end);
            return;
        }
    }
    windows.push(window);
}

/// Sorts atoms and keeps one per (part, span): the one from the most specific rule.
fn dedup_atoms(atoms: &mut Vec<Atom>) {
    atoms.sort_by(|a, b| {
        (a.start, a.end, a.part)
            .cmp(&(b.start, b.end, b.part))
            .then(b.specificity.cmp(&a.specificity))
            .then(a.needs_key.cmp(&b.needs_key))
            .then(a.rule.cmp(&b.rule))
    });
    atoms.dedup_by(|later, kept| {
        later.part == kept.part && later.start == kept.start && later.end == kept.end
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule whose pattern was swapped after loading (as no loaded rule can be): its
    /// off-grammar captures are dropped and counted, and short ones do not panic.
    #[test]
    fn off_grammar_captures_are_dropped_at_run_time() {
        let mut rule = crate::rules::parse(
            "[[rule]]\nid = \"x\"\nname = \"x\"\nkeywords = [\"AKIA\"]\n\
             pattern = '(?P<key_id>AKIA[A-Z2-7]{16})'\nexamples = [\"AKIAR7VZ3MOXQ4JTLW2N\"]\n",
            std::path::Path::new("x.toml"),
        )
        .unwrap()
        .remove(0);
        rule.regex = regex::bytes::Regex::new(r"(?P<key_id>AKIA\S{0,16})").unwrap();
        let detector = Detector::new(vec![rule]).unwrap();
        let mut state = ScanState::default();
        let data = b"k = AKIA42CQ$(touch\nk = AKI\nk = AKIA\n";
        assert!(detector.scan(data, &mut state).is_empty());
        let warnings = detector.rejected_captures();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("rule `x`: 2 `key_id` capture(s) dropped"));
        assert!(!warnings[0].contains("touch"));
    }

    /// The global prefilter stays on aho-corasick's slim Teddy search: at most 32 patterns
    /// (more take fat Teddy, 4.7 against 5.9 GB/s on a source tree; past 64 a slower
    /// automaton), none shorter than 4 bytes (a 3-byte pattern shortens Teddy's fingerprint
    /// and lets many more false candidates through). The escapes have a searcher of their own.
    #[test]
    fn prefilter_fits_slim_teddy() {
        let detector = Detector::new(crate::rules::builtin()).unwrap();
        assert!(detector.prefilter.patterns_len() <= 32);
        assert!(detector.prefilter.min_pattern_len() >= 4);
        assert_eq!(
            detector.escapes.max_pattern_len(),
            ESCAPE_MAX_LEN,
            "ESCAPE_MAX_LEN is the longest escape"
        );
    }
}
