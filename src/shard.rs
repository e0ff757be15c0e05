//! Splitting one scan over N jobs: `--shard K/N` keeps the inputs whose stable hash falls in
//! part K, so N jobs (a CI matrix, a Kubernetes Indexed Job) cover every input exactly once and
//! `keysweep merge` joins their reports.
//!
//! The hash is FNV-1a (64 bit) of the input's key bytes, reduced modulo N: the same on every
//! machine, platform and keysweep version, and independent of the walk order or thread count.
//! What the key is depends on the input: a file's path as reached from the scan roots, a git
//! blob's path (see [`crate::input::git`]), an S3 object's key.

use std::fmt;
use std::str::FromStr;

/// Part `index` (counted from 0, like `JOB_COMPLETION_INDEX`) of `count` parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// A `--shard` value that is not `K/N` with `0 <= K < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard {value:?}: {reason}")]
pub struct ShardError {
    value: String,
    reason: &'static str,
}

impl Shard {
    /// Part `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    /// The whole: one part of one.
    pub fn all() -> Shard {
        Shard { index: 0, count: 1 }
    }

    pub fn index(self) -> u32 {
        self.index
    }

    pub fn count(self) -> u32 {
        self.count
    }

    /// True when the input named by `key` belongs to this part.
    pub fn contains(self, key: &[u8]) -> bool {
        self.count <= 1 || part_of(key, self.count) == self.index
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::all()
    }
}

/// The part (0..count) the input named by `key` belongs to; 0 when `count` is 0 or 1.
pub fn part_of(key: &[u8], count: u32) -> u32 {
    if count <= 1 {
        return 0;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // The remainder of a division by a u32 fits in a u32.
    u32::try_from(hash % u64::from(count)).unwrap_or(0)
}

impl FromStr for Shard {
    type Err = ShardError;

    /// `K/N`: part K (from 0) of N parts, `0 <= K < N`.
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let err = |reason| ShardError {
            value: s.to_string(),
            reason,
        };
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| err("expected K/N, e.g. 0/4 (K counts from 0)"))?;
        let number = |t: &str| -> Option<u32> {
            let t = t.trim();
            // Digits only: no sign, no spaces inside, no `0x`.
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        };
        let k = number(k).ok_or_else(|| err("K must be a whole number"))?;
        let n = number(n).ok_or_else(|| err("N must be a whole number"))?;
        if n == 0 {
            return Err(err("N must be at least 1"));
        }
        Shard::new(k, n).ok_or_else(|| err("K counts from 0 and must be below N"))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n_from_zero() {
        assert_eq!("0/4".parse::<Shard>().unwrap(), Shard::new(0, 4).unwrap());
        assert_eq!("3/4".parse::<Shard>().unwrap(), Shard::new(3, 4).unwrap());
        for bad in [
            "4/4", "1/0", "-1/4", "1", "a/4", "1/b", "1/4/2", "", "/", "+1/4",
        ] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_key_lands_in_exactly_one_part() {
        for count in [1u32, 2, 3, 7, 16] {
            let shards: Vec<Shard> = (0..count).map(|k| Shard::new(k, count).unwrap()).collect();
            for i in 0..500 {
                let key = format!("dir{}/file-{i}.txt", i % 13);
                let owners = shards.iter().filter(|s| s.contains(key.as_bytes())).count();
                assert_eq!(owners, 1, "{key} in {count} parts");
            }
        }
    }

    #[test]
    fn the_hash_is_fixed() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c: the partition never depends on the build.
        assert_eq!(
            part_of(b"a", 1 << 31),
            (0xaf63_dc4c_8601_ec8c_u64 % (1 << 31)) as u32
        );
        assert_eq!(part_of(b"anything", 1), 0);
    }

    #[test]
    fn parts_are_balanced() {
        let count = 4;
        let mut sizes = [0usize; 4];
        for i in 0..4000 {
            sizes[part_of(format!("src/module{i}.rs").as_bytes(), count) as usize] += 1;
        }
        assert!(sizes.iter().all(|&n| (800..1200).contains(&n)), "{sizes:?}");
    }
}
