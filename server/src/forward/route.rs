//! Where a request runs: here, on one peer, split over several nodes, or refused.
//!
//! The decision is made per request from the current topology snapshot, before dispatch
//! locks anything (see `command::execute`):
//!
//! - Commands without keys run here, except the keyspace-wide ones: `FLUSHALL`/`FLUSHDB` go
//!   to every node, and with `cluster-keyspace-commands whole` so do `DBSIZE` and `KEYS`.
//! - A command whose keys all have this node as primary runs here (even across slots).
//! - Otherwise, when every key has the same primary, the whole request goes there (over the
//!   shared link, or the client's session for blocking commands and WATCH). When the keys are
//!   on several nodes, MGET, MSET, DEL, UNLINK, EXISTS and TOUCH are split per node; anything
//!   else is refused with `-CROSSSLOT`, as Redis Cluster refuses keys of several slots.
//! - In `redirect` mode a client's request is answered `-MOVED` instead (as Redis Cluster).
//! - Inside MULTI, commands are queued here; the first key fixes the node the transaction
//!   runs on (a WATCHed key does too), a key of another node is refused with `-CROSSSLOT`,
//!   and EXEC sends the whole block to that node if it is not this one.
//!
//! A forwarded request carries a hop count; a node that would forward it once more than
//! [`MAX_HOPS`] allows answers `-TRYAGAIN` instead, so two nodes whose views of the ring
//! differ during a topology change cannot pass a request back and forth forever.

use super::frame::Merge;
use super::{ClusterMode, Part, Plan};
use crate::client::Client;
use crate::command::{Command, flag, transactions};
use crate::error::Error;
use crate::node::Node;
use shoal_cluster::Topology;
use shoal_cluster::slot::{Slot, key_slot};
use smallvec::SmallVec;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

/// Most times a request may be forwarded.
pub const MAX_HOPS: u8 = 3;

/// What to do with a request.
pub enum Route {
    /// Run it on this node.
    Local,
    /// Answer this error.
    Refuse(Error),
    /// Send it elsewhere.
    Forward(Plan),
}

const CROSSSLOT: Error = Error::msg("CROSSSLOT Keys in request don't hash to the same slot");
const CLUSTERDOWN: Error = Error::msg("CLUSTERDOWN The cluster is down");
const HOP_LIMIT: Error = Error::msg(
    "TRYAGAIN Forwarding hop limit reached: the nodes disagree on the slot's owner (topology change in progress)",
);

/// Decides where `args` runs.
pub fn route(node: &Node, client: &mut Client, command: &Command, args: &[&[u8]]) -> Route {
    let Some(cluster) = node.cluster.get() else {
        return Route::Local;
    };
    if cluster.topology.is_single_node() {
        return Route::Local;
    }
    let topology = cluster.topology.load();
    if !topology.is_ok() {
        // Not joined yet: keys are refused (a node that cannot reach its cluster must not
        // serve as a cluster of its own); everything else runs here.
        return if command.keys.has_keys() {
            Route::Refuse(CLUSTERDOWN)
        } else {
            Route::Local
        };
    }
    if topology.slots().nodes().len() <= 1 {
        return Route::Local;
    }
    let settings = &node.forward.settings;
    let redirect = client.peer.hops == 0 && settings.mode() == ClusterMode::Redirect;
    if redirect {
        return match crate::command::cluster::redirect(node, command, args) {
            Some(error) => {
                node.forward.stats.redirects.fetch_add(1, Ordering::Relaxed);
                Route::Refuse(error)
            }
            None => Route::Local,
        };
    }
    match command.name {
        "exec" => return exec(client, &topology),
        "discard" | "unwatch" | "reset" => {
            // The peer forgets the client's WATCHes when its session closes.
            client.session = None;
            client.watch_slot = None;
            return Route::Local;
        }
        _ => {}
    }
    if client.multi.is_some() {
        // WATCH inside MULTI is refused by its handler, here.
        if transactions::runs_inside_multi(command.name) {
            return Route::Local;
        }
        return queue(client, command, args, &topology);
    }
    if !command.keys.has_keys() {
        return keyspace_wide(node, client, command, args, &topology);
    }
    keyed(client, command, args, &topology)
}

