//! SQLite databases as a source, read without SQLite: the b-tree pages of every table listed
//! in `sqlite_schema`, each row's text and blob values written out one row per line, values
//! separated by tabs. In the file a record's values sit back to back with no separator (a key
//! ID glued to the secret in the next column), so the raw bytes hide what the rows show.
//! Each table is scanned like an archive member named `table NAME`; line N is the N-th row in
//! rowid order.
//!
//! Hostile files are bounded: every page is visited at most once, overflow chains end at the
//! page count, and the text written per database is capped at [`MAX_TEXT`].

/// Text written per database at most.
pub const MAX_TEXT: usize = 256 << 20;

/// One table's rows as text.
#[derive(Debug)]
pub struct Table {
    pub name: String,
    pub text: Vec<u8>,
}

/// True when `data` starts with the SQLite 3 header.
pub fn sniff(data: &[u8]) -> bool {
    data.len() >= 100 && data.starts_with(b"SQLite format 3\0")
}

struct Db<'a> {
    data: &'a [u8],
    page_size: usize,
    usable: usize,
    pages: usize,
    visited: Vec<bool>,
    written: usize,
}

/// A SQLite varint at `data[at..]`: its value and length.
fn varint(data: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let b = *data.get(at + i)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(b), 9));
        }
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn be32(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

fn be16(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at + 2)?;
    Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

impl Db<'_> {
    fn page(&self, n: usize) -> Option<&[u8]> {
        if n == 0 || n > self.pages {
            return None;
        }
        self.data.get((n - 1) * self.page_size..n * self.page_size)
    }

    /// The payload of a cell whose payload (`len` bytes) starts at `page[at..]`, following
    /// overflow pages. `index` selects the index b-tree's local-size rule.
    fn payload(&self, page: &[u8], at: usize, len: usize, index: bool) -> Vec<u8> {
        let u = self.usable;
        let x = if index {
            (u - 12) * 64 / 255 - 23
        } else {
            u - 35
        };
        let local = if len <= x {
            len
        } else {
            let m = (u - 12) * 32 / 255 - 23;
            let k = m + (len - m) % (u - 4);
            if k <= x {
                k
            } else {
                m
            }
        };
        let end = (at + local).min(page.len());
        let mut out = page[at.min(end)..end].to_vec();
        if local < len {
            let mut next = be32(page, end).unwrap_or(0);
            let mut hops = 0;
            while next != 0 && out.len() < len && hops < self.pages {
                let Some(over) = self.page(next) else { break };
                let take = (len - out.len())
                    .min(u - 4)
                    .min(over.len().saturating_sub(4));
                out.extend_from_slice(&over[4..4 + take]);
                next = be32(over, 0).unwrap_or(0);
                hops += 1;
            }
        }
        out
    }

    /// Calls `row` with the payload of every row of the table b-tree rooted at `root`.
    fn walk(&mut self, root: usize, row: &mut dyn FnMut(&[u8])) {
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            if n == 0 || n > self.pages || self.visited[n - 1] {
                continue;
            }
            self.visited[n - 1] = true;
            let Some(page) = self.page(n) else { continue };
            let header = if n == 1 { 100 } else { 0 };
            let Some(&kind) = page.get(header) else {
                continue;
            };
            let cells = be16(page, header + 3).unwrap_or(0);
            let interior = kind == 0x05;
            if !(interior || kind == 0x0d) {
                continue;
            }
            let pointers = header + if interior { 12 } else { 8 };
            let mut children = Vec::new();
            for c in 0..cells {
                let Some(at) = be16(page, pointers + 2 * c) else {
                    break;
                };
                if interior {
                    if let Some(child) = be32(page, at) {
                        children.push(child);
                    }
                    continue;
                }
                let Some((len, l1)) = varint(page, at) else {
                    continue;
                };
                let Some((_rowid, l2)) = varint(page, at + l1) else {
                    continue;
                };
                let len = usize::try_from(len).unwrap_or(usize::MAX).min(MAX_TEXT);
                let payload = self.payload(page, at + l1 + l2, len, false);
                row(&payload);
            }
            if interior {
                if let Some(right) = be32(page, header + 8) {
                    children.push(right);
                }
                // Left to right: push in reverse so rows come in rowid order.
                stack.extend(children.into_iter().rev());
            }
        }
    }
}

