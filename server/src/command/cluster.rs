//! Cluster commands: CLUSTER (INFO MYID NODES SLOTS SHARDS KEYSLOT COUNTKEYSINSLOT
//! GETKEYSINSLOT REPLICAS LINKS MEET HELP), READONLY, READWRITE, ASKING. (`-MOVED` is decided
//! with the rest of routing, in `request::route`.)
//!
//! Replies have Redis 7's formats, built from the current [`Topology`] snapshot. Shoal's ring
//! gives every slot its own owner list (primary first, then R - 1 replicas) instead of Redis's
//! fixed master/replica pairs, so:
//!
//! - `CLUSTER SLOTS` lists each run of slots with the same owners, primary then replicas:
//!   exactly what cluster clients route with.
//! - `CLUSTER SHARDS` has one shard per distinct owner list (its slot ranges; its primary as
//!   `master`, the others as `replica`), so a node appears in several shards.
//! - With `cluster-slots-replicas no` both list primaries only (one shard per node): redis-py
//!   takes a node's role from its first appearance in `CLUSTER SLOTS`, so with replicas listed
//!   it sees most nodes as replicas and sends "all primaries" commands (FLUSHALL, KEYS, SCAN,
//!   DBSIZE) to too few nodes.
//! - `CLUSTER NODES` shows every node as `master` of the slots it is primary for; a suspect
//!   node is `fail?`, a node declared down is `fail` and owns nothing. A node's config epoch is
//!   its generation (start time in unix ms), unique per incarnation. Ping and pong times are
//!   0: SWIM probes are not tracked per node.
//! - `CLUSTER REPLICAS id` lists the nodes that hold replicas of any slot `id` is primary for.
//! - `CLUSTER LINKS`: the bus is UDP, so there are no connections; each live peer is listed as
//!   one outgoing link whose `create-time` is the peer's generation.
//!
//! `COUNTKEYSINSLOT` and `GETKEYSINSLOT` count the live keys of the slot in the selected
//! database. On a node that has had peers the shards keep their keys by slot
//! (`store/slot_index.rs`), so both look at that slot's keys only; on a node that never had
//! peers they walk the database, one shard at a time, with a CRC16 per key.

use super::parse::{self, text};
use super::{Command, Ctx, KeySpec, flag::*, help_reply};
use crate::error::{CommandResult, Error};
use crate::node::Node;
use crate::protocol::Reply;
use shoal_cluster::slot::{SLOTS, Slot, key_slot};
use shoal_cluster::{MemberInfo, MemberState, NodeId, SlotRange, Topology};
use std::collections::HashMap;
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

const GROUP: &str = "cluster";

pub const COMMANDS: &[Command] = &[
    Command::new("cluster", -2, 0, KeySpec::NONE, Command::container)
        .doc(
            GROUP,
            "3.0.0",
            "A container for Redis Cluster commands.",
            "Depends on subcommand.",
            "",
        )
        .subcommands(CLUSTER),
    Command::new(
        "readonly",
        1,
        FAST | LOADING | STALE,
        KeySpec::NONE,
        readonly,
    )
    .doc(
        GROUP,
        "3.0.0",
        "Enables read-only queries for a connection to a Redis Cluster replica node.",
        "O(1)",
        "",
    ),
    Command::new(
        "readwrite",
        1,
        FAST | LOADING | STALE,
        KeySpec::NONE,
        readwrite,
    )
    .doc(
        GROUP,
        "3.0.0",
        "Enables read-write queries for a connection to a Redis Cluster replica node.",
        "O(1)",
        "",
    ),
    Command::new("asking", 1, FAST, KeySpec::NONE, ok_in_cluster).doc(
        GROUP,
        "3.0.0",
        "Signals that a cluster client is following an -ASK redirect.",
        "O(1)",
        "",
    ),
];

