//! Pairing: key IDs, secrets and session tokens found close together in one blob become one
//! match, closest first, each part used once.

use super::structure::{Boundaries, Layout};
use super::{Atom, Match, Part, Span};

/// How far apart (bytes between the nearest edges) a key ID and its secret or token may be.
pub const PAIR_DISTANCE: usize = 1024;

/// Session tokens go with temporary (ASIA) key IDs only.
pub(super) fn takes_token(key_id: &str) -> bool {
    key_id.starts_with("ASIA")
}

fn distance(a: &Atom, b: &Atom) -> usize {
    if a.end <= b.start {
        b.start - a.end
    } else {
        a.start.saturating_sub(b.end)
    }
}

/// A candidate pairing, ordered best first: fewest structural boundaries between the parts
/// (diff sides, records, blocks, lines), then closest, then the partner after the anchor.
type Candidate = (Boundaries, usize, bool, usize, usize);

/// Candidate partners of `anchor` among `others` (indices into `atoms`, sorted by start).
fn candidates(
    data: &[u8],
    layout: Layout,
    atoms: &[Atom],
    anchors: &[usize],
    others: &[usize],
    out: &mut Vec<Candidate>,
) {
    for &a in anchors {
        let anchor = &atoms[a];
        // Partners start at most PAIR_DISTANCE + their own length before the anchor; tokens
        // may be a few KB long, so look back by start with a generous bound, then filter.
        let from = anchor.start.saturating_sub(PAIR_DISTANCE + 8192);
        let first = others.partition_point(|&o| atoms[o].start < from);
        for &o in &others[first..] {
            let other = &atoms[o];
            if other.start > anchor.end + PAIR_DISTANCE {
                break;
            }
            let d = distance(anchor, other);
            if d <= PAIR_DISTANCE {
                let walls = Boundaries::between(
                    data,
                    layout,
                    (anchor.start, anchor.end),
                    (other.start, other.end),
                );
                out.push((walls, d, other.start < anchor.start, a, o));
            }
        }
    }
}

/// Assigns partners greedily, best candidate first (so a partner across a diff side or a
/// record is taken only when no partner on the same side or in the same record is left);
/// returns the partner index per anchor.
fn assign(
    data: &[u8],
    layout: Layout,
    atoms: &[Atom],
    anchors: &[usize],
    others: &[usize],
    taken: &mut [bool],
) -> Vec<Option<usize>> {
    let mut cands = Vec::new();
    candidates(data, layout, atoms, anchors, others, &mut cands);
    cands.sort_unstable();
    let mut partner = vec![None; atoms.len()];
    for (_, _, _, a, o) in cands {
        if partner[a].is_none() && !taken[o] {
            partner[a] = Some(o);
            taken[o] = true;
        }
    }
    partner
}

fn span(atom: &Atom) -> Span {
    Span {
        value: atom.value.clone(),
        start: atom.start,
        end: atom.end,
    }
}

