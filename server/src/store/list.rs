//! A list of byte strings, kept in one of two forms, as Redis 7.2 keeps lists.
//!
//! - Packed (what Redis calls `listpack`) while small: one allocation holding every element
//!   framed by its length before and after, `[len: u16 LE] bytes [len: u16 LE]`, so it can be
//!   walked from either end. Pushing at the front moves the buffer, which at this size costs
//!   less than chasing pointers, and an element costs four bytes beyond its own.
//! - Deque (`quicklist`) once large: a ring buffer of elements, one allocation each, for O(1)
//!   pushes and pops at both ends and O(1) access by index.
//!
//! The form follows Redis's rules for `list-max-listpack-size -2`: the list keeps track of
//! what its listpack would weigh in Redis (each element's encoding included). A write that
//! would take that weight plus the new bytes over 8 KB makes the list a deque first; removals
//! that bring a deque down to half that make it packed again, so a list at the boundary does
//! not convert back and forth at every push and pop.
//!
//! This module owns the representation; the commands are in `command/lists.rs`.

use crate::number::parse_int;
use std::collections::VecDeque;

/// Heaviest listpack Redis keeps before turning it into a quicklist (`list-max-listpack-size
/// -2`).
pub const MAX_PACKED_BYTES: usize = 8192;
/// A deque at or under this listpack weight becomes packed again.
const REPACK_BYTES: usize = MAX_PACKED_BYTES / 2;
/// Weight of an empty listpack: its header and end marker.
const EMPTY_LISTPACK: usize = 7;

/// One end of a list (`LEFT` is the head, index 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

/// A list of byte strings, cheap to push and pop at both ends.
#[derive(Clone, Debug)]
pub struct List {
    repr: Repr,
    /// What the elements would weigh as a Redis listpack (decides the form).
    listpack_bytes: usize,
    /// Sum of the elements' lengths.
    data_bytes: usize,
}

#[derive(Clone, Debug)]
enum Repr {
    /// See [`packed`]: the framed elements and their number.
    Packed {
        buf: Vec<u8>,
        len: usize,
    },
    Deque(VecDeque<Box<[u8]>>),
}

impl Default for List {
    fn default() -> List {
        List {
            repr: Repr::Packed {
                buf: Vec::new(),
                len: 0,
            },
            listpack_bytes: EMPTY_LISTPACK,
            data_bytes: 0,
        }
    }
}

impl PartialEq for List {
    /// Lists are equal when they hold the same elements, whatever their forms.
    fn eq(&self, other: &List) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl List {
    /// An empty list, in the packed form.
    pub fn new() -> List {
        List::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed { len, .. } => *len,
            Repr::Deque(items) => items.len(),
        }
    }

