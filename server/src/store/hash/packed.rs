//! The packed form: `[pair count] ([field length] field [value length] value)...`, the count
//! two bytes (little-endian), every length one byte: fields and values are at most
//! [`super::MAX_PACKED_LEN`] bytes, and there are at most [`super::MAX_PACKED_FIELDS`] + 1 pairs (for the
//! moment before conversion). An empty hash is an empty buffer. Every change leaves the
//! buffer at its exact size, as a listpack is reallocated on every change.

/// Number of pairs.
pub(super) fn len(bytes: &[u8]) -> usize {
    match bytes {
        [low, high, ..] => usize::from(u16::from_le_bytes([*low, *high])),
        _ => 0,
    }
}

/// Bytes before the first pair: the pair count.
const HEADER: usize = 2;

fn set_len(bytes: &mut [u8], len: usize) {
    debug_assert!(len <= super::MAX_PACKED_FIELDS + 1);
    bytes[..HEADER].copy_from_slice(&(len as u16).to_le_bytes());
}

/// The length-prefixed item at `pos` and the position after it.
fn item(bytes: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let len = usize::from(*bytes.get(pos)?);
    let end = pos + 1 + len;
    Some((bytes.get(pos + 1..end)?, end))
}

/// The pairs of a packed buffer, in order.
pub(super) struct Iter<'a> {
    bytes: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (field, pos) = item(self.bytes, self.pos)?;
        let (value, pos) = item(self.bytes, pos)?;
        self.pos = pos;
        self.left -= 1;
        Some((field, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

pub(super) fn iter(bytes: &[u8]) -> Iter<'_> {
    Iter {
        bytes,
        pos: HEADER,
        left: len(bytes),
    }
}

/// Where a pair sits: its first byte, its value's length byte, and the byte after it.
struct Slot {
    start: usize,
    value_at: usize,
    end: usize,
}

fn find(bytes: &[u8], field: &[u8]) -> Option<Slot> {
    let mut pos = HEADER;
    for _ in 0..len(bytes) {
        let (candidate, value_at) = item(bytes, pos)?;
        let (_, end) = item(bytes, value_at)?;
        if candidate == field {
            return Some(Slot {
                start: pos,
                value_at,
                end,
            });
        }
        pos = end;
    }
    None
}

/// The value of `field`.
pub(super) fn get<'a>(bytes: &'a [u8], field: &[u8]) -> Option<&'a [u8]> {
    let slot = find(bytes, field)?;
    bytes.get(slot.value_at + 1..slot.end)
}

fn push_item(out: &mut Vec<u8>, item: &[u8]) {
    debug_assert!(item.len() <= super::MAX_PACKED_LEN);
    out.push(item.len() as u8);
    out.extend_from_slice(item);
}

/// Sets `field` to `value` (both at most `MAX_PACKED_LEN` bytes), in place when the
/// field exists, else at the end. Returns whether the field is new.
pub(super) fn set(bytes: &mut Box<[u8]>, field: &[u8], value: &[u8]) -> bool {
    if let Some(slot) = find(bytes, field) {
        let old_len = slot.end - slot.value_at - 1;
        if old_len == value.len() {
            bytes[slot.value_at + 1..slot.end].copy_from_slice(value);
            return false;
        }
        let mut out = Vec::with_capacity(bytes.len() - old_len + value.len());
        out.extend_from_slice(&bytes[..slot.value_at]);
        push_item(&mut out, value);
        out.extend_from_slice(&bytes[slot.end..]);
        *bytes = out.into_boxed_slice();
        return false;
    }
    let header = if bytes.is_empty() { HEADER } else { 0 };
    let count = len(bytes) + 1;
    let mut out = std::mem::take(bytes).into_vec();
    out.reserve_exact(header + 2 + field.len() + value.len());
    out.resize(out.len() + header, 0);
    set_len(&mut out, count);
    push_item(&mut out, field);
    push_item(&mut out, value);
    *bytes = out.into_boxed_slice();
    true
}

/// Removes `field`; returns whether it was present.
pub(super) fn remove(bytes: &mut Box<[u8]>, field: &[u8]) -> bool {
    let Some(slot) = find(bytes, field) else {
        return false;
    };
    if len(bytes) == 1 {
        *bytes = Box::default();
        return true;
    }
    let mut out = Vec::with_capacity(bytes.len() - (slot.end - slot.start));
    out.extend_from_slice(&bytes[..slot.start]);
    out.extend_from_slice(&bytes[slot.end..]);
    set_len(&mut out, len(bytes) - 1);
    *bytes = out.into_boxed_slice();
    true
}
