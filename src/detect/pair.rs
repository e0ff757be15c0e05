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
