//! RESP replies as raw bytes: where one ends, and taking arrays and integers apart.
//!
//! Forwarded replies are relayed byte for byte, so the forwarding node never decodes them into
//! values; it only needs to know where each reply ends on a pipelined link (`reply_len`), and,
//! for commands split over several nodes, the elements of an array reply or the value of an
//! integer reply to merge them (`merge`). The scanner is iterative (a count of values still
//! expected), so a deeply nested reply cannot overflow the stack.

use bytes::Bytes;
use std::ops::Range;

/// A reply the scanner cannot read: the link that sent it is closed.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// Largest aggregate length accepted from a peer.
const MAX_COUNT: i64 = i32::MAX as i64;

/// The line at `pos` (without `\r\n`) and the position after it; `None` when incomplete.
fn line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], pos + end + 2))
}

fn number(text: &[u8]) -> Result<i64, Malformed> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(Malformed)
}

/// Length in bytes of the complete reply at the start of `buf`; `Ok(None)` when more bytes
/// are needed.
pub fn reply_len(buf: &[u8]) -> Result<Option<usize>, Malformed> {
    let mut pos = 0;
    // Values still to read: aggregates add their elements as they are met.
    let mut expected: i64 = 1;
    while expected > 0 {
        let Some((head, after)) = line(buf, pos) else {
            return Ok(None);
        };
        let (&kind, rest) = head.split_first().ok_or(Malformed)?;
        pos = after;
        expected -= 1;
        match kind {
            b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(' => {}
            b'$' | b'=' | b'!' => {
                let len = number(rest)?;
                if len >= 0 {
                    let len = usize::try_from(len).map_err(|_| Malformed)?;
                    let end = pos.checked_add(len + 2).ok_or(Malformed)?;
                    if buf.len() < end {
                        return Ok(None);
                    }
                    pos = end;
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let count = number(rest)?;
                if count > MAX_COUNT {
                    return Err(Malformed);
                }
                let count = count.max(0);
                expected += match kind {
                    b'%' => 2 * count,
                    // An attribute comes before the value it describes.
                    b'|' => 2 * count + 1,
                    _ => count,
                };
            }
            _ => return Err(Malformed),
        }
    }
    Ok(Some(pos))
}

/// Whether the reply is an error (`-...`, or a RESP3 blob error).
pub fn is_error(reply: &[u8]) -> bool {
    matches!(reply.first(), Some(b'-' | b'!'))
}

/// The elements of an array reply (`*n`), as byte ranges of `reply`; `None` for anything else.
pub fn array_elements(reply: &[u8]) -> Option<Vec<Range<usize>>> {
    let (head, mut pos) = line(reply, 0)?;
    let (&kind, rest) = head.split_first()?;
    if kind != b'*' {
        return None;
    }
    let count = usize::try_from(number(rest).ok()?).ok()?;
    let mut out = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let len = reply_len(&reply[pos..]).ok()??;
        out.push(pos..pos + len);
        pos += len;
    }
    Some(out)
}

/// The value of an integer reply (`:n`).
pub fn integer(reply: &[u8]) -> Option<i64> {
    let (head, _) = line(reply, 0)?;
    match head.split_first()? {
        (b':', digits) => number(digits).ok(),
        _ => None,
    }
}

/// How the replies of a command split over several nodes are put back together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// An array with one element per key, in the client's order (`MGET`).
    ByKey,
    /// The sum of integer replies (`DEL`, `UNLINK`, `EXISTS`, `TOUCH`, `DBSIZE`).
    Sum,
    /// `+OK` when every part said so (`MSET`, `FLUSHALL`).
    AllOk,
    /// One array of every part's elements, in part order (`KEYS`).
    Concat,
    /// One node's `SCAN` reply, its cursor rewritten to name the node (`node << shift`), or
    /// the next node once this one is done (0 after the `last`).
    Scan { node: u64, last: bool, shift: u32 },
}

impl From<crate::command::Combine> for Merge {
    fn from(combine: crate::command::Combine) -> Merge {
        use crate::command::Combine;
        match combine {
            Combine::ByKey => Merge::ByKey,
            Combine::Sum => Merge::Sum,
            Combine::AllOk => Merge::AllOk,
            Combine::Concat => Merge::Concat,
        }
    }
}

/// Merges the parts' replies. `positions[i]` lists, for part `i`, the index in the client's
/// key order of each element of its reply (used by `ByKey`); `keys` is the number of keys.
/// The first error among the parts is the answer, as a command that fails on one node failed.
pub fn merge(merge: Merge, parts: &[Bytes], positions: &[Vec<usize>], keys: usize) -> Bytes {
    if let Some(error) = parts.iter().find(|p| is_error(p)) {
        return error.clone();
    }
    match merge {
        Merge::AllOk => match parts.iter().find(|p| p.as_ref() != b"+OK\r\n") {
            Some(other) => other.clone(),
            None => Bytes::from_static(b"+OK\r\n"),
        },
        Merge::Sum => {
            let mut sum: i64 = 0;
            for part in parts {
                match integer(part) {
                    Some(n) => sum = sum.saturating_add(n),
                    None => return part.clone(),
                }
            }
            Bytes::from(format!(":{sum}\r\n"))
        }
        Merge::ByKey => by_key(parts, positions, keys),
        Merge::Concat => concat(parts),
        Merge::Scan { node, last, shift } => match parts.first() {
            Some(part) => scan(part, node, last, shift),
            None => Bytes::from_static(b"*-1\r\n"),
        },
    }
}