    /// Whether there is no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Packed { .. } => "listpack",
            Repr::Deque(_) => "quicklist",
        }
    }

    /// Allocations freed when this value is dropped (large ones are freed lazily).
    pub fn free_cost(&self) -> usize {
        match &self.repr {
            Repr::Packed { .. } => 1,
            // One per element, plus the ring buffer.
            Repr::Deque(items) => items.len() + 1,
        }
    }

    /// Approximate heap bytes held, this struct included (it lives in a `Box`).
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<List>()
            + match &self.repr {
                Repr::Packed { buf, .. } => buf.capacity(),
                Repr::Deque(items) => {
                    items.capacity() * std::mem::size_of::<Box<[u8]>>() + self.data_bytes
                }
            }
    }

    /// The element at `index` (0 is the head).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed { buf, len } => {
                (index < *len).then(|| packed::next(buf, packed::offset_of(buf, *len, index)).0)
            }
            Repr::Deque(items) => items.get(index).map(|item| &**item),
        }
    }

    /// Every element, head to tail (reversible).
    pub fn iter(&self) -> Iter<'_> {
        self.range(0, self.len())
    }

    /// The elements at indexes `start..stop` (clamped to the list), head to tail.
    pub fn range(&self, start: usize, stop: usize) -> Iter<'_> {
        let stop = stop.min(self.len());
        let start = start.min(stop);
        match &self.repr {
            Repr::Packed { buf, len } => Iter::Packed {
                buf,
                front: packed::offset_of(buf, *len, start),
                back: packed::offset_of(buf, *len, stop),
                left: stop - start,
            },
            Repr::Deque(items) => Iter::Deque(items.range(start..stop)),
        }
    }

    /// Adds `items` one after the other at `end` (at the left, the last one ends up first,
    /// as `LPUSH` does). Like Redis, decides the form once, before adding them.
    pub fn push<I: AsRef<[u8]>>(&mut self, end: End, items: &[I]) {
        let added = items.iter().map(|item| item.as_ref().len()).sum();
        self.make_room(added);
        for item in items {
            self.push_one(end, item.as_ref());
        }
    }

    /// Removes and returns the element at `end`.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let item = match &mut self.repr {
            Repr::Packed { buf, len } => {
                if *len == 0 {
                    return None;
                }
                *len -= 1;
                match end {
                    End::Left => packed::pop_front(buf),
                    End::Right => packed::pop_back(buf),
                }
            }
            Repr::Deque(items) => {
                let item = match end {
                    End::Left => items.pop_front(),
                    End::Right => items.pop_back(),
                };
                item?.into_vec()
            }
        };
        self.forget(&item);
        self.maybe_repack();
        Some(item)
    }

    /// Removes up to `count` elements from `end` and returns them in the order they were
    /// taken (from the right: tail first).
    pub fn pop_many(&mut self, end: End, count: usize) -> Vec<Vec<u8>> {
        let count = count.min(self.len());
        let taken: Vec<Vec<u8>> = match &mut self.repr {
            Repr::Packed { buf, len } => {
                *len -= count;
                match end {
                    End::Left => {
                        let mut offset = 0;
                        let mut taken = Vec::with_capacity(count);
                        for _ in 0..count {
                            let (item, next) = packed::next(buf, offset);
                            taken.push(item.to_vec());
                            offset = next;
                        }
                        buf.drain(..offset);
                        taken
                    }
                    End::Right => {
                        let mut offset = buf.len();
                        let mut taken = Vec::with_capacity(count);
                        for _ in 0..count {
                            let (item, start) = packed::prev(buf, offset);
                            taken.push(item.to_vec());
                            offset = start;
                        }
                        buf.truncate(offset);
                        taken
                    }
                }
            }
            Repr::Deque(items) => match end {
                End::Left => items.drain(..count).map(<[u8]>::into_vec).collect(),
                End::Right => {
                    let mut tail: Vec<Vec<u8>> = items
                        .drain(items.len() - count..)
                        .map(<[u8]>::into_vec)
                        .collect();
                    tail.reverse();
                    tail
                }
            },
        };
        for item in &taken {
            self.forget(item);
        }
        self.maybe_repack();
        taken
    }

    /// Replaces the element at `index`; false if there is none.
    pub fn set(&mut self, index: usize, item: &[u8]) -> bool {
        if index >= self.len() {
            return false;
        }
        self.make_room(item.len());
        let old = match &mut self.repr {
            Repr::Packed { buf, len } => packed::replace(buf, *len, index, item),
            Repr::Deque(items) => std::mem::replace(&mut items[index], item.into()).into_vec(),
        };
        self.forget(&old);
        self.remember(item);
        self.maybe_repack();
        true
    }

    /// Inserts `item` so that it ends up at `index` (`len()` appends).
    pub fn insert(&mut self, index: usize, item: &[u8]) {
        let index = index.min(self.len());
        self.make_room(item.len());
        match &mut self.repr {
            Repr::Packed { buf, len } => {
                let at = packed::offset_of(buf, *len, index);
                packed::insert_at(buf, at, item);
                *len += 1;
            }
            Repr::Deque(items) => items.insert(index, item.into()),
        }
        self.remember(item);
    }

    /// Removes the elements equal to `item`: at most `limit` of them (0: all), the first ones
    /// found walking from `from`. Returns how many went.
    pub fn remove_matching(&mut self, item: &[u8], limit: usize, from: End) -> usize {
        let mut found: Vec<usize> = Vec::new();
        let matches = self.iter().enumerate().filter(|(_, e)| *e == item);
        let wanted = if limit == 0 { usize::MAX } else { limit };
        match from {
            End::Left => found.extend(matches.map(|(i, _)| i).take(wanted)),
            End::Right => {
                found.extend(matches.rev().map(|(i, _)| i).take(wanted));
                found.reverse();
            }
        }
        if found.is_empty() {
            return 0;
        }
        match &mut self.repr {
            Repr::Packed { buf, len } => {
                let mut kept = Vec::with_capacity(buf.len());
                let mut skip = found.iter().peekable();
                let mut offset = 0;
                for index in 0..*len {
                    let (element, next) = packed::next(buf, offset);
                    if skip.next_if_eq(&&index).is_none() {
                        packed::encode(element, &mut kept);
                    }
                    offset = next;
                }
                *buf = kept;
                *len -= found.len();
            }
            Repr::Deque(items) => {
                let mut skip = found.iter().peekable();
                let mut index = 0;
                items.retain(|_| {
                    let keep = skip.next_if_eq(&&index).is_none();
                    index += 1;
                    keep
                });
            }
        }
        for _ in 0..found.len() {
            self.forget(item);
        }
        self.maybe_repack();
        found.len()
    }

    /// Keeps only the elements at indexes `start..stop` (clamped to the list).
    pub fn retain_range(&mut self, start: usize, stop: usize) {
        let stop = stop.min(self.len());
        let start = start.min(stop);
        let removed: Vec<Vec<u8>> = self
            .range(0, start)
            .chain(self.range(stop, self.len()))
            .map(<[u8]>::to_vec)
            .collect();
        if removed.is_empty() {
            return;
        }
        match &mut self.repr {
            Repr::Packed { buf, len } => {
                let from = packed::offset_of(buf, *len, start);
                let to = packed::offset_of(buf, *len, stop);
                buf.truncate(to);
                buf.drain(..from);
                *len = stop - start;
            }
            Repr::Deque(items) => {
                items.truncate(stop);
                items.drain(..start);
            }
        }
        for item in &removed {
            self.forget(item);
        }
        self.maybe_repack();
    }

    fn push_one(&mut self, end: End, item: &[u8]) {
        match &mut self.repr {
            Repr::Packed { buf, len } => {
                match end {
                    End::Left => packed::insert_at(buf, 0, item),
                    End::Right => packed::encode(item, buf),
                }
                *len += 1;
            }
            Repr::Deque(items) => match end {
                End::Left => items.push_front(item.into()),
                End::Right => items.push_back(item.into()),
            },
        }
        self.remember(item);
    }

    /// Counts an element that was added.
    fn remember(&mut self, item: &[u8]) {
        self.listpack_bytes += listpack_entry_bytes(item);
        self.data_bytes += item.len();
    }

    /// Counts an element that was removed.
    fn forget(&mut self, item: &[u8]) {
        self.listpack_bytes -= listpack_entry_bytes(item);
        self.data_bytes -= item.len();
    }

    /// Becomes a deque if adding `added` bytes would make the listpack too heavy (Redis
    /// weighs the new elements by their raw length here). Elements too long for a packed
    /// frame never get this far: they alone pass the limit.
    fn make_room(&mut self, added: usize) {
        if self.listpack_bytes.saturating_add(added) <= MAX_PACKED_BYTES {
            return;
        }
        let Repr::Packed { buf, len } = &self.repr else {
            return;
        };
        let mut items = VecDeque::with_capacity(len + 1);
        let mut offset = 0;
        while offset < buf.len() {
            let (item, next) = packed::next(buf, offset);
            items.push_back(Box::from(item));
            offset = next;
        }
        self.repr = Repr::Deque(items);
    }

    /// Becomes packed again once a deque is light enough.
    fn maybe_repack(&mut self) {
        let Repr::Deque(items) = &self.repr else {
            return;
        };
        if self.listpack_bytes > REPACK_BYTES {
            return;
        }
        let mut buf = Vec::with_capacity(self.data_bytes + packed::FRAME * items.len());
        items.iter().for_each(|item| packed::encode(item, &mut buf));
        self.repr = Repr::Packed {
            buf,
            len: items.len(),
        };
    }
}

