//! List commands: pushes, pops, ranges, LMOVE/LMPOP, and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.

use super::Command;

#[allow(dead_code)]
const GROUP: &str = "list";

pub const COMMANDS: &[Command] = &[];
