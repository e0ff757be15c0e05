//! A finding to build unit tests on.

use crate::finding::Origin;
use crate::finding::{Finding, KeyType, Kind, Location, Severity};

use super::window::Window;

/// A key pair (or a lone secret when `key` is `None`) in a file that does not exist here.
pub(super) fn finding(key: Option<&str>) -> Finding {
    let location = Location {
        origin: Origin::file("does/not/exist.env"),
        line: 3,
        column: 5,
    };
    Finding {
        key_id: key.map(str::to_string),
        key_type: key.and_then(KeyType::of),
        secret: Some("Zq8vN3kR/tY2pL6wXc9Hb1Mf4Ds7Jg0QeUa5IoKy".into()),
        ..Finding::new(
            "aws-access-key-pair".into(),
            Kind::AccessKeyPair,
            Severity::Critical,
            location,
            "0123456789abcdef".into(),
        )
    }
}

/// A window from 2024-05-01T12:00:00Z.
pub(super) const WINDOW: Window = Window {
    start: Some(1_714_564_800),
};
