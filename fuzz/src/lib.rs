//! The fuzz targets' bodies, one function per target. `tests/fuzz_regressions.rs` of the
//! main crate includes `targets.rs` too and replays every input kept under
//! `fuzz/regressions/TARGET/`, so a crash found once stays fixed in the normal test suite.
pub mod targets;
