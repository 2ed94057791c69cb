//! A set of byte strings: integers-only small sets packed as sorted integers (intset), other small sets packed (listpack), large ones a hash set.
//!
//! This module owns the representation; the commands that use it live in `command/`.

/// A set of byte strings: integers-only small sets packed as sorted integers (intset), other small sets packed (listpack), large ones a hash set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Set {}

impl Set {
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