fn scan(part: &Bytes, node: u64, last: bool, shift: u32) -> Bytes {
    let Some(elements) = array_elements(part) else {
        return part.clone();
    };
    let [cursor, keys] = elements.as_slice() else {
        return part.clone();
    };
    let inner = bulk(&part[cursor.clone()])
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse::<u64>().ok());
    let Some(inner) = inner else {
        return part.clone();
    };
    let next = match (inner, last) {
        (0, true) => 0,
        (0, false) => (node + 1) << shift,
        (inner, _) => (node << shift) | inner,
    };
    let next = next.to_string();
    let mut out = format!("*2\r\n${}\r\n{next}\r\n", next.len()).into_bytes();
    out.extend_from_slice(&part[keys.clone()]);
    Bytes::from(out)
}

/// The payload of a bulk string reply.
pub fn bulk(reply: &[u8]) -> Option<&[u8]> {
    let (head, pos) = line(reply, 0)?;
    head.strip_prefix(b"$")?;
    reply.get(pos..)?.strip_suffix(b"\r\n")
}

fn by_key(parts: &[Bytes], positions: &[Vec<usize>], keys: usize) -> Bytes {
    let mut slots: Vec<Option<&[u8]>> = vec![None; keys];
    for (part, places) in parts.iter().zip(positions) {
        let Some(elements) = array_elements(part) else {
            return part.clone();
        };
        for (range, &place) in elements.into_iter().zip(places) {
            if let Some(slot) = slots.get_mut(place) {
                *slot = Some(&part[range]);
            }
        }
    }
    let mut out = format!("*{keys}\r\n").into_bytes();
    for element in slots {
        // A part that answered too few elements: its missing keys read as nil.
        out.extend_from_slice(element.unwrap_or(b"$-1\r\n"));
    }
    Bytes::from(out)
}

fn concat(parts: &[Bytes]) -> Bytes {
    let mut body = Vec::new();
    let mut count = 0;
    for part in parts {
        let Some(elements) = array_elements(part) else {
            return part.clone();
        };
        count += elements.len();
        for range in elements {
            body.extend_from_slice(&part[range]);
        }
    }
    let mut out = format!("*{count}\r\n").into_bytes();
    out.extend_from_slice(&body);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_len_finds_the_end_of_every_kind() {
        let cases: &[&[u8]] = &[
            b"+OK\r\n",
            b"-ERR x\r\n",
            b":12\r\n",
            b"$3\r\nabc\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            b"*2\r\n$1\r\na\r\n:1\r\n",
            b"%1\r\n+k\r\n*1\r\n_\r\n",
            b"~2\r\n,1.5\r\n#t\r\n",
            b"|1\r\n+a\r\n+b\r\n:3\r\n",
            b"=7\r\ntxt:abc\r\n",
            b"*0\r\n",
        ];
        for case in cases {
            assert_eq!(reply_len(case), Ok(Some(case.len())), "{case:?}");
            let mut longer = case.to_vec();
            longer.extend_from_slice(b"+NEXT\r\n");
            assert_eq!(reply_len(&longer), Ok(Some(case.len())));
            for cut in 0..case.len() {
                assert_eq!(reply_len(&case[..cut]), Ok(None), "{case:?} cut at {cut}");
            }
        }
        assert_eq!(reply_len(b"?\r\n"), Err(Malformed));
        assert_eq!(reply_len(b"$x\r\n"), Err(Malformed));
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let mut deep = b"*1\r\n".repeat(100_000);
        deep.extend_from_slice(b":1\r\n");
        assert_eq!(reply_len(&deep), Ok(Some(deep.len())));
    }

    #[test]
    fn split_replies_merge_in_the_clients_order() {
        let a = Bytes::from_static(b"*2\r\n$1\r\nx\r\n$-1\r\n");
        let b = Bytes::from_static(b"*1\r\n$1\r\ny\r\n");
        let merged = merge(Merge::ByKey, &[a, b], &[vec![0, 2], vec![1]], 3);
        assert_eq!(&merged[..], b"*3\r\n$1\r\nx\r\n$1\r\ny\r\n$-1\r\n");
        let sum = merge(
            Merge::Sum,
            &[Bytes::from_static(b":2\r\n"), Bytes::from_static(b":3\r\n")],
            &[],
            0,
        );
        assert_eq!(&sum[..], b":5\r\n");
        let failed = merge(
            Merge::AllOk,
            &[
                Bytes::from_static(b"+OK\r\n"),
                Bytes::from_static(b"-TRYAGAIN x\r\n"),
            ],
            &[],
            0,
        );
        assert_eq!(&failed[..], b"-TRYAGAIN x\r\n");
        let keys = merge(
            Merge::Concat,
            &[
                Bytes::from_static(b"*1\r\n$1\r\na\r\n"),
                Bytes::from_static(b"*0\r\n"),
                Bytes::from_static(b"*1\r\n$1\r\nb\r\n"),
            ],
            &[],
            0,
        );
        assert_eq!(&keys[..], b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    }

    #[test]
    fn scan_cursors_name_the_node_and_move_on_when_it_is_done() {
        let reply = |cursor: &str| {
            Bytes::from(format!(
                "*2\r\n${}\r\n{cursor}\r\n*1\r\n$1\r\nk\r\n",
                cursor.len()
            ))
        };
        let scan = |cursor, node, last| {
            let merged = merge(
                Merge::Scan {
                    node,
                    last,
                    shift: 56,
                },
                &[reply(cursor)],
                &[],
                0,
            );
            String::from_utf8_lossy(&merged).into_owned()
        };
        let within = ((1u64 << 56) | 77).to_string();
        assert!(scan("77", 1, false).contains(&within));
        let next = (2u64 << 56).to_string();
        assert!(scan("0", 1, false).contains(&next));
        assert!(scan("0", 2, true).starts_with("*2\r\n$1\r\n0\r\n*1\r\n"));
    }
}
