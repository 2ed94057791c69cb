//! Key → slot mapping, exactly as Redis Cluster computes it.
//!
//! A key's slot is `CRC16-XMODEM(k) mod 16384`, where `k` is the key itself or, when the key
//! contains a non-empty `{hashtag}`, the bytes between the first `{` and the first `}` after
//! it. Cluster clients compute the same function, which is what lets them route by slot.
//!
//! Every routed, replicated or tracked key goes through here, so it is made cheap: the braces
//! are found with `memchr`, and the CRC takes eight bytes per step (slice-by-8 tables built at
//! compile time) instead of one.

/// Number of hash slots, as in Redis Cluster.
pub const SLOTS: u16 = 16384;

/// A slot number in `0..SLOTS`.
pub type Slot = u16;

/// The slot of `key`, honouring `{hashtag}`s as Redis Cluster does.
pub fn key_slot(key: &[u8]) -> Slot {
    crc16_xmodem(hash_tag(key)) % SLOTS
}

/// The part of `key` that is hashed: the content of the first non-empty `{...}`, else the key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = memchr::memchr(b'{', key) else {
        return key;
    };
    let inside = &key[open + 1..];
    match memchr::memchr(b'}', inside) {
        Some(0) | None => key,
        Some(len) => &inside[..len],
    }
}

/// A set of slots: one bit per slot (2 KiB).
#[derive(Clone, PartialEq, Eq)]
pub struct SlotSet(Box<[u64]>);

impl Default for SlotSet {
    fn default() -> Self {
        SlotSet::new()
    }
}

impl std::fmt::Debug for SlotSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotSet({} slots)", self.len())
    }
}

impl SlotSet {
    /// The empty set.
    pub fn new() -> SlotSet {
        SlotSet(vec![0; usize::from(SLOTS) / 64].into_boxed_slice())
    }

    /// The slots for which `wanted` says yes.
    pub fn from_fn(wanted: impl Fn(Slot) -> bool) -> SlotSet {
        let mut set = SlotSet::new();
        for slot in (0..SLOTS).filter(|&s| wanted(s)) {
            set.insert(slot);
        }
        set
    }

    /// Adds `slot`.
    pub fn insert(&mut self, slot: Slot) {
        let slot = slot % SLOTS;
        self.0[usize::from(slot / 64)] |= 1 << (slot % 64);
    }

    /// Whether `slot` is in the set.
    pub fn contains(&self, slot: Slot) -> bool {
        let slot = slot % SLOTS;
        self.0[usize::from(slot / 64)] & (1 << (slot % 64)) != 0
    }

    /// Adds every slot of `other`.
    pub fn union(&mut self, other: &SlotSet) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// How many slots it holds.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Removes every slot of `other`.
    pub fn remove_all(&mut self, other: &SlotSet) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a &= !b;
        }
    }

    /// The smallest slot of the set that is `from` or above, if any.
    pub fn next_from(&self, from: Slot) -> Option<Slot> {
        let from = usize::from(from);
        let mut word = from / 64;
        let mut bits = *self.0.get(word)? & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return Some((word * 64 + bits.trailing_zeros() as usize) as Slot);
            }
            word += 1;
            bits = *self.0.get(word)?;
        }
    }

    /// The slots of the set, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = Slot> + '_ {
        (0..SLOTS).filter(|&slot| self.contains(slot))
    }

    /// The set as [`SlotSet::BYTES`] bytes (slot 0 is the lowest bit of the first byte).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Reads [`SlotSet::to_bytes`]'s form (`None` when it is not [`SlotSet::BYTES`] long).
    pub fn from_bytes(bytes: &[u8]) -> Option<SlotSet> {
        if bytes.len() != Self::BYTES {
            return None;
        }
        let words = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        Some(SlotSet(words))
    }

    /// The length of the byte form.
    pub const BYTES: usize = SLOTS as usize / 8;
}

