//! Who a node is: its node id, its announced addresses and its generation.
//!
//! [`NodeIdentity`] is foca's `Identity`: it travels in the header of every gossip packet (about
//! 45 bytes with postcard), so it holds only what peers need to reach us:
//!
//! - [`NodeId`]: 20 random bytes, shown as 40 lowercase hex characters like a Redis node id. It
//!   is drawn anew on every start (unless configured), and the ring derives the node's tokens
//!   from it.
//! - the announced client address (what `CLUSTER SLOTS` and `-MOVED` tell clients) and the
//!   announced bus address (where peers send gossip; foca's `Addr`, unique per node).
//! - a generation: the start time in unix microseconds, bumped by one on every `renew`. A node
//!   that restarts on the same bus address comes back with a higher generation and wins the
//!   address conflict, so peers replace the old incarnation (`Rename`) instead of rejecting it.
//!   A node that was declared down while alive renews itself (same id, generation + 1) and
//!   rejoins at once, keeping its tokens.
//!
//! - a [`Phase`]: whether the node serves its slots yet. A node starts *warming* (it receives
//!   the data of the slots it will own before it owns them), then *serves*, and *leaves*
//!   gracefully by handing its slots over first. Changing phase is a renewal too (generation
//!   + 1), so the newer identity replaces the older one everywhere.
//!
//! Seeds are known only by address, so joining announces to a *seed placeholder*: an identity
//! with the all-zero node id whose [`BusAddr`] matches any address. foca accepts an `Announce`
//! whose destination's `Addr` equals ours; the wildcard lets a seed be reached through any
//! address that routes to it (a DNS name, a service VIP, a NAT address) even when it announces
//! another. Placeholders never enter a member list: the wire codec rejects them anywhere but in
//! a header's destination (see `wire.rs`).

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Length of a node id in bytes (40 hex characters).
pub const NODE_ID_LEN: usize = 20;

/// A node id: 20 bytes shown as 40 lowercase hex characters, as Redis node ids.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId([u8; NODE_ID_LEN]);

impl NodeId {
    /// The all-zero id, reserved for seed placeholders.
    pub const ZERO: NodeId = NodeId([0; NODE_ID_LEN]);

    /// A fresh random id (never [`NodeId::ZERO`]).
    pub fn random(rng: &mut impl RngExt) -> Self {
        loop {
            let mut bytes = [0u8; NODE_ID_LEN];
            rng.fill(&mut bytes[..]);
            if bytes != [0; NODE_ID_LEN] {
                return NodeId(bytes);
            }
        }
    }

    /// Builds an id from raw bytes.
    pub const fn from_bytes(bytes: [u8; NODE_ID_LEN]) -> Self {
        NodeId(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; NODE_ID_LEN] {
        &self.0
    }

    /// Writes the 40 hex characters into `out` (no allocation; for hot paths like `-MOVED`).
    pub fn write_hex(&self, out: &mut [u8; 2 * NODE_ID_LEN]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, byte) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(byte >> 4)];
            out[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hex = [0u8; 2 * NODE_ID_LEN];
        self.write_hex(&mut hex);
        // Only ASCII hex digits were written.
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The first 8 characters are enough to tell nodes apart in logs.
        let full = self.to_string();
        f.write_str(&full[..8])
    }
}

/// A string that is not 40 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a node id is 40 hex characters")]
pub struct ParseNodeIdError;

impl FromStr for NodeId {
    type Err = ParseNodeIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.as_bytes();
        if s.len() != 2 * NODE_ID_LEN {
            return Err(ParseNodeIdError);
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(ParseNodeIdError),
        };
        let mut bytes = [0u8; NODE_ID_LEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (nibble(s[2 * i])? << 4) | nibble(s[2 * i + 1])?;
        }
        Ok(NodeId(bytes))
    }
}

/// Where a node stands in its life in the cluster; every node derives slot ownership from
/// its members' phases (see `topology.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Joined (or came back) and receiving the data of the slots it will own: it owns none
    /// yet, their current owners keep serving them.
    Warming,
    /// Owns and serves its slots.
    Serving,
    /// Handing its slots to their next owners before it goes: still serves them meanwhile.
    Leaving,
}

impl Phase {
    /// The lowercase name (`INFO`, logs).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Warming => "warming",
            Phase::Serving => "serving",
            Phase::Leaving => "leaving",
        }
    }
}

/// Incarnation counter of a node id: unix microseconds at start, + 1 per renewal.
pub type Generation = u64;

/// The identity of one incarnation of a node, as it travels in gossip packets.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeIdentity {
    /// The node id ([`NodeId::ZERO`] only for seed placeholders).
    pub id: NodeId,
    /// Announced client (RESP) address.
    pub client: SocketAddr,
    /// Announced cluster bus (gossip) address: where peers send packets.
    pub bus: SocketAddr,
    /// Changes on every start and every renewal; the higher one wins an address conflict.
    pub generation: Generation,
    /// Whether the node serves its slots yet.
    pub phase: Phase,
}

