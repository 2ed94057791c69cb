//! Set commands: SADD SREM SCARD SMEMBERS SISMEMBER SMISMEMBER SPOP SRANDMEMBER SMOVE and the set algebra (SINTER SUNION SDIFF, their STORE forms, SINTERCARD), SSCAN.

use super::Command;

#[allow(dead_code)]
const GROUP: &str = "set";

pub const COMMANDS: &[Command] = &[];