/// The primary (client address) of each key, in key order; `None` for this node.
fn owners(
    command: &Command,
    args: &[&[u8]],
    topology: &Topology,
) -> SmallVec<[(usize, Slot, Option<SocketAddr>); 8]> {
    command
        .keys
        .positions(args)
        .into_iter()
        .filter_map(|i| {
            let slot = key_slot(args.get(i)?);
            let primary = (!topology.is_primary(slot)).then(|| topology.primary(slot).client);
            Some((i, slot, primary))
        })
        .collect()
}

/// A command with keys, outside MULTI.
fn keyed(client: &mut Client, command: &Command, args: &[&[u8]], topology: &Topology) -> Route {
    let keys = owners(command, args, topology);
    let Some(&(_, first_slot, first)) = keys.first() else {
        return Route::Local;
    };
    if command.name == "watch" {
        if let Some(error) = check_transaction_owner(client.watch_slot, &keys, topology) {
            return Route::Refuse(error);
        }
        client.watch_slot.get_or_insert(first_slot);
    }
    let one_owner = keys.iter().all(|k| k.2 == first);
    if one_owner {
        let Some(peer) = first else {
            return Route::Local;
        };
        if client.peer.hops >= MAX_HOPS {
            return Route::Refuse(HOP_LIMIT);
        }
        if command.has(flag::BLOCKING) || command.name == "watch" {
            let owned = args.iter().map(|a| a.to_vec()).collect();
            return Route::Forward(Plan::Session { peer, args: owned });
        }
        let request = super::envelope::encode(client, args);
        return Route::Forward(Plan::One { peer, request });
    }
    if client.peer.hops >= MAX_HOPS {
        return Route::Refuse(HOP_LIMIT);
    }
    // An MSET without a value for its last key: its handler answers the arity error.
    if command.name == "mset" && args.len().is_multiple_of(2) {
        return Route::Local;
    }
    match split(command, args, &keys) {
        Some(plan) => Route::Forward(plan),
        None => Route::Refuse(CROSSSLOT),
    }
}

/// Splits a multi-key command per node, or `None` when it cannot be split.
fn split(
    command: &Command,
    args: &[&[u8]],
    keys: &[(usize, Slot, Option<SocketAddr>)],
) -> Option<Plan> {
    let (merge, step) = match command.name {
        "mget" => (Merge::ByKey, 1),
        "mset" => (Merge::AllOk, 2),
        "del" | "unlink" | "exists" | "touch" => (Merge::Sum, 1),
        _ => return None,
    };
    let mut parts: Vec<Part> = Vec::new();
    for (order, &(position, _, owner)) in keys.iter().enumerate() {
        let index = match parts.iter().position(|p| p.peer == owner) {
            Some(index) => index,
            None => {
                parts.push(Part {
                    peer: owner,
                    args: vec![args[0].to_vec()],
                    positions: Vec::new(),
                });
                parts.len() - 1
            }
        };
        let part = &mut parts[index];
        part.args
            .extend(args[position..position + step].iter().map(|a| a.to_vec()));
        part.positions.push(order);
    }
    Some(Plan::Split {
        parts,
        merge,
        keys: keys.len(),
    })
}

/// Whether every key in `keys` has the same primary as `slot` (when a slot is fixed); the
/// refusal otherwise.
fn check_transaction_owner(
    slot: Option<Slot>,
    keys: &[(usize, Slot, Option<SocketAddr>)],
    topology: &Topology,
) -> Option<Error> {
    let owner = topology
        .primary(slot.or_else(|| keys.first().map(|k| k.1))?)
        .id;
    keys.iter()
        .any(|k| topology.primary(k.1).id != owner)
        .then_some(CROSSSLOT)
}

/// A command being queued inside MULTI: the first key fixes the transaction's node.
fn queue(client: &mut Client, command: &Command, args: &[&[u8]], topology: &Topology) -> Route {
    let keys = owners(command, args, topology);
    let fixed = client
        .watch_slot
        .or_else(|| client.multi.as_ref().and_then(|t| t.slot));
    if let Some(error) = check_transaction_owner(fixed, &keys, topology) {
        return Route::Refuse(error);
    }
    if let (Some(transaction), Some(first)) = (client.multi.as_mut(), keys.first()) {
        transaction.slot.get_or_insert(first.1);
    }
    Route::Local
}

