//! Hash commands: HSET HSETNX HGET HMGET HMSET HGETALL HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.

use super::Command;

#[allow(dead_code)]
const GROUP: &str = "hash";

pub const COMMANDS: &[Command] = &[];
