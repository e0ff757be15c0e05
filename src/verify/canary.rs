//! Known canary-token AWS accounts: keys planted as tripwires. Any use of such a key (even a
//! harmless STS call) alerts whoever planted it, so keysweep flags them and never verifies
//! them live. List: trufflehog `pkg/detectors/aws/access_keys/canary.go` (see aws-facts.md §5).

/// Thinkst canarytokens.org accounts, then accounts of look-alike canary services; sorted.
const CANARY_ACCOUNTS: &[&str] = &[
    "044858866125",
    "052310077262",
    "171436882533",
    "251535659677",
    "266735846894",
    "344043088457",
    "351906852752",
    "390477818340",
    "426127672474",
    "427150556519",
    "439872796651",
    "445142720921",
    "465867158099",
    "534261010715",
    "595918472158",
    "637958123769",
    "693412236332",
    "717712589309",
    "730335385048",
    "732624840810",
    "735421457923",
    "819147034852",
    "893192397702",
    "959235150393",
    "982842642351",
    "992382622183",
];

/// Whether `account_id` (12 digits) belongs to a known canary-token service.
pub fn is_canary_account(account_id: &str) -> bool {
    CANARY_ACCOUNTS.binary_search(&account_id).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_complete() {
        assert!(CANARY_ACCOUNTS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(CANARY_ACCOUNTS.len(), 26);
        assert!(CANARY_ACCOUNTS.iter().all(|a| a.len() == 12));
    }

    #[test]
    fn known_and_unknown_accounts() {
        assert!(is_canary_account("171436882533"));
        assert!(is_canary_account("052310077262"));
        assert!(is_canary_account("982842642351"));
        assert!(!is_canary_account("123456789012"));
        assert!(!is_canary_account(""));
    }
}