/// CRC16 with the XMODEM parameters (polynomial 0x1021, initial value 0, no reflection).
pub fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        // The register's two bytes fold into the first two; each byte then weighs as the
        // CRC of itself followed by the bytes after it in the chunk (`TABLES[k]`: followed
        // by k zero bytes).
        let [hi, lo] = crc.to_be_bytes();
        crc = TABLES[7][usize::from(chunk[0] ^ hi)]
            ^ TABLES[6][usize::from(chunk[1] ^ lo)]
            ^ TABLES[5][usize::from(chunk[2])]
            ^ TABLES[4][usize::from(chunk[3])]
            ^ TABLES[3][usize::from(chunk[4])]
            ^ TABLES[2][usize::from(chunk[5])]
            ^ TABLES[1][usize::from(chunk[6])]
            ^ TABLES[0][usize::from(chunk[7])];
    }
    chunks.remainder().iter().fold(crc, |crc, &byte| {
        (crc << 8) ^ TABLES[0][usize::from((crc >> 8) as u8 ^ byte)]
    })
}

/// `TABLES[k][b]`: the CRC16-XMODEM register after byte `b` then `k` zero bytes, from 0.
/// `TABLES[0]` is the usual byte-at-a-time table. Computed at compile time (4 KiB).
static TABLES: [[u16; 256]; 8] = build_tables();

const fn build_tables() -> [[u16; 256]; 8] {
    let mut tables = [[0u16; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            // One more zero byte after what `tables[k - 1][i]` fed.
            let prev = tables[k - 1][i];
            tables[k][i] = (prev << 8) ^ tables[0][(prev >> 8) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_sets_hold_and_merge_slots() {
        let mut set = SlotSet::new();
        assert!(set.is_empty());
        for slot in [0, 63, 64, 16383] {
            set.insert(slot);
        }
        assert_eq!(set.len(), 4);
        assert!(set.contains(63) && !set.contains(62));
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 63, 64, 16383]);
        assert_eq!(set.next_from(0), Some(0));
        assert_eq!(set.next_from(1), Some(63));
        assert_eq!(set.next_from(64), Some(64));
        assert_eq!(set.next_from(65), Some(16383));
        assert_eq!(set.next_from(16383), Some(16383));
        assert_eq!(SlotSet::new().next_from(0), None);
        assert_eq!(SlotSet::from_fn(|s| s == 5).next_from(6), None);
        let mut evens = SlotSet::from_fn(|s| s % 2 == 0);
        assert_eq!(evens.len(), 8192);
        evens.union(&set);
        assert_eq!(evens.len(), 8194);
        assert!(evens.contains(63) && evens.contains(16383) && !evens.contains(1));
        let bytes = evens.to_bytes();
        assert_eq!(bytes.len(), SlotSet::BYTES);
        assert_eq!(SlotSet::from_bytes(&bytes), Some(evens.clone()));
        assert_eq!(SlotSet::from_bytes(&bytes[1..]), None);
        evens.remove_all(&set);
        assert_eq!(evens.len(), 8190);
        assert!(!evens.contains(0) && evens.contains(2));
    }

    #[test]
    fn crc16_matches_the_xmodem_check_value() {
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
    }

    /// The textbook byte-at-a-time CRC, bit by bit: what the tables must agree with.
    fn crc16_by_bits(data: &[u8]) -> u16 {
        let mut crc = 0u16;
        for &byte in data {
            crc ^= u16::from(byte) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    /// Redis's own `keyHashSlot`, by positions, for comparison.
    fn slot_by_positions(key: &[u8]) -> Slot {
        let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
            let len = key[open + 1..].iter().position(|&b| b == b'}')?;
            (len > 0).then(|| &key[open + 1..open + 1 + len])
        });
        crc16_by_bits(tagged.unwrap_or(key)) % SLOTS
    }

    proptest::proptest! {
        #[test]
        fn the_fast_crc_equals_the_bitwise_one(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100)) {
            proptest::prop_assert_eq!(crc16_xmodem(&data), crc16_by_bits(&data));
        }

        #[test]
        fn slots_equal_redis_computation(
            head in "[a-z{}]{0,12}",
            tag in "[a-z{}]{0,6}",
            tail in "[a-z{}]{0,12}",
        ) {
            let key = format!("{head}{{{tag}}}{tail}");
            proptest::prop_assert_eq!(key_slot(key.as_bytes()), slot_by_positions(key.as_bytes()));
            proptest::prop_assert_eq!(key_slot(head.as_bytes()), slot_by_positions(head.as_bytes()));
        }
    }

    #[test]
    fn slots_match_redis_cluster() {
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn hash_tags_follow_redis_rules() {
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"{"), b"{");
    }
}
