//! Secrets compared in constant time: API tokens, the setup key, the status page's session.

use sha2::Digest as _;

/// Whether `given` equals `expected`, in time that does not depend on where they differ.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    // Hashing first makes the lengths equal, so the comparison does not leak the length.
    let a = sha2::Sha256::digest(given);
    let b = sha2::Sha256::digest(expected);
    bool::from(a.ct_eq(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"token-123", b"token-123"));
        assert!(!same_secret(b"token-124", b"token-123"));
        assert!(!same_secret(b"token-12", b"token-123"));
        assert!(!same_secret(b"", b"token-123"));
    }
}