/// The values of a record: text and blob values as bytes, other types as None.
fn values(record: &[u8]) -> Vec<Option<&[u8]>> {
    let mut out = Vec::new();
    let Some((header_len, l)) = varint(record, 0) else {
        return out;
    };
    let header_len = usize::try_from(header_len).unwrap_or(usize::MAX);
    let (mut h, mut body) = (l, header_len);
    while h < header_len.min(record.len()) {
        let Some((serial, l)) = varint(record, h) else {
            break;
        };
        h += l;
        let size = serial_size(serial);
        let value = record.get(body..body.saturating_add(size));
        out.push(if serial >= 12 { value } else { None });
        body = body.saturating_add(size);
    }
    out
}

/// Reads the tables of the SQLite database `data`.
pub fn read(data: &[u8]) -> Vec<Table> {
    let raw = be16(data, 16).unwrap_or(0);
    let page_size = if raw == 1 { 65536 } else { raw };
    if page_size < 512 || !page_size.is_power_of_two() {
        return Vec::new();
    }
    let reserved = usize::from(data[20]);
    let usable = page_size.saturating_sub(reserved);
    if usable < 480 {
        return Vec::new();
    }
    let pages = data.len() / page_size;
    let mut db = Db {
        data,
        page_size,
        usable,
        pages,
        visited: vec![false; pages],
        written: 0,
    };
    // sqlite_schema: type, name, tbl_name, rootpage, sql.
    let mut tables: Vec<(String, usize)> = Vec::new();
    db.walk(1, &mut |record| {
        let record_values = values(record);
        let text = |i: usize| {
            record_values
                .get(i)
                .copied()
                .flatten()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        if text(0).as_deref() != Some("table") {
            return;
        }
        // The root page is an integer: read it from the record directly.
        if let Some(root) = root_page(record) {
            tables.push((text(1).unwrap_or_default(), root));
        }
    });
    let mut out = Vec::new();
    for (name, root) in tables {
        let mut text = Vec::new();
        let limit = MAX_TEXT.saturating_sub(db.written);
        db.walk(root, &mut |record| {
            if text.len() >= limit {
                return;
            }
            for (i, value) in values(record).into_iter().enumerate() {
                if i > 0 {
                    text.push(b'\t');
                }
                if let Some(v) = value {
                    text.extend_from_slice(v);
                }
            }
            text.push(b'\n');
        });
        db.written += text.len();
        if !text.is_empty() {
            out.push(Table { name, text });
        }
    }
    out
}

/// The `rootpage` column (4th) of a `sqlite_schema` record.
fn root_page(record: &[u8]) -> Option<usize> {
    let (header_len, l) = varint(record, 0)?;
    let header_len = usize::try_from(header_len).ok()?;
    let (mut h, mut body) = (l, header_len);
    for column in 0..4 {
        let (serial, l) = varint(record, h)?;
        h += l;
        let size = serial_size(serial);
        if column == 3 {
            return match serial {
                1..=6 => {
                    let bytes = record.get(body..body.saturating_add(size))?;
                    Some(
                        bytes
                            .iter()
                            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b)),
                    )
                }
                8 => Some(0),
                9 => Some(1),
                _ => None,
            };
        }
        body = body.saturating_add(size);
    }
    None
}

/// Bytes a record value of serial type `serial` takes in the body (saturating: a hostile
/// header asking for more than memory can hold just reads past the record).
fn serial_size(serial: u64) -> usize {
    match serial {
        0 | 8 | 9 | 10 | 11 => 0,
        1..=4 => serial as usize,
        5 => 6,
        6 | 7 => 8,
        n => usize::try_from((n - 12) / 2).unwrap_or(usize::MAX),
    }
}