/// Builds matches from deduplicated atoms sorted by start; `data` is the blob they are in.
pub(super) fn pair(atoms: &[Atom], data: &[u8]) -> Vec<Match> {
    let of = |part: Part| -> Vec<usize> {
        (0..atoms.len())
            .filter(|&i| atoms[i].part == part)
            .collect()
    };
    let api_keys = of(Part::ApiKey);
    let (keys, secrets, tokens, users) = (
        of(Part::KeyId),
        of(Part::Secret),
        of(Part::Token),
        of(Part::User),
    );
    let mut taken = vec![false; atoms.len()];
    // The layout matters only when there is a choice of partners.
    let layout = Layout::of(if keys.len() > 1 { data } else { &[] });
    let secret_of = assign(data, layout, atoms, &keys, &secrets, &mut taken);
    // Session tokens go with temporary (ASIA) key IDs.
    let temporary: Vec<usize> = keys
        .iter()
        .copied()
        .filter(|&k| takes_token(&atoms[k].value))
        .collect();
    let token_of = assign(data, layout, atoms, &temporary, &tokens, &mut taken);

    let mut matches = Vec::new();
    for &k in &keys {
        let parts: Vec<&Atom> = [Some(k), secret_of[k], token_of[k]]
            .into_iter()
            .flatten()
            .map(|i| &atoms[i])
            .collect();
        let user = users
            .iter()
            .map(|&u| &atoms[u])
            .filter(|u| distance(u, &atoms[k]) <= PAIR_DISTANCE)
            .min_by_key(|u| distance(u, &atoms[k]))
            .map(|u| u.value.clone());
        matches.push(Match {
            rule: naming_rule(&parts),
            key_id: Some(span(&atoms[k])),
            secret: secret_of[k].map(|s| span(&atoms[s])),
            token: token_of[k].map(|t| span(&atoms[t])),
            user,
            api_key: None,
            offset: atoms[k].start,
        });
    }
    for &i in secrets.iter().chain(&tokens) {
        let atom = &atoms[i];
        if taken[i] || atom.needs_key {
            continue;
        }
        let (secret, token) = match atom.part {
            Part::Secret => (Some(span(atom)), None),
            _ => (None, Some(span(atom))),
        };
        matches.push(Match {
            rule: atom.rule,
            key_id: None,
            secret,
            token,
            user: None,
            api_key: None,
            offset: atom.start,
        });
    }
    // API keys stand alone: nothing pairs with them.
    for &i in &api_keys {
        matches.push(Match {
            rule: atoms[i].rule,
            key_id: None,
            secret: None,
            token: None,
            user: None,
            api_key: Some(span(&atoms[i])),
            offset: atoms[i].start,
        });
    }
    matches.sort_by_key(|m| m.offset);
    matches
}

