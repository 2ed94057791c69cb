//! Bitmap commands on string values: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD.

use super::Command;

#[allow(dead_code)]
const GROUP: &str = "bitmap";

pub const COMMANDS: &[Command] = &[];
