//! Stream commands: XADD XLEN XRANGE XREVRANGE XDEL XTRIM XREAD (with BLOCK).

use super::Command;

#[allow(dead_code)]
const GROUP: &str = "stream";

pub const COMMANDS: &[Command] = &[];