impl NodeIdentity {
    /// A new identity whose generation is the current unix time in microseconds (nodes started
    /// together, as `--dev-cluster` does, still get different ones).
    pub fn new(id: NodeId, client: SocketAddr, bus: SocketAddr) -> Self {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        Self::with_generation(id, client, bus, micros.max(1))
    }

    /// A new identity with an explicit generation (simulations, tests), warming.
    pub const fn with_generation(
        id: NodeId,
        client: SocketAddr,
        bus: SocketAddr,
        generation: Generation,
    ) -> Self {
        Self {
            id,
            client,
            bus,
            generation,
            phase: Phase::Warming,
        }
    }

    /// The same node in `phase`, as a newer incarnation (`None` if the generation is
    /// exhausted).
    pub fn in_phase(&self, phase: Phase) -> Option<Self> {
        let generation = self.generation.checked_add(1)?;
        Some(Self {
            generation,
            phase,
            ..self.clone()
        })
    }

    /// The placeholder used to announce to a seed known only by its address.
    pub const fn seed(bus: SocketAddr) -> Self {
        Self {
            id: NodeId::ZERO,
            client: bus,
            bus,
            generation: 0,
            phase: Phase::Warming,
        }
    }

    /// Whether this is a seed placeholder rather than a real node.
    pub fn is_seed_placeholder(&self) -> bool {
        self.id == NodeId::ZERO
    }
}

impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_seed_placeholder() {
            write!(f, "seed@{}", self.bus)
        } else {
            write!(
                f,
                "{:?}@{}#{}/{}",
                self.id,
                self.bus,
                self.generation,
                self.phase.name()
            )
        }
    }
}

/// foca's `Addr` for [`NodeIdentity`]: the bus address, or a wildcard for seed placeholders.
///
/// Equality is the address's, except that a wildcard equals every address. It is only ever
/// compared against real addresses (placeholders never become members), where it is an ordinary
/// equivalence.
#[derive(Clone, Copy, Debug)]
pub struct BusAddr {
    addr: SocketAddr,
    wildcard: bool,
}

impl BusAddr {
    /// The socket address this stands for.
    pub const fn socket_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl PartialEq for BusAddr {
    fn eq(&self, other: &Self) -> bool {
        self.wildcard || other.wildcard || self.addr == other.addr
    }
}

impl foca::Identity for NodeIdentity {
    type Addr = BusAddr;

    /// Same node id and addresses, next generation, warming: used when the cluster declared
    /// us down while we were alive, so we rejoin at once with the same tokens — but our data
    /// may have fallen behind what the others wrote meanwhile, so we catch up before serving.
    fn renew(&self) -> Option<Self> {
        self.in_phase(Phase::Warming)
    }

    fn addr(&self) -> BusAddr {
        BusAddr {
            addr: self.bus,
            wildcard: self.is_seed_placeholder(),
        }
    }

    /// The newer incarnation wins; equal generations (two processes started in the same
    /// millisecond on one address) fall back to the node id so both sides agree.
    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        (self.generation, self.id) > (adversary.generation, adversary.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foca::Identity;
    use rand::{SeedableRng, rngs::StdRng};

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn node_ids_print_as_40_lowercase_hex_and_parse_back() {
        let mut rng = StdRng::seed_from_u64(0xF0CA);
        let id = NodeId::random(&mut rng);
        let text = id.to_string();
        assert_eq!(text.len(), 40);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(text.parse::<NodeId>(), Ok(id));
        assert_eq!("xyz".parse::<NodeId>(), Err(ParseNodeIdError));
        assert_eq!("g".repeat(40).parse::<NodeId>(), Err(ParseNodeIdError));
    }

    #[test]
    fn a_restarted_node_wins_its_address_back() {
        let mut rng = StdRng::seed_from_u64(1);
        let old = NodeIdentity::with_generation(NodeId::random(&mut rng), addr(1), addr(2), 10);
        let new = NodeIdentity::with_generation(NodeId::random(&mut rng), addr(1), addr(2), 11);
        assert!(new.win_addr_conflict(&old));
        assert!(!old.win_addr_conflict(&new));
        let renewed = old.renew().expect("renewable");
        assert_eq!(renewed.id, old.id);
        assert!(renewed.win_addr_conflict(&old));
    }

    #[test]
    fn seed_placeholders_match_any_address_but_real_ones_do_not() {
        let mut rng = StdRng::seed_from_u64(2);
        let real = NodeIdentity::new(NodeId::random(&mut rng), addr(1), addr(2));
        let other = NodeIdentity::new(NodeId::random(&mut rng), addr(3), addr(4));
        assert!(NodeIdentity::seed(addr(9)).addr() == real.addr());
        assert!(real.addr() != other.addr());
        assert!(NodeIdentity::seed(addr(9)).is_seed_placeholder());
        assert!(!real.is_seed_placeholder());
    }

    #[test]
    fn an_identity_stays_small_on_the_wire() {
        let mut rng = StdRng::seed_from_u64(3);
        let id = NodeIdentity::new(NodeId::random(&mut rng), addr(6379), addr(16379));
        let bytes = postcard::to_allocvec(&id).expect("serializable");
        assert!(bytes.len() <= 48, "identity takes {} bytes", bytes.len());
    }
}
