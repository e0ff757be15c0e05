//! Offline account-ID decoding: the AWS account that owns an access key, read from the key ID
//! itself (no network). Newer key IDs carry the account in their first 48 bits; older ones
//! (5th character `I` or `J`) do not, and are left undecoded rather than guessed.

use thiserror::Error;

/// Why a key ID yields no account.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountIdError {
    /// Not a 4-letter prefix followed by 16 base32 characters.
    #[error("not an access key ID (4-letter prefix + 16 characters of A-Z, 2-7)")]
    NotAKeyId,
    /// An older key ID (5th character `I` or `J`) that does not encode its account.
    #[error("older key ID format (5th character I or J): the account is not encoded in it")]
    LegacyFormat,
}

/// Value of one RFC 4648 base32 character (`A`-`Z` = 0-25, `2`-`7` = 26-31).
fn base32_value(c: u8) -> Option<u64> {
    match c {
        b'A'..=b'Z' => Some(u64::from(c - b'A')),
        b'2'..=b'7' => Some(u64::from(c - b'2') + 26),
        _ => None,
    }
}

/// The 12-digit account ID encoded in `key_id` (e.g. `AKIA…`, `ASIA…`).
///
/// The 16 characters after the prefix are base32 (80 bits); the account is bits 1..40 of the
/// first 48 (`(z & 0x7fff_ffff_ff80) >> 7`).
pub fn account_id(key_id: &str) -> Result<String, AccountIdError> {
    let bytes = key_id.as_bytes();
    if bytes.len() != 20 || !bytes[..4].iter().all(u8::is_ascii_uppercase) {
        return Err(AccountIdError::NotAKeyId);
    }
    let mut body: u128 = 0;
    for &c in &bytes[4..] {
        body = (body << 5) | u128::from(base32_value(c).ok_or(AccountIdError::NotAKeyId)?);
    }
    if matches!(bytes[4], b'I' | b'J') {
        return Err(AccountIdError::LegacyFormat);
    }
    // 80 bits in all; the first 48 are the top of `body`.
    let z = (body >> 32) as u64;
    let account = (z & 0x7fff_ffff_ff80) >> 7;
    Ok(format!("{account:012}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_facts_vectors() {
        for (key, account) in [
            ("AKIARZPUZDIKCUASGRLH", "123456789012"),
            ("ASIATCH6YDSY5LPK3PXP", "210987654321"),
            ("AKIA6RVFFB77QAAAAAAA", "999999999999"),
            ("AKIAQ3EGUFABCDEFGHIJ", "058264397826"),
            // Public cross-checks (psanford README, localstack, a Thinkst canary account).
            ("ASIAVJ2E6QGR2WZILJFM", "364679954851"),
            ("ASIAQAAAAAAAGMKEM7X5", "000000000000"),
            ("AKIASP2TPHJSQH3FJXYZ", "171436882533"),
        ] {
            assert_eq!(account_id(key).as_deref(), Ok(account), "{key}");
        }
    }

    #[test]
    fn legacy_keys_are_not_decoded() {
        assert_eq!(
            account_id("AKIAIOSFODNN7EXAMPLE"),
            Err(AccountIdError::LegacyFormat)
        );
        assert_eq!(
            account_id("AKIAJ3EGUFABCDEFGHIJ"),
            Err(AccountIdError::LegacyFormat)
        );
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "",
            "AKIA",
            "AKIARZPUZDIKCUASGRL",   // 19 chars
            "AKIARZPUZDIKCUASGRLHX", // 21 chars
            "AKIARZPUZDIKCUASGRL1",  // '1' is not base32
            "akiaRZPUZDIKCUASGRLH",
            "AKIArzpuzdikcuasgrlh",
            "AKIARZPUZDIKCUASGRLÉ",
        ] {
            assert_eq!(account_id(bad), Err(AccountIdError::NotAKeyId), "{bad:?}");
        }
    }
}
