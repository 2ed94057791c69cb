//! Authentication of peer links: a challenge–response over the cluster secret.
//!
//! A node that opens a TCP link to a peer (to forward requests) proves it knows the cluster
//! secret without sending it: the peer hands out a fresh random nonce, the node answers
//! `HMAC-SHA256(secret, DOMAIN || nonce)` in hex, and the peer checks it in constant time. A
//! nonce is used once (the peer forgets it after the check), so a recorded answer is worthless.
//! Without a secret the key is empty: the handshake still runs, so a plain client cannot use
//! the internal commands by accident, but it is no protection (as gossip without a secret).
//!
//! This module only does the arithmetic; the commands that carry it are the server's.

use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;

/// Separates these tags from the gossip tags made with the same secret.
const DOMAIN: &[u8] = b"shoal-peer-link-v1:";

/// Length of a nonce in hex characters.
pub const NONCE_LEN: usize = 32;

/// A fresh random nonce, as hex.
pub fn nonce() -> String {
    let mut rng = rand::rng();
    (0..NONCE_LEN)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// The MAC over `nonce` (`None` never happens: HMAC takes keys of any length).
fn mac(secret: Option<&str>, nonce: &[u8]) -> Option<Hmac<Sha256>> {
    let key = secret.unwrap_or("").as_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(DOMAIN);
    mac.update(nonce);
    Some(mac)
}

/// The answer to `nonce` under `secret`, as hex.
pub fn proof(secret: Option<&str>, nonce: &[u8]) -> String {
    let Some(mac) = mac(secret, nonce) else {
        return String::new();
    };
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `answer` (hex) is the proof of `nonce` under `secret`, checked in constant time.
pub fn verify(secret: Option<&str>, nonce: &[u8], answer: &[u8]) -> bool {
    let Some(tag) = from_hex(answer) else {
        return false;
    };
    mac(secret, nonce).is_some_and(|mac| mac.verify_slice(&tag).is_ok())
}

fn from_hex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    text.chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_verifies_only_with_the_same_secret_and_nonce() {
        let n = nonce();
        assert_eq!(n.len(), NONCE_LEN);
        let answer = proof(Some("s3cret"), n.as_bytes());
        assert!(verify(Some("s3cret"), n.as_bytes(), answer.as_bytes()));
        assert!(!verify(Some("other"), n.as_bytes(), answer.as_bytes()));
        assert!(!verify(None, n.as_bytes(), answer.as_bytes()));
        assert!(!verify(Some("s3cret"), b"another nonce", answer.as_bytes()));
        assert!(!verify(Some("s3cret"), n.as_bytes(), b"zz"));
        let open = proof(None, n.as_bytes());
        assert!(verify(None, n.as_bytes(), open.as_bytes()));
    }
}
