//! Sorted set commands: ZADD and friends, ranges by rank/score/lex, pops (and the blocking BZPOPMIN BZPOPMAX BZMPOP), set algebra (ZUNION ZINTER ZDIFF and STORE forms), ZSCAN.

use super::Command;

#[allow(dead_code)]
const GROUP: &str = "sorted-set";

pub const COMMANDS: &[Command] = &[];
