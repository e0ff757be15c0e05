//! The structure between two credential parts, for pairing: parts of one credential sit on
//! the same side of a unified diff, in one JSON/Python/Ruby object, one INI section, one
//! assignment block (no blank line between) and, for a record format such as CSV, on one
//! line. [`Boundaries::between`] counts what separates two parts; pairing prefers fewer
//! boundaries over a shorter distance.

use memchr::memmem;

/// What separates two parts, most decisive first (compared in field order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Boundaries {
    /// One part on a `-` line and the other on a `+` line of a unified diff.
    pub diff_sides: bool,
    /// Object closes (`}` or `]` below the first part's level) and INI section headers.
    pub records: u16,
    /// Blank lines (the end of an assignment block).
    pub blocks: u16,
    /// The parts are on different lines.
    pub lines: bool,
}

/// Per-blob facts the boundary count needs, computed once.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    /// The blob holds a unified-diff hunk header.
    diff: bool,
}

impl Layout {
    pub fn of(data: &[u8]) -> Layout {
        Layout {
            diff: data.starts_with(b"@@ -") || memmem::find(data, b"\n@@ -").is_some(),
        }
    }
}

/// The first byte of the line `at` sits on (looked for at most 64 KB back).
fn line_marker(data: &[u8], at: usize) -> u8 {
    let from = at.saturating_sub(64 * 1024);
    match memchr::memrchr(b'\n', &data[from..at.min(data.len())]) {
        Some(p) => data.get(from + p + 1).copied().unwrap_or(b'\n'),
        None if from == 0 => data.first().copied().unwrap_or(b'\n'),
        None => b'\n',
    }
}

impl Boundaries {
    /// What lies between the parts at `a` and `b` (byte ranges, either order).
    pub fn between(data: &[u8], layout: Layout, a: (usize, usize), b: (usize, usize)) -> Self {
        let (first, second) = if a.0 <= b.0 { (a, b) } else { (b, a) };
        let mut out = Boundaries::default();
        if layout.diff {
            let sides = (line_marker(data, first.0), line_marker(data, second.0));
            out.diff_sides = matches!(sides, (b'-', b'+') | (b'+', b'-'));
        }
        let gap = data.get(first.1.min(second.0)..second.0).unwrap_or(&[]);
        let (mut depth, mut lowest) = (0i32, 0i32);
        for &c in gap {
            match c {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    lowest = lowest.min(depth);
                }
                _ => {}
            }
        }
        // Whole lines between the parts (the first and last pieces are the parts' own lines).
        let mut lines = gap.split(|&c| c == b'\n').skip(1).peekable();
        while let Some(line) = lines.next() {
            out.lines = true;
            if lines.peek().is_none() {
                break;
            }
            let line = match line.first() {
                Some(b'+' | b'-' | b' ') if layout.diff => &line[1..],
                _ => line,
            };
            let line = line.trim_ascii();
            if line.is_empty() {
                out.blocks = out.blocks.saturating_add(1);
            } else if line.starts_with(b"[") && line.ends_with(b"]") {
                // `[section]`: an INI / TOML section header.
                out.records = out.records.saturating_add(1);
            }
        }
        out.records = out
            .records
            .saturating_add(u16::try_from(-lowest).unwrap_or(u16::MAX));
        out
    }
}
