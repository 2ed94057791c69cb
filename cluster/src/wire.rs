//! The gossip datagram format: an envelope around foca's packets, and foca's codec.
//!
//! ```text
//! +-------+-------+---------------------------+------------------------------+
//! | 0x53  | flags | foca packet (postcard)     | HMAC-SHA256(key, all before) |
//! | magic | 0 / 1 | at most MAX_FOCA_PACKET    | 32 bytes, only when flags = 1 |
//! +-------+-------+---------------------------+------------------------------+
//! ```
//!
//! With a cluster secret every packet is sealed with a tag over magic, flags and payload, and
//! [`Envelope::open`] verifies it in constant time (`Mac::verify_slice`) before foca sees a
//! byte; a node without the secret sends untagged packets, which a node with it drops (and the
//! other way round), so the two never form one cluster. There is no replay protection or
//! encryption: the tag stops forged and foreign packets, not an attacker who can record and
//! resend ours.
//!
//! A node that drops a packet as unauthenticated answers its sender with a *refusal*: the three
//! bytes `0x53 0x02 0x01` (magic, refusal flag, reason "not authenticated with my secret"), at
//! most a few per second. It is unauthenticated itself (the two nodes share no key), so it is
//! only ever used to tell the operator why a join does not succeed, never to change state; it
//! is smaller than any packet it answers, so it cannot amplify a spoofed flood; and a refusal is
//! never answered.
//!
//! [`WireCodec`] is foca's postcard codec, plus one rule: a seed placeholder identity (see
//! `identity.rs`) may only appear as a header's destination, never as a sender or a member.

use bytes::{BufMut, Bytes, BytesMut};
use foca::{Codec, Header, Member, PostcardCodec};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::MAX_DATAGRAM;
use crate::identity::NodeIdentity;

/// First byte of every gossip datagram.
pub const MAGIC: u8 = 0x53;
const FLAG_PLAIN: u8 = 0;
const FLAG_AUTHENTICATED: u8 = 1;
const FLAG_REFUSAL: u8 = 2;
const REFUSED_UNAUTHENTICATED: u8 = 1;
/// The refusal a node sends back for a packet it dropped as unauthenticated.
pub const REFUSAL: [u8; 3] = [MAGIC, FLAG_REFUSAL, REFUSED_UNAUTHENTICATED];
const ENVELOPE_LEN: usize = 2;
/// Length of the HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;
/// foca's `max_packet_size`: the datagram limit less envelope and tag (the tag is reserved even
/// without a secret, so every node agrees on one limit).
pub const MAX_FOCA_PACKET: usize = MAX_DATAGRAM - ENVELOPE_LEN - TAG_LEN;

/// Why an incoming datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Larger than [`MAX_DATAGRAM`].
    Oversized,
    /// Not our envelope, or foca could not decode it.
    Malformed,
    /// Missing or wrong HMAC tag, or a tag where no secret is configured.
    Unauthenticated,
    /// Well-formed but refused by foca (from ourselves, misrouted indirect probe...).
    Rejected,
}

/// Seals outgoing packets and opens incoming ones.
#[derive(Clone)]
pub struct Envelope {
    /// The keyed MAC, cloned per packet (the key schedule is computed once).
    mac: Option<Hmac<Sha256>>,
}

impl Envelope {
    /// An envelope that authenticates with `secret`, or sends plain packets without one.
    pub fn new(secret: Option<&[u8]>) -> Self {
        let mac = secret.and_then(|key| Hmac::<Sha256>::new_from_slice(key).ok());
        Self { mac }
    }

    /// Wraps a foca packet into a datagram.
    pub fn seal(&self, payload: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(ENVELOPE_LEN + payload.len() + TAG_LEN);
        out.put_u8(MAGIC);
        match &self.mac {
            None => {
                out.put_u8(FLAG_PLAIN);
                out.put_slice(payload);
            }
            Some(mac) => {
                out.put_u8(FLAG_AUTHENTICATED);
                out.put_slice(payload);
                let mut mac = mac.clone();
                mac.update(&out);
                out.put_slice(&mac.finalize().into_bytes());
            }
        }
        out.freeze()
    }

    /// Whether `datagram` is a peer's refusal of one of our packets (see the module doc).
    pub fn is_refusal(datagram: &[u8]) -> bool {
        datagram.len() == REFUSAL.len() && datagram[..2] == REFUSAL[..2]
    }