/// EXEC: runs here, or the whole block goes to the node its keys (or WATCHes) are on.
fn exec(client: &mut Client, topology: &Topology) -> Route {
    let Some(transaction) = client.multi.as_ref() else {
        return Route::Local;
    };
    let Some(slot) = client.watch_slot.or(transaction.slot) else {
        return Route::Local;
    };
    if transaction.failed || topology.is_primary(slot) {
        client.watch_slot = None;
        return Route::Local;
    }
    if client.peer.hops >= MAX_HOPS {
        return Route::Refuse(HOP_LIMIT);
    }
    let peer = topology.primary(slot).client;
    let watched = client.watch_slot.is_some_and(|s| !topology.is_primary(s));
    let queued = client.multi.take().map(|t| t.queued).unwrap_or_default();
    client
        .info
        .multi
        .store(-1, std::sync::atomic::Ordering::Relaxed);
    client.watched.clear();
    client.watch_slot = None;
    Route::Forward(Plan::Exec {
        peer,
        queued,
        watched,
    })
}

/// Keyless commands: FLUSHALL/FLUSHDB everywhere; DBSIZE/KEYS everywhere when configured.
fn keyspace_wide(
    node: &Node,
    client: &Client,
    command: &Command,
    args: &[&[u8]],
    topology: &Topology,
) -> Route {
    // A request that was forwarded here is this node's part of a fan-out.
    if client.peer.hops > 0 {
        return Route::Local;
    }
    if command.name == "scan" && node.forward.settings.whole_keyspace() {
        return scan(args, topology);
    }
    let merge = match command.name {
        "flushall" | "flushdb" => Merge::AllOk,
        "dbsize" if node.forward.settings.whole_keyspace() => Merge::Sum,
        "keys" if node.forward.settings.whole_keyspace() => Merge::Concat,
        _ => return Route::Local,
    };
    let owned: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    let me = topology.myself().id;
    let mut parts = vec![Part {
        peer: None,
        args: owned.clone(),
        positions: Vec::new(),
    }];
    for member in topology.live_members().filter(|m| m.id != me) {
        parts.push(Part {
            peer: Some(member.client),
            args: owned.clone(),
            positions: Vec::new(),
        });
    }
    Route::Forward(Plan::Split {
        parts,
        merge,
        keys: 0,
    })
}

/// Bits of a whole-cluster SCAN cursor below the node index.
const SCAN_NODE_SHIFT: u32 = 56;

/// `SCAN` over the whole cluster: the cursor's top byte is the index of the node being
/// scanned among the live members (sorted by id), the rest is that node's own cursor. The
/// node's reply gets its cursor rewritten; when the node is done, the next node starts.
fn scan(args: &[&[u8]], topology: &Topology) -> Route {
    let Some(cursor) = crate::command::parse::cursor(args[1]) else {
        return Route::Refuse(Error::msg("ERR invalid cursor"));
    };
    let index = cursor >> SCAN_NODE_SHIFT;
    let inner = cursor & ((1 << SCAN_NODE_SHIFT) - 1);
    let members: Vec<_> = topology.live_members().collect();
    let Some(member) = usize::try_from(index).ok().and_then(|i| members.get(i)) else {
        // A cursor past the last node (the cluster shrank): the iteration is over.
        return Route::Refuse(Error::msg("ERR invalid cursor"));
    };
    let mut owned: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    owned[1] = inner.to_string().into_bytes();
    let peer = (member.id != topology.myself().id).then_some(member.client);
    Route::Forward(Plan::Split {
        parts: vec![Part {
            peer,
            args: owned,
            positions: Vec::new(),
        }],
        merge: Merge::Scan {
            node: index,
            last: index + 1 >= members.len() as u64,
            shift: SCAN_NODE_SHIFT,
        },
        keys: 0,
    })
}
