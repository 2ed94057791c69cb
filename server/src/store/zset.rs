//! A sorted set: members ordered by (score, member), with rank queries and member → score lookups.
//!
//! This module owns the representation; the commands that use it live in `command/`.

/// A sorted set: members ordered by (score, member), with rank queries and member → score lookups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZSet {}

impl ZSet {
    /// Number of elements.
    pub fn len(&self) -> usize {
        0
    }

    /// Whether there is no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    /// Allocations freed when this value is dropped (large ones are freed lazily).
    pub fn free_cost(&self) -> usize {
        1
    }

    /// Approximate heap bytes held.
    pub fn heap_size(&self) -> usize {
        0
    }
}
