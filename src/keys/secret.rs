//! The secret part of an API key: how a key is made, and the one form in
//! which memorid keeps it (its SHA-256).
//!
//! Keys are 32 random bytes from the OS generator, so a plain SHA-256 is
//! enough to keep them (no salt or slow hash is needed against guessing a
//! 256-bit secret). Lookups go by hash, so no comparison of secrets is ever
//! made byte by byte.

use base64::Engine;
use sha2::{Digest, Sha256};

/// What every generated key starts with, so a leaked one is recognizable
/// (and secret scanners can be taught the pattern).
pub const PREFIX: &str = "mk_";

/// The SHA-256 of a key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyHash({})", &self.hex()[..12])
    }
}

impl KeyHash {
    pub fn of(key: &str) -> KeyHash {
        KeyHash(Sha256::digest(key.as_bytes()).into())
    }

    /// Lowercase hex, as stored and configured.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Parses 64 hex digits (either case).
pub fn parse_sha256(hex: &str) -> Option<KeyHash> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(KeyHash(out))
}

/// A new key: the prefix and 32 random bytes, base64url.
pub fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_and_hash_to_their_hex() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 43);
        let hash = KeyHash::of(&a);
        assert_eq!(parse_sha256(&hash.hex()), Some(hash));
        assert_eq!(KeyHash::of(&a), hash);
        assert_ne!(KeyHash::of(&b), hash);
    }

    #[test]
    fn the_hash_is_sha256() {
        // echo -n abc | sha256sum
        assert_eq!(
            KeyHash::of("abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bad_hex_is_refused() {
        assert!(parse_sha256("abc").is_none());
        assert!(parse_sha256(&"g".repeat(64)).is_none());
        assert!(parse_sha256(&"é".repeat(32)).is_none());
    }
}
