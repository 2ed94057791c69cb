//! HyperLogLog commands on string values: PFADD PFCOUNT PFMERGE.

use super::Command;

#[allow(dead_code)]
const GROUP: &str = "hyperloglog";

pub const COMMANDS: &[Command] = &[];