/// The rule that names a match: the most specific of its parts; on a tie the secret's rule,
/// then the token's, then the key ID's (parts come key, secret, token).
fn naming_rule(parts: &[&Atom]) -> usize {
    let mut best = parts[0];
    for &p in &parts[1..] {
        if p.specificity >= best.specificity {
            best = p;
        }
    }
    best.rule
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_1: &str = "AKIAR7VZ3MOXQ4JTLW2N";
    const KEY_2: &str = "AKIA5FJ3RQM2WZ7XK4TB";
    const TEMP_KEY: &str = "ASIAT4PZQ6HNB2LKW7XM";
    const SECRET_1: &str = "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";
    const SECRET_2: &str = "hT3nW8qL1vR6yK0pB5xM9cF2jD7sG4aZ+eU1iO3k";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD";

    /// The atom of `part` for the first `value` in `data` (rule 0 for key IDs, 1 for the
    /// other parts, specificity 1).
    fn atom(data: &str, value: &str, part: Part) -> Atom {
        let start = data.find(value).expect("value in data");
        Atom {
            part,
            rule: usize::from(part != Part::KeyId),
            start,
            end: start + value.len(),
            value: value.to_string(),
            specificity: 1,
            needs_key: false,
        }
    }

    fn run(data: &str, mut atoms: Vec<Atom>) -> Vec<Match> {
        atoms.sort_by_key(|a| a.start);
        pair(&atoms, data.as_bytes())
    }

    /// Pairs the atoms of `parts` (each value's first place in `data`).
    fn pair_parts(data: &str, parts: &[(&str, Part)]) -> Vec<Match> {
        let atoms = parts.iter().map(|&(v, part)| atom(data, v, part)).collect();
        run(data, atoms)
    }

    fn value(span: &Option<Span>) -> Option<&str> {
        span.as_ref().map(|s| s.value.as_str())
    }

    #[test]
    fn each_key_id_takes_the_secret_on_its_own_line_even_when_another_is_closer() {
        // By distance alone KEY_2 would take SECRET_1 (one newline away, where KEY_1 is 60
        // bytes from it) and leave KEY_1 the secret of the line below. Each is used once.
        let pad = " ".repeat(60);
        let data = format!("{KEY_1}{pad}{SECRET_1}\n{KEY_2} = \"{SECRET_2}\"\n");
        let found = pair_parts(
            &data,
            &[
                (KEY_1, Part::KeyId),
                (SECRET_1, Part::Secret),
                (KEY_2, Part::KeyId),
                (SECRET_2, Part::Secret),
            ],
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(value(&found[0].key_id), Some(KEY_1));
        assert_eq!(value(&found[0].secret), Some(SECRET_1));
        assert_eq!(value(&found[1].key_id), Some(KEY_2));
        assert_eq!(value(&found[1].secret), Some(SECRET_2));
    }

    #[test]
    fn a_secret_past_the_pair_distance_stands_alone() {
        let gap = " ".repeat(PAIR_DISTANCE + 1);
        let data = format!("{KEY_1}{gap}{SECRET_1}");
        let found = pair_parts(&data, &[(KEY_1, Part::KeyId), (SECRET_1, Part::Secret)]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(value(&found[0].key_id), Some(KEY_1));
        assert_eq!(found[0].secret, None);
        assert_eq!(found[1].key_id, None);
        assert_eq!(value(&found[1].secret), Some(SECRET_1));
        assert_eq!(found[1].offset, PAIR_DISTANCE + 1 + KEY_1.len());

        // At exactly the distance they pair.
        let gap = " ".repeat(PAIR_DISTANCE);
        let data = format!("{KEY_1}{gap}{SECRET_1}");
        let found = pair_parts(&data, &[(KEY_1, Part::KeyId), (SECRET_1, Part::Secret)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(value(&found[0].secret), Some(SECRET_1));
    }

    #[test]
    fn a_session_token_pairs_with_a_temporary_key_id_only() {
        let data = format!("{KEY_1} {SECRET_1} {TOKEN}");
        let found = pair_parts(
            &data,
            &[
                (KEY_1, Part::KeyId),
                (SECRET_1, Part::Secret),
                (TOKEN, Part::Token),
            ],
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].token, None);
        assert_eq!(value(&found[1].token), Some(TOKEN));
        assert_eq!(found[1].key_id, None);

        let data = format!("{TEMP_KEY} {SECRET_1} {TOKEN}");
        let found = pair_parts(
            &data,
            &[
                (TEMP_KEY, Part::KeyId),
                (SECRET_1, Part::Secret),
                (TOKEN, Part::Token),
            ],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(value(&found[0].key_id), Some(TEMP_KEY));
        assert_eq!(value(&found[0].secret), Some(SECRET_1));
        assert_eq!(value(&found[0].token), Some(TOKEN));
    }

    #[test]
    fn a_part_found_only_next_to_a_key_id_is_not_reported_alone() {
        let data = format!("secret: {SECRET_1}");
        let mut secret = atom(&data, SECRET_1, Part::Secret);
        secret.needs_key = true;
        assert!(run(&data, vec![secret]).is_empty());
    }

    #[test]
    fn the_most_specific_part_names_the_match_and_the_nearest_user_is_kept() {
        let data = format!("user alice {KEY_1} {SECRET_1}");
        let mut secret = atom(&data, SECRET_1, Part::Secret);
        secret.rule = 7;
        secret.specificity = 3;
        let mut user = atom(&data, "alice", Part::User);
        user.rule = 9;
        let found = run(&data, vec![atom(&data, KEY_1, Part::KeyId), secret, user]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, 7);
        assert_eq!(found[0].user.as_deref(), Some("alice"));
        assert_eq!(found[0].offset, data.find(KEY_1).unwrap_or_default());
    }

    #[test]
    fn an_api_key_stands_alone_and_takes_no_partner() {
        let api_key = "ABSKQmVkcm9ja0FQSUtleS1zYW1wbGUtYXQtMTIzNDU2Nzg5MDEyMzQ1Ng==";
        let data = format!("{KEY_1} {api_key}");
        let found = pair_parts(&data, &[(KEY_1, Part::KeyId), (api_key, Part::ApiKey)]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].api_key, None);
        assert_eq!(value(&found[1].api_key), Some(api_key));
        assert_eq!(found[1].key_id, None);
    }
}