/// What `item` weighs as one Redis listpack entry: integers in canonical form are stored as
/// 1 to 9 bytes, strings with a 1, 2 or 5 byte header; then a back-length of 1 to 5 bytes.
fn listpack_entry_bytes(item: &[u8]) -> usize {
    let body = match parse_int(item) {
        Some(0..=127) => 1,
        Some(-4096..=4095) => 2,
        Some(-32_768..=32_767) => 3,
        Some(-8_388_608..=8_388_607) => 4,
        Some(n) if i32::try_from(n).is_ok() => 5,
        Some(_) => 9,
        None if item.len() < 64 => 1 + item.len(),
        None if item.len() < 4096 => 2 + item.len(),
        None => 5 + item.len(),
    };
    let back_length = match body {
        0..128 => 1,
        128..16_384 => 2,
        16_384..2_097_152 => 3,
        2_097_152..268_435_456 => 4,
        _ => 5,
    };
    body + back_length
}

/// Elements of a list, head to tail (or tail to head with `.rev()`).
pub enum Iter<'a> {
    Packed {
        buf: &'a [u8],
        /// Offset of the next element from the front, and just past the next from the back.
        front: usize,
        back: usize,
        left: usize,
    },
    Deque(std::collections::vec_deque::Iter<'a, Box<[u8]>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Iter::Packed {
                buf, front, left, ..
            } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let (item, next) = packed::next(buf, *front);
                *front = next;
                Some(item)
            }
            Iter::Deque(items) => items.next().map(|item| &**item),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match self {
            Iter::Packed { left, .. } => *left,
            Iter::Deque(items) => items.len(),
        };
        (left, Some(left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Packed {
                buf, back, left, ..
            } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let (item, start) = packed::prev(buf, *back);
                *back = start;
                Some(item)
            }
            Iter::Deque(items) => items.next_back().map(|item| &**item),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// The packed form: elements framed as `[len: u16 LE] bytes [len: u16 LE]`, back to back.
/// Every function takes offsets that fall on frame boundaries.
mod packed {
    /// Bytes a frame adds to its element.
    pub(super) const FRAME: usize = 4;

    fn length_at(buf: &[u8], at: usize) -> usize {
        usize::from(u16::from_le_bytes([buf[at], buf[at + 1]]))
    }

    /// The element starting at `offset`, and the offset of the one after it.
    pub(super) fn next(buf: &[u8], offset: usize) -> (&[u8], usize) {
        let len = length_at(buf, offset);
        (&buf[offset + 2..offset + 2 + len], offset + FRAME + len)
    }

    /// The element ending at `end`, and the offset it starts at.
    pub(super) fn prev(buf: &[u8], end: usize) -> (&[u8], usize) {
        let len = length_at(buf, end - 2);
        let start = end - FRAME - len;
        (&buf[start + 2..start + 2 + len], start)
    }

    /// Where element `index` of `len` starts (`len` gives the end), walking from the nearer
    /// end.
    pub(super) fn offset_of(buf: &[u8], len: usize, index: usize) -> usize {
        if index <= len / 2 {
            (0..index).fold(0, |offset, _| next(buf, offset).1)
        } else {
            (index..len).fold(buf.len(), |end, _| prev(buf, end).1)
        }
    }

    /// Appends `item`, framed. Its length must fit 16 bits (the size limit sees to it).
    pub(super) fn encode(item: &[u8], out: &mut Vec<u8>) {
        let len = u16::try_from(item.len()).unwrap_or(u16::MAX).to_le_bytes();
        debug_assert!(
            item.len() <= usize::from(u16::MAX),
            "element too long to pack"
        );
        out.extend_from_slice(&len);
        out.extend_from_slice(item);
        out.extend_from_slice(&len);
    }

    /// Inserts `item`, framed, at offset `at`.
    pub(super) fn insert_at(buf: &mut Vec<u8>, at: usize, item: &[u8]) {
        let before = buf.len();
        encode(item, buf);
        let added = buf.len() - before;
        buf[at..].rotate_right(added);
    }

    /// Replaces element `index` of `len` with `item`; returns the old element.
    pub(super) fn replace(buf: &mut Vec<u8>, len: usize, index: usize, item: &[u8]) -> Vec<u8> {
        let at = offset_of(buf, len, index);
        let (old, end) = next(buf, at);
        let old = old.to_vec();
        buf.drain(at..end);
        insert_at(buf, at, item);
        old
    }

    pub(super) fn pop_front(buf: &mut Vec<u8>) -> Vec<u8> {
        let (item, end) = next(buf, 0);
        let item = item.to_vec();
        buf.drain(..end);
        item
    }

    pub(super) fn pop_back(buf: &mut Vec<u8>) -> Vec<u8> {
        let (item, start) = prev(buf, buf.len());
        let item = item.to_vec();
        buf.truncate(start);
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(list: &List) -> Vec<Vec<u8>> {
        list.iter().map(<[u8]>::to_vec).collect()
    }

    fn of(elements: &[&str]) -> List {
        let mut list = List::new();
        list.push(End::Right, elements);
        list
    }

    #[test]
    fn pushes_and_pops_work_at_both_ends() {
        let mut list = List::new();
        list.push(End::Left, &["b", "a"]);
        list.push(End::Right, &["c", "d"]);
        assert_eq!(
            items(&list),
            vec![b"a".to_vec(), b"b".into(), b"c".into(), b"d".into()]
        );
        assert_eq!(list.pop(End::Left), Some(b"a".to_vec()));
        assert_eq!(list.pop(End::Right), Some(b"d".to_vec()));
        assert_eq!(list.len(), 2);
        assert_eq!(
            list.pop_many(End::Right, 5),
            vec![b"c".to_vec(), b"b".to_vec()]
        );
        assert!(list.is_empty());
        assert_eq!(list.pop(End::Left), None);
    }

    #[test]
    fn a_list_becomes_a_quicklist_past_8_kb_and_packed_again_at_half() {
        let mut list = List::new();
        let element = [b'x'; 100];
        while list.encoding() == "listpack" {
            list.push(End::Right, &[element]);
        }
        // Each element weighs 103 bytes in a listpack (2 header, 1 back-length): after 79 of
        // them (8144 bytes) the next 100 would pass 8 KB, so the 80th push converts.
        assert_eq!(list.len(), 80);
        while list.len() > 40 {
            list.pop(End::Left);
            assert_eq!(list.encoding(), "quicklist", "len {}", list.len());
        }
        // 39 elements weigh 4024 bytes: at most half of 8 KB.
        list.pop(End::Left);
        assert_eq!(list.encoding(), "listpack");
        assert_eq!(list.len(), 39);
        assert!(list.iter().all(|e| e == element));
    }

    #[test]
    fn one_big_element_makes_a_quicklist_at_once() {
        let mut list = List::new();
        list.push(End::Left, &[vec![b'x'; 8186]]);
        assert_eq!(list.encoding(), "quicklist");
        let mut fits = List::new();
        fits.push(End::Left, &[vec![b'x'; 8185]]);
        assert_eq!(fits.encoding(), "listpack");
        assert!(fits.set(0, &[b'y'; 70_000]));
        assert_eq!(fits.encoding(), "quicklist");
        assert_eq!(fits.get(0).map(<[u8]>::len), Some(70_000));
    }

    #[test]
    fn small_integers_weigh_less_than_strings() {
        assert_eq!(listpack_entry_bytes(b"1"), 2);
        assert_eq!(listpack_entry_bytes(b"-1"), 3);
        assert_eq!(listpack_entry_bytes(b"a"), 3);
        assert_eq!(listpack_entry_bytes(b"01"), 4);
        assert_eq!(listpack_entry_bytes(b"100000"), 5);
        assert_eq!(listpack_entry_bytes(b"9223372036854775807"), 10);
        assert_eq!(listpack_entry_bytes(&[b'x'; 63]), 65);
        assert_eq!(listpack_entry_bytes(&[b'x'; 64]), 67);
        assert_eq!(listpack_entry_bytes(&[b'x'; 4096]), 4103);
    }

    #[test]
    fn lists_with_the_same_elements_are_equal_in_either_form() {
        // Like Redis, one push weighs its elements by their raw length only, so 3000 short
        // elements pushed at once stay packed; pushed one by one they do not.
        let elements = vec!["a"; 3000];
        let at_once = of(&elements);
        let mut one_by_one = List::new();
        elements
            .iter()
            .for_each(|e| one_by_one.push(End::Right, &[e]));
        assert_eq!(at_once.encoding(), "listpack");
        assert_eq!(one_by_one.encoding(), "quicklist");
        assert_eq!(at_once, one_by_one);
        assert_ne!(at_once, of(&["a"]));
    }

    #[test]
    fn remove_matching_counts_from_the_chosen_end() {
        let mut list = of(&["a", "b", "a", "c", "a"]);
        assert_eq!(list.remove_matching(b"a", 2, End::Right), 2);
        assert_eq!(list, of(&["a", "b", "c"]));
        assert_eq!(list.remove_matching(b"z", 0, End::Left), 0);
        assert_eq!(list.remove_matching(b"a", 0, End::Left), 1);
        assert_eq!(list, of(&["b", "c"]));
    }

    #[test]
    fn the_accounting_matches_the_elements() {
        let mut list = of(&["1", "abc", "-5"]);
        list.insert(1, b"zz");
        list.set(0, b"hello");
        list.retain_range(1, 3);
        assert_eq!(list, of(&["zz", "abc"]));
        let expected: usize = EMPTY_LISTPACK + listpack_entry_bytes(b"zz") + 5;
        assert_eq!(list.listpack_bytes, expected);
        assert_eq!(list.data_bytes, 5);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<Vec<u8>>),
        Pop(bool),
        PopMany(bool, usize),
        Set(usize, Vec<u8>),
        Insert(usize, Vec<u8>),
        Remove(Vec<u8>, usize, bool),
        Retain(usize, usize),
    }

    fn element() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => prop::collection::vec(prop::sample::select(b"ab1".to_vec()), 0..3),
            1 => prop::collection::vec(any::<u8>(), 0..3000),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<bool>(), prop::collection::vec(element(), 1..6)).prop_map(|(l, v)| Op::Push(l, v)),
            2 => any::<bool>().prop_map(Op::Pop),
            1 => (any::<bool>(), 0..10usize).prop_map(|(l, n)| Op::PopMany(l, n)),
            1 => (0..40usize, element()).prop_map(|(i, e)| Op::Set(i, e)),
            1 => (0..40usize, element()).prop_map(|(i, e)| Op::Insert(i, e)),
            1 => (element(), 0..3usize, any::<bool>()).prop_map(|(e, n, l)| Op::Remove(e, n, l)),
            1 => (0..20usize, 0..40usize).prop_map(|(a, b)| Op::Retain(a, b)),
        ]
    }

    fn end(left: bool) -> End {
        if left { End::Left } else { End::Right }
    }

    proptest! {
        #[test]
        fn a_list_behaves_like_a_vecdeque(ops in prop::collection::vec(op(), 1..120)) {
            let mut list = List::new();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(left, elements) => {
                        list.push(end(left), &elements);
                        for e in elements {
                            if left { model.push_front(e) } else { model.push_back(e) }
                        }
                    }
                    Op::Pop(left) => {
                        let want = if left { model.pop_front() } else { model.pop_back() };
                        prop_assert_eq!(list.pop(end(left)), want);
                    }
                    Op::PopMany(left, n) => {
                        let mut want = Vec::new();
                        for _ in 0..n {
                            if let Some(e) = if left { model.pop_front() } else { model.pop_back() } {
                                want.push(e);
                            }
                        }
                        prop_assert_eq!(list.pop_many(end(left), n), want);
                    }
                    Op::Set(i, e) => {
                        prop_assert_eq!(list.set(i, &e), i < model.len());
                        if i < model.len() { model[i] = e; }
                    }
                    Op::Insert(i, e) => {
                        let i = i.min(model.len());
                        list.insert(i, &e);
                        model.insert(i, e);
                    }
                    Op::Remove(e, n, left) => {
                        let mut removed = 0;
                        let mut kept: Vec<Option<Vec<u8>>> = model.drain(..).map(Some).collect();
                        let order: Vec<usize> = if left { (0..kept.len()).collect() } else { (0..kept.len()).rev().collect() };
                        for i in order {
                            if (n == 0 || removed < n) && kept[i].as_deref() == Some(&e[..]) {
                                kept[i] = None;
                                removed += 1;
                            }
                        }
                        model = kept.into_iter().flatten().collect();
                        prop_assert_eq!(list.remove_matching(&e, n, end(left)), removed);
                    }
                    Op::Retain(a, b) => {
                        let b = b.min(model.len());
                        let a = a.min(b);
                        list.retain_range(a, b);
                        model = model.drain(a..b).collect();
                    }
                }
                prop_assert_eq!(list.len(), model.len());
                let got: Vec<Vec<u8>> = list.iter().map(<[u8]>::to_vec).collect();
                let want: Vec<Vec<u8>> = model.iter().cloned().collect();
                prop_assert_eq!(&got, &want);
                let back: Vec<Vec<u8>> = list.iter().rev().map(<[u8]>::to_vec).collect();
                prop_assert_eq!(back, want.iter().rev().cloned().collect::<Vec<_>>());
                for (i, e) in model.iter().enumerate() {
                    prop_assert_eq!(list.get(i), Some(&e[..]));
                }
                let data: usize = model.iter().map(Vec::len).sum();
                prop_assert_eq!(list.data_bytes, data);
                let weight: usize = EMPTY_LISTPACK + model.iter().map(|e| listpack_entry_bytes(e)).sum::<usize>();
                prop_assert_eq!(list.listpack_bytes, weight);
            }
        }
    }
}