    /// The foca packet inside `datagram`, if it is ours and authentic.
    pub fn open<'a>(&self, datagram: &'a [u8]) -> Result<&'a [u8], DropReason> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(DropReason::Oversized);
        }
        let (&magic, rest) = datagram.split_first().ok_or(DropReason::Malformed)?;
        let (&flags, payload) = rest.split_first().ok_or(DropReason::Malformed)?;
        if magic != MAGIC {
            return Err(DropReason::Malformed);
        }
        match (flags, &self.mac) {
            (FLAG_PLAIN, None) => Ok(payload),
            (FLAG_AUTHENTICATED, Some(mac)) => {
                let body_len = datagram
                    .len()
                    .checked_sub(TAG_LEN)
                    .filter(|&len| len >= ENVELOPE_LEN)
                    .ok_or(DropReason::Unauthenticated)?;
                let (body, tag) = datagram.split_at(body_len);
                let mut mac = mac.clone();
                mac.update(body);
                mac.verify_slice(tag)
                    .map_err(|_| DropReason::Unauthenticated)?;
                Ok(&body[ENVELOPE_LEN..])
            }
            (FLAG_PLAIN | FLAG_AUTHENTICATED, _) => Err(DropReason::Unauthenticated),
            _ => Err(DropReason::Malformed),
        }
    }
}

/// A packet foca could not decode.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// postcard failed.
    #[error("undecodable gossip packet: {0}")]
    Postcard(#[from] postcard::Error),
    /// A seed placeholder where a real node must be.
    #[error("seed placeholder identity outside an announce destination")]
    Placeholder,
}

/// foca's codec: postcard, refusing seed placeholders as senders or members.
#[derive(Clone, Copy, Debug, Default)]
pub struct WireCodec;

impl Codec<NodeIdentity> for WireCodec {
    type Error = WireError;

    fn encode_header(
        &mut self,
        header: &Header<NodeIdentity>,
        buf: impl bytes::BufMut,
    ) -> Result<(), Self::Error> {
        Ok(PostcardCodec.encode_header(header, buf)?)
    }

    fn decode_header(&mut self, buf: impl bytes::Buf) -> Result<Header<NodeIdentity>, Self::Error> {
        let header: Header<NodeIdentity> = PostcardCodec.decode_header(buf)?;
        if header.src.is_seed_placeholder() {
            return Err(WireError::Placeholder);
        }
        Ok(header)
    }

    fn encode_member(
        &mut self,
        member: &Member<NodeIdentity>,
        buf: impl bytes::BufMut,
    ) -> Result<(), Self::Error> {
        Ok(PostcardCodec.encode_member(member, buf)?)
    }

    fn decode_member(&mut self, buf: impl bytes::Buf) -> Result<Member<NodeIdentity>, Self::Error> {
        let member: Member<NodeIdentity> = PostcardCodec.decode_member(buf)?;
        if member.id().is_seed_placeholder() {
            return Err(WireError::Placeholder);
        }
        Ok(member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sealed_packets_open_with_the_same_secret_only() {
        let a = Envelope::new(Some(b"secret"));
        let b = Envelope::new(Some(b"other"));
        let plain = Envelope::new(None);
        let sealed = a.seal(b"hello");
        assert_eq!(sealed.len(), 2 + 5 + TAG_LEN);
        assert_eq!(a.open(&sealed), Ok(&b"hello"[..]));
        assert_eq!(b.open(&sealed), Err(DropReason::Unauthenticated));
        assert_eq!(plain.open(&sealed), Err(DropReason::Unauthenticated));
        let unsealed = plain.seal(b"hello");
        assert_eq!(plain.open(&unsealed), Ok(&b"hello"[..]));
        assert_eq!(a.open(&unsealed), Err(DropReason::Unauthenticated));
    }

    #[test]
    fn tampered_truncated_and_foreign_packets_are_refused() {
        let a = Envelope::new(Some(b"secret"));
        let mut sealed = a.seal(b"hello").to_vec();
        sealed[3] ^= 1;
        assert_eq!(a.open(&sealed), Err(DropReason::Unauthenticated));
        assert_eq!(
            a.open(&[MAGIC, FLAG_AUTHENTICATED, 1, 2]),
            Err(DropReason::Unauthenticated)
        );
        assert_eq!(a.open(&[]), Err(DropReason::Malformed));
        assert_eq!(a.open(&[MAGIC]), Err(DropReason::Malformed));
        assert_eq!(a.open(b"*1\r\n$4\r\nPING\r\n"), Err(DropReason::Malformed));
        assert_eq!(a.open(&[MAGIC, 7, 0]), Err(DropReason::Malformed));
        assert_eq!(a.open(&REFUSAL), Err(DropReason::Malformed));
        assert!(Envelope::is_refusal(&REFUSAL));
        assert!(!Envelope::is_refusal(&a.seal(b"x")));
        assert_eq!(
            a.open(&vec![MAGIC; MAX_DATAGRAM + 1]),
            Err(DropReason::Oversized)
        );
    }

    proptest! {
        #[test]
        fn opening_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
            let _ = Envelope::new(Some(b"k")).open(&bytes);
            let _ = Envelope::new(None).open(&bytes);
        }
    }
}