const CLUSTER: &[Command] = &[
    Command::new("info", 2, STALE, KeySpec::NONE, info)
        .doc(
            GROUP,
            "3.0.0",
            "Returns information about the state of a node.",
            "O(1)",
            "",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("myid", 2, STALE, KeySpec::NONE, myid).doc(
        GROUP,
        "3.0.0",
        "Returns the ID of a node.",
        "O(1)",
        "",
    ),
    Command::new("nodes", 2, STALE, KeySpec::NONE, nodes)
        .doc(
            GROUP,
            "3.0.0",
            "Returns the cluster configuration for a node.",
            "O(N) where N is the total number of Cluster nodes",
            "",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("slots", 2, LOADING | STALE, KeySpec::NONE, slots)
        .doc(
            GROUP,
            "3.0.0",
            "Returns the mapping of cluster slots to nodes.",
            "O(N) where N is the total number of Cluster nodes",
            "",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("shards", 2, LOADING | STALE, KeySpec::NONE, shards)
        .doc(
            GROUP,
            "7.0.0",
            "Returns the mapping of cluster slots to shards.",
            "O(N) where N is the total number of cluster nodes",
            "",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("keyslot", 3, STALE, KeySpec::NONE, keyslot).doc(
        GROUP,
        "3.0.0",
        "Returns the hash slot for a key.",
        "O(N) where N is the number of bytes in the key",
        "key:string",
    ),
    Command::new("countkeysinslot", 3, STALE, KeySpec::NONE, countkeysinslot).doc(
        GROUP,
        "3.0.0",
        "Returns the number of keys in a hash slot.",
        "O(N) where N is the number of keys in the database (a scan)",
        "slot:int",
    ),
    Command::new("getkeysinslot", 4, STALE, KeySpec::NONE, getkeysinslot)
        .doc(
            GROUP,
            "3.0.0",
            "Returns the key names in a hash slot.",
            "O(N) where N is the number of keys in the database (a scan)",
            "slot:int count:int",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("replicas", 3, ADMIN | STALE, KeySpec::NONE, replicas)
        .doc(
            GROUP,
            "5.0.0",
            "Lists the replica nodes of a master node.",
            "O(N) where N is the number of replicas.",
            "node-id",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("slaves", 3, ADMIN | STALE, KeySpec::NONE, replicas)
        .doc(
            GROUP,
            "3.0.0",
            "Lists the replica nodes of a master node.",
            "O(N) where N is the number of replicas.",
            "node-id",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("links", 2, STALE, KeySpec::NONE, links)
        .doc(
            GROUP,
            "7.0.0",
            "Returns a list of all TCP links to and from peer nodes.",
            "O(N) where N is the total number of Cluster nodes",
            "",
        )
        .tips(&["nondeterministic_output"]),
    Command::new("meet", -4, ADMIN | STALE, KeySpec::NONE, meet).doc(
        GROUP,
        "3.0.0",
        "Forces a node to handshake with another node.",
        "O(1)",
        "ip port:int [cluster-bus-port:int]",
    ),
    Command::new("help", 2, LOADING | STALE, KeySpec::NONE, help).doc(
        GROUP,
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
        "",
    ),
];

const DISABLED: Error = Error::msg("ERR This instance has cluster support disabled");

/// The current topology, or Redis's error when cluster mode is off.
fn topology(node: &Node) -> Result<Arc<Topology>, Error> {
    node.cluster
        .get()
        .map(|cluster| cluster.topology.load_full())
        .ok_or(DISABLED)
}

/// `READONLY`: this connection's reads of keys this node replicates are served here.
fn readonly(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    topology(ctx.node)?;
    ctx.client.replica_reads = true;
    Ok(Reply::Ok)
}

/// `READWRITE`: back to reading from primaries only.
fn readwrite(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    topology(ctx.node)?;
    ctx.client.replica_reads = false;
    Ok(Reply::Ok)
}

fn ok_in_cluster(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    topology(ctx.node)?;
    Ok(Reply::Ok)
}

fn help(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    topology(ctx.node)?;
    Ok(help_reply(
        "CLUSTER",
        &[
            "COUNTKEYSINSLOT <slot>",
            "    Return the number of keys in <slot>.",
            "GETKEYSINSLOT <slot> <count>",
            "    Return key names stored by current node in a slot.",
            "INFO",
            "    Return information about the cluster.",
            "KEYSLOT <key>",
            "    Return the hash slot for <key>.",
            "MYID",
            "    Return the node id.",
            "NODES",
            "    Return cluster configuration seen by node. Output format:",
            "    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
            "REPLICAS <node-id>",
            "    Return <node-id> replicas.",
            "SLOTS",
            "    Return information about slots range mappings. Each range is made of:",
            "    start, end, master and replicas IP addresses, ports and ids",
            "SHARDS",
            "    Return information about slot range mappings and the nodes associated with them.",
            "MEET <ip> <port> [<bus-port>]",
            "    Connect nodes into a working cluster.",
            "LINKS",
            "    Return information about all network links between this node and its peers.",
            "    Output format is an array where each array element is a map containing attributes of a link",
        ],
    ))
}

fn myid(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let topology = topology(ctx.node)?;
    Ok(Reply::bulk_string(topology.myself().id.to_string()))
}

fn info(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let topology = topology(ctx.node)?;
    let stats = ctx
        .node
        .cluster
        .get()
        .map(|c| c.handle.stats())
        .unwrap_or_default();
    let slots = topology.slots();
    let mut pfail = 0;
    let mut size = 0;
    let mut current_epoch = 0;
    for member in topology.live_members() {
        let counts = slots.counts(&member.id);
        if counts.primary > 0 {
            size += 1;
        }
        if member.state == MemberState::Suspect {
            pfail += counts.primary;
        }
        current_epoch = current_epoch.max(member.generation);
    }
    // A node still waiting to join its seeds' cluster serves no slot, nor one whose lease
    // refuses keys (see `cluster::Lease`).
    let fenced = ctx.node.cluster.get().is_some_and(|c| {
        c.lease
            .fenced(crate::clock::now_ms(), topology.live_members().count() > 1)
    });
    let (state, ok, fail) = if topology.is_ok() && !fenced {
        ("ok", u32::from(SLOTS) - pfail, 0)
    } else {
        ("fail", 0, u32::from(SLOTS))
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "cluster_state:{state}\r\n\
         cluster_slots_assigned:{SLOTS}\r\n\
         cluster_slots_ok:{ok}\r\n\
         cluster_slots_pfail:{pfail}\r\n\
         cluster_slots_fail:{fail}\r\n\
         cluster_known_nodes:{}\r\n\
         cluster_size:{size}\r\n\
         cluster_current_epoch:{current_epoch}\r\n\
         cluster_my_epoch:{}\r\n\
         cluster_stats_messages_sent:{}\r\n\
         cluster_stats_messages_received:{}\r\n\
         total_cluster_links_buffer_limit_exceeded:0\r\n\
         shoal_topology_epoch:{:016x}\r\n\
         shoal_topology_settled:{}\r\n\
         shoal_phase:{}\r\n\
         shoal_slots_learning:{}\r\n",
        topology.members().len(),
        topology.myself().generation,
        stats.packets_sent,
        stats.packets_received,
        topology.epoch(),
        u8::from(
            ctx.node
                .cluster
                .get()
                .is_some_and(|c| c.lease.settled(topology.epoch()))
        ),
        topology.my_phase().name(),
        (0..SLOTS).filter(|&s| topology.is_learner(s)).count(),
    );
    Ok(Reply::Verbatim(out.into()))
}

/// One `CLUSTER NODES` line (without its newline).
fn describe(topology: &Topology, member: &MemberInfo) -> String {
    let myself = member.id == topology.myself().id;
    let mut line = format!(
        "{} {}:{}@{} {}master",
        member.id,
        member.client.ip(),
        member.client.port(),
        member.bus.port(),
        if myself { "myself," } else { "" },
    );
    line.push_str(match member.state {
        MemberState::Alive => "",
        MemberState::Suspect => ",fail?",
        MemberState::Down => ",fail",
    });
    let link = if myself || member.state.is_live() {
        "connected"
    } else {
        "disconnected"
    };
    let _ = write!(line, " - 0 0 {} {link}", member.generation);
    for range in topology.slots().primary_ranges(&member.id) {
        if range.start == range.end {
            let _ = write!(line, " {}", range.start);
        } else {
            let _ = write!(line, " {}-{}", range.start, range.end);
        }
    }
    line
}

fn nodes(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let topology = topology(ctx.node)?;
    let mut out = String::new();
    for member in topology.members() {
        out.push_str(&describe(&topology, member));
        out.push('\n');
    }
    Ok(Reply::Verbatim(out.into()))
}

/// A node as `CLUSTER SLOTS` lists it: IP, port, id, and no extra networking metadata.
fn slot_node(member: &MemberInfo) -> Reply {
    Reply::Array(vec![
        Reply::bulk_string(member.client.ip().to_string()),
        Reply::Int(i64::from(member.client.port())),
        Reply::bulk_string(member.id.to_string()),
        Reply::Map(Vec::new()),
    ])
}

/// How many owners of each range `CLUSTER SLOTS` and `SHARDS` list (`cluster-slots-replicas`).
fn listed_owners(node: &Node) -> usize {
    if node.config().cluster.slots_replicas {
        usize::MAX
    } else {
        1
    }
}

fn slots(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let topology = topology(ctx.node)?;
    let listed = listed_owners(ctx.node);
    let table = topology.slots();
    // Runs whose listed owners are the same merge (when only primaries are listed).
    let mut runs: Vec<(SlotRange, &[u16])> = Vec::new();
    for range in table.ranges() {
        let owners = table.owners(range.start);
        let owners = &owners[..owners.len().min(listed)];
        match runs.last_mut() {
            Some((run, same)) if *same == owners => run.end = range.end,
            _ => runs.push((*range, owners)),
        }
    }
    let out = primaries_first(runs)
        .into_iter()
        .map(|(range, shown)| {
            let mut entry = vec![
                Reply::Int(i64::from(range.start)),
                Reply::Int(i64::from(range.end)),
            ];
            entry.extend(topology.owners(range.start).take(shown).map(slot_node));
            Reply::Array(entry)
        })
        .collect();
    Ok(Reply::Array(out))
}

/// Orders `CLUSTER SLOTS` entries so that every node appears first as a primary.
///
/// redis-py (sync and asyncio) takes a node's role from the first entry it appears in, and
/// lists as primaries only the nodes it met first as one: in slot order, with replicas listed,
/// most nodes would be met first as someone's replica, and its commands for "all primaries"
/// (DBSIZE, KEYS, SCAN, FLUSHALL) would skip them. No order of whole entries avoids that (the
/// first entry's replica is always met first as a replica), so the first slot of each node's
/// first run is split off and listed, before everything else, with its primary alone. Ranges
/// stay disjoint and cover every slot; those N slots (one per node) are shown without their
/// replicas, so replica reads for them go to their primary. The rest follow in slot order.
/// Returns (range, owners to show).
fn primaries_first(runs: Vec<(SlotRange, &[u16])>) -> Vec<(SlotRange, usize)> {
    let mut leads: Vec<(SlotRange, usize)> = Vec::new();
    let mut rest: Vec<(SlotRange, usize)> = Vec::new();
    let mut seen: Vec<u16> = Vec::new();
    for (range, owners) in runs {
        let Some(&primary) = owners.first() else {
            continue;
        };
        if owners.len() > 1 && !seen.contains(&primary) {
            seen.push(primary);
            leads.push((
                SlotRange {
                    start: range.start,
                    end: range.start,
                },
                1,
            ));
            if range.end > range.start {
                rest.push((
                    SlotRange {
                        start: range.start + 1,
                        end: range.end,
                    },
                    owners.len(),
                ));
            }
        } else {
            rest.push((range, owners.len()));
        }
    }
    leads.extend(rest);
    leads
}

fn shards(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let topology = topology(ctx.node)?;
    let listed = listed_owners(ctx.node);
    let table = topology.slots();
    // One shard per distinct (listed) owner list, in the order of its first slot.
    let mut index: HashMap<&[u16], usize> = HashMap::new();
    let mut groups: Vec<(SlotRange, Vec<Reply>)> = Vec::new();
    for range in table.ranges() {
        let owners = table.owners(range.start);
        let owners = &owners[..owners.len().min(listed)];
        let at = *index.entry(owners).or_insert_with(|| {
            groups.push((*range, Vec::new()));
            groups.len() - 1
        });
        let slots = &mut groups[at].1;
        match slots.last_mut() {
            // Adjacent to the shard's last range: extend it.
            Some(Reply::Int(end)) if *end + 1 == i64::from(range.start) => {
                *end = i64::from(range.end)
            }
            _ => {
                slots.push(Reply::Int(i64::from(range.start)));
                slots.push(Reply::Int(i64::from(range.end)));
            }
        }
    }
    let out = groups
        .into_iter()
        .map(|(first, slots)| {
            let nodes = topology
                .owners(first.start)
                .take(listed)
                .enumerate()
                .map(|(rank, member)| shard_node(member, rank == 0))
                .collect();
            Reply::Map(vec![
                (Reply::bulk_static("slots"), Reply::Array(slots)),
                (Reply::bulk_static("nodes"), Reply::Array(nodes)),
            ])
        })
        .collect();
    Ok(Reply::Array(out))
}

/// A node as `CLUSTER SHARDS` describes it.
fn shard_node(member: &MemberInfo, primary: bool) -> Reply {
    let field = |name: &'static str, value: Reply| (Reply::bulk_static(name), value);
    let ip = member.client.ip().to_string();
    Reply::Map(vec![
        field("id", Reply::bulk_string(member.id.to_string())),
        field("port", Reply::Int(i64::from(member.client.port()))),
        field("ip", Reply::bulk_string(ip.clone())),
        field("endpoint", Reply::bulk_string(ip)),
        field(
            "role",
            Reply::bulk_static(if primary { "master" } else { "replica" }),
        ),
        field("replication-offset", Reply::Int(0)),
        field(
            "health",
            Reply::bulk_static(match member.state {
                MemberState::Down => "fail",
                _ => "online",
            }),
        ),
    ])
}

fn keyslot(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    topology(ctx.node)?;
    Ok(Reply::Int(i64::from(key_slot(args[2]))))
}

/// A slot number argument: not an integer is Redis's integer error, out of range `invalid`.
fn slot_arg(arg: &[u8], invalid: &'static str) -> Result<Slot, Error> {
    let slot = parse::int(arg)?;
    Slot::try_from(slot)
        .ok()
        .filter(|s| *s < SLOTS)
        .ok_or(Error::msg(invalid))
}

fn countkeysinslot(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    topology(ctx.node)?;
    let slot = slot_arg(args[2], "ERR Invalid slot")?;
    let db = ctx.db();
    let mut count = 0;
    ctx.keys.for_each_in_slot(db, slot, |_| {
        count += 1;
        true
    });
    Ok(Reply::Int(count))
}

fn getkeysinslot(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    topology(ctx.node)?;
    const INVALID: &str = "ERR Invalid slot or number of keys";
    let slot = parse::int(args[2])?;
    let max = parse::int(args[3])?;
    let slot = Slot::try_from(slot)
        .ok()
        .filter(|s| *s < SLOTS)
        .ok_or(Error::msg(INVALID))?;
    let max = usize::try_from(max).map_err(|_| Error::msg(INVALID))?;
    let db = ctx.db();
    let mut found = Vec::new();
    if max > 0 {
        ctx.keys.for_each_in_slot(db, slot, |entry| {
            found.push(Reply::bulk(entry.key()));
            found.len() < max
        });
    }
    Ok(Reply::Array(found))
}

fn replicas(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let topology = topology(ctx.node)?;
    let name = text(args[2]);
    let unknown = || {
        Error::err(format!(
            "Unknown node {}",
            crate::error::truncate(&name, 128)
        ))
    };
    let id: NodeId = name.parse().map_err(|_| unknown())?;
    if topology.member(&id).is_none() {
        return Err(unknown());
    }
    let table = topology.slots();
    let mut holders: Vec<NodeId> = Vec::new();
    for range in table.ranges() {
        let mut owners = table.owner_ids(range.start);
        if owners.next() != Some(&id) {
            continue;
        }
        for replica in owners {
            if !holders.contains(replica) {
                holders.push(*replica);
            }
        }
    }
    holders.sort_unstable();
    let out = holders
        .iter()
        .filter_map(|holder| topology.member(holder))
        .map(|member| Reply::bulk_string(describe(&topology, member)))
        .collect();
    Ok(Reply::Array(out))
}

fn links(ctx: &mut Ctx<'_, '_>, _args: &[&[u8]]) -> CommandResult {
    let topology = topology(ctx.node)?;
    let me = topology.myself().id;
    let field = |name: &'static str, value: Reply| (Reply::bulk_static(name), value);
    let out = topology
        .live_members()
        .filter(|member| member.id != me)
        .map(|member| {
            Reply::Map(vec![
                field("direction", Reply::bulk_static("to")),
                field("node", Reply::bulk_string(member.id.to_string())),
                // The generation is the start time in µs; create-time is in ms.
                field(
                    "create-time",
                    Reply::Int(i64::try_from(member.generation / 1000).unwrap_or(i64::MAX)),
                ),
                field("events", Reply::bulk_static("")),
                field("send-buffer-allocated", Reply::Int(0)),
                field("send-buffer-used", Reply::Int(0)),
            ])
        })
        .collect();
    Ok(Reply::Array(out))
}

fn meet(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    let cluster = ctx.node.cluster.get().ok_or(DISABLED)?;
    if args.len() > 5 {
        return Err(Error::SubcommandSyntax {
            command: "cluster",
            sub: text(args[1]),
        });
    }
    let port = parse::int(args[3])
        .map_err(|_| Error::err(format!("Invalid base port specified: {}", text(args[3]))))?;
    let bus = match args.get(4) {
        Some(arg) => parse::int(arg)
            .map_err(|_| Error::err(format!("Invalid bus port specified: {}", text(arg))))?,
        None => port + i64::from(shoal_cluster::config::BUS_PORT_OFFSET),
    };
    let invalid = || {
        Error::err(format!(
            "Invalid node address specified: {}:{}",
            text(args[2]),
            text(args[3])
        ))
    };
    let ip: IpAddr = text(args[2]).parse().map_err(|_| invalid())?;
    let valid_port = |p: i64| u16::try_from(p).ok().filter(|p| *p != 0);
    let (Some(_), Some(bus)) = (valid_port(port), valid_port(bus)) else {
        return Err(invalid());
    };
    cluster
        .handle
        .meet(&SocketAddr::new(ip, bus).to_string())
        .map_err(|_| invalid())?;
    Ok(Reply::Ok)
}
