//! Where a request runs: a pure decision from the topology, the command's table entry, its
//! arguments and what the client's state says about it.
//!
//! [`decide`] reads nothing else and changes nothing: the caller (`request::execute`) applies
//! the [`Decision`] (remembers the slot a transaction was fixed to, forgets a session, builds
//! the plan of what goes where). How a command is placed beyond its keys comes from its
//! table entry ([`Routing`]), never from its name. The rules:
//!
//! - A node that was given seeds and has not joined its cluster, or that is fenced (paused or
//!   cut off from the others, see `cluster::Lease`), refuses commands with keys
//!   (`-CLUSTERDOWN`) and runs the rest.
//! - One node owning every slot: everything runs here.
//! - Redirect mode (`cluster-mode redirect`, for a client's own request): a command whose keys
//!   are all here runs; keys of one other slot get `-MOVED slot ip:port`, keys of several
//!   slots `-CROSSSLOT`. Keyless commands run here. While not every member was seen on this
//!   node's topology (just after a change), a command outside MULTI that would get `-MOVED`
//!   is forwarded as in proxy mode instead: a node still routing by the previous topology may
//!   have redirected the client here, and it is not redirected twice.
//! - Proxy mode: a command whose keys all have this node as primary runs here (even across
//!   slots); keys with one other primary go there whole (a blocking command or WATCH on the
//!   client's own session to it); keys on several nodes are split per node when the command
//!   says so ([`Routing::Split`]), else refused with `-CROSSSLOT`. Keyless commands run here,
//!   except the keyspace-wide ones ([`Routing::Everywhere`], [`Routing::WholeKeyspace`],
//!   [`Routing::ScanNodes`]).
//! - Inside MULTI commands are queued here; the first key (or the first WATCHed one) fixes the
//!   node the transaction runs on, a key of another node is refused with `-CROSSSLOT`, and
//!   EXEC sends the whole block to that node if it is not this one.
//! - A client that sent `READONLY`: a read-only command whose keys all belong to slots this
//!   node owns, as primary or replica, runs here (outside MULTI), in either mode.
//! - A forwarded request carries a hop count; one that would be forwarded once more than
//!   [`MAX_HOPS`] allows is answered `-TRYAGAIN`, so nodes whose views of the ring differ for
//!   a moment cannot pass a request back and forth forever.

use crate::command::{Combine, Command, Routing, parse};
use crate::error::Error;
use crate::peer::Peer;
use shoal_cluster::Topology;
use shoal_cluster::slot::{Slot, key_slot};
use smallvec::SmallVec;

/// Most times a request may be forwarded.
pub const MAX_HOPS: u8 = 3;

/// Bits of a whole-cluster SCAN cursor below the node index.
pub const SCAN_NODE_SHIFT: u32 = 56;

const CROSSSLOT: Error = Error::msg("CROSSSLOT Keys in request don't hash to the same slot");
const CLUSTERDOWN: Error = Error::msg("CLUSTERDOWN The cluster is down");
const HOP_LIMIT: Error = Error::msg(
    "TRYAGAIN Forwarding hop limit reached: the nodes disagree on the slot's owner (topology change in progress)",
);

/// What the client's state says about a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientView {
    /// Times the request was forwarded already (0: a client's own request).
    pub hops: u8,
    /// `cluster-mode redirect`.
    pub redirect: bool,
    /// `cluster-keyspace-commands whole`.
    pub whole_keyspace: bool,
    /// Inside MULTI: the transaction's state.
    pub multi: Option<MultiView>,
    /// The slot of the first key the client WATCHes.
    pub watch_slot: Option<Slot>,
    /// The client sent `READONLY`: a read of keys this node owns as a replica runs here.
    pub replica_reads: bool,
    /// The node is fenced (see `cluster::Lease`): its topology may be out of date.
    pub fenced: bool,
    /// Not every member was seen on this node's topology yet (see `cluster::Lease::settled`):
    /// a client may have been sent here by a node that routes by the previous one.
    pub settling: bool,
}

/// A transaction being queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MultiView {
    /// The slot of the first key queued.
    pub slot: Option<Slot>,
    /// A command was refused while queuing (EXEC will answer EXECABORT).
    pub failed: bool,
}

/// One node's share of a split request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// `None`: this node.
    pub node: Option<Peer>,
    /// Indexes (among the request's keys) of the keys that go there, in request order.
    pub keys: Vec<usize>,
}

/// Where a request runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Run it here.
    Here,
    /// Run it here (WATCH, or a command queued in MULTI) and remember `slot` as the slot the
    /// client's WATCHes (`watch`) or transaction (`transaction`) are bound to, unless one is.
    HereFixing {
        watch: Option<Slot>,
        transaction: Option<Slot>,
    },
    /// Run it here and forget where the transaction was going (DISCARD, UNWATCH, RESET).
    HereEndingTransaction,
    /// Answer this error (`-CROSSSLOT`, `-MOVED`, `-CLUSTERDOWN`, `-TRYAGAIN`...).
    Refuse(Error),
    /// Send the whole request to `node`; on the client's own session when `session` (blocking
    /// commands, WATCH). `watch`: the slot to remember as the WATCHes' (WATCH).
    Remote {
        node: Peer,
        session: bool,
        watch: Option<Slot>,
    },
    /// Split it per node; the replies are combined.
    Split {
        shares: Vec<Share>,
        combine: Combine,
    },
    /// Run it on every live node (this one included); the replies are combined.
    Everywhere { others: Vec<Peer>, combine: Combine },
    /// Whole-cluster SCAN: run it on one node with its own cursor `inner`.
    ScanNode {
        node: Option<Peer>,
        index: u64,
        last: bool,
        inner: u64,
    },
    /// Send the queued transaction to `node`; `watched`: its WATCHes were taken there.
    Exec { node: Peer, watched: bool },
}

/// Decides where `args` (a request for `command`) runs.
pub fn decide(
    topology: &Topology,
    command: &Command,
    args: &[&[u8]],
    client: &ClientView,
) -> Decision {
    let has_keys = command.keys.has_keys();
    if !topology.is_ok() || client.fenced {
        return if has_keys {
            Decision::Refuse(CLUSTERDOWN)
        } else {
            Decision::Here
        };
    }
    if topology.slots().nodes().len() <= 1 {
        return Decision::Here;
    }
    if client.replica_reads
        && client.multi.is_none()
        && has_keys
        && command.has(crate::command::flag::READONLY)
        && command
            .keys
            .positions(args)
            .into_iter()
            .filter_map(|i| args.get(i))
            .all(|key| topology.is_owner(key_slot(key)))
    {
        return Decision::Here;
    }
    if client.redirect && client.hops == 0 {
        return match redirect(topology, command, args) {
            // A node with the previous topology may have sent the client here: forwarding
            // spares it a second redirect.
            Decision::Refuse(moved)
                if client.settling
                    && client.multi.is_none()
                    && command.routing != Routing::Watch
                    && moved.text().starts_with("MOVED") =>
            {
                keyed(topology, command, args, client)
            }
            decision => decision,
        };
    }
    match command.routing {
        Routing::Subscription => return Decision::Here,
        Routing::Exec => return exec(topology, client),
        Routing::EndsTransaction => return Decision::HereEndingTransaction,
        Routing::Here => return Decision::Here,
        _ => {}
    }
    if let Some(multi) = client.multi {
        // WATCH inside MULTI is refused by its handler, here.
        if command.routing == Routing::Watch {
            return Decision::Here;
        }
        return queue(topology, command, args, client, multi);
    }
    if !has_keys {
        return keyless(topology, command, args, client);
    }
    keyed(topology, command, args, client)
}

/// Each key's index in `args`, slot and primary (`None`: this node), in key order.
fn owners(
    topology: &Topology,
    command: &Command,
    args: &[&[u8]],
) -> SmallVec<[(usize, Slot, Option<Peer>); 8]> {
    command
        .keys
        .positions(args)
        .into_iter()
        .filter_map(|i| {
            let slot = key_slot(args.get(i)?);
            Some((i, slot, primary_elsewhere(topology, slot)))
        })
        .collect()
}

/// The primary of `slot`, unless it is this node.
fn primary_elsewhere(topology: &Topology, slot: Slot) -> Option<Peer> {
    (!topology.is_primary(slot)).then(|| {
        let primary = topology.primary(slot);
        Peer {
            id: primary.id,
            addr: primary.client,
        }
    })
}

/// Redis Cluster's answer: here, `-MOVED`, or `-CROSSSLOT`.
fn redirect(topology: &Topology, command: &Command, args: &[&[u8]]) -> Decision {
    let mut first: Option<Slot> = None;
    let mut remote: Option<Slot> = None;
    let mut one_slot = true;
    for position in command.keys.positions(args) {
        let Some(key) = args.get(position) else {
            continue;
        };
        let slot = key_slot(key);
        match first {
            None => first = Some(slot),
            Some(seen) if seen != slot => one_slot = false,
            Some(_) => {}
        }
        if remote.is_none() && !topology.is_primary(slot) {
            remote = Some(slot);
        }
    }
    let Some(slot) = remote else {
        return Decision::Here;
    };
    if !one_slot {
        return Decision::Refuse(CROSSSLOT);
    }
    let primary = topology.primary(slot).client;
    Decision::Refuse(Error::Other(
        format!("MOVED {slot} {}:{}", primary.ip(), primary.port()).into(),
    ))
}

/// A command with keys, outside MULTI.
fn keyed(topology: &Topology, command: &Command, args: &[&[u8]], client: &ClientView) -> Decision {
    let keys = owners(topology, command, args);
    let Some(&(_, first_slot, first)) = keys.first() else {
        return Decision::Here;
    };
    let watching = command.routing == Routing::Watch;
    if watching && let Some(error) = transaction_mismatch(topology, client.watch_slot, &keys) {
        return Decision::Refuse(error);
    }
    let watch = (watching && client.watch_slot.is_none()).then_some(first_slot);
    if keys.iter().all(|k| k.2 == first) {
        let Some(node) = first else {
            return match watch {
                Some(_) => Decision::HereFixing {
                    watch,
                    transaction: None,
                },
                None => Decision::Here,
            };
        };
        if client.hops >= MAX_HOPS {
            return Decision::Refuse(HOP_LIMIT);
        }
        let session = watching || command.has(crate::command::flag::BLOCKING);
        return Decision::Remote {
            node,
            session,
            watch,
        };
    }
    if client.hops >= MAX_HOPS {
        return Decision::Refuse(HOP_LIMIT);
    }
    let Routing::Split(combine) = command.routing else {
        return Decision::Refuse(CROSSSLOT);
    };
    // Arguments that do not come in whole steps (an MSET key without its value): the
    // handler answers the arity error.
    let step = command.keys.step.max(1);
    if !(args.len() - command.keys.first).is_multiple_of(step) {
        return Decision::Here;
    }
    let mut shares: Vec<Share> = Vec::new();
    for (order, &(_, _, owner)) in keys.iter().enumerate() {
        match shares.iter_mut().find(|s| s.node == owner) {
            Some(share) => share.keys.push(order),
            None => shares.push(Share {
                node: owner,
                keys: vec![order],
            }),
        }
    }
    Decision::Split { shares, combine }
}

/// Whether `keys` can join a transaction bound to `slot` (or to the first key when none is
/// bound yet): `-CROSSSLOT` when one of them has another primary.
fn transaction_mismatch(
    topology: &Topology,
    slot: Option<Slot>,
    keys: &[(usize, Slot, Option<Peer>)],
) -> Option<Error> {
    let owner = topology
        .primary(slot.or_else(|| keys.first().map(|k| k.1))?)
        .id;
    keys.iter()
        .any(|k| topology.primary(k.1).id != owner)
        .then_some(CROSSSLOT)
}

/// A command being queued inside MULTI: the first key fixes the transaction's node.
fn queue(
    topology: &Topology,
    command: &Command,
    args: &[&[u8]],
    client: &ClientView,
    multi: MultiView,
) -> Decision {
    let keys = owners(topology, command, args);
    let bound = client.watch_slot.or(multi.slot);
    if let Some(error) = transaction_mismatch(topology, bound, &keys) {
        return Decision::Refuse(error);
    }
    match keys.first() {
        Some(first) if multi.slot.is_none() => Decision::HereFixing {
            watch: None,
            transaction: Some(first.1),
        },
        _ => Decision::Here,
    }
}

/// EXEC: here, or the whole block to the node its keys (or WATCHes) are on.
fn exec(topology: &Topology, client: &ClientView) -> Decision {
    let Some(multi) = client.multi else {
        return Decision::Here;
    };
    let Some(slot) = client.watch_slot.or(multi.slot) else {
        return Decision::Here;
    };
    if multi.failed || topology.is_primary(slot) {
        return Decision::HereEndingTransaction;
    }
    if client.hops >= MAX_HOPS {
        return Decision::Refuse(HOP_LIMIT);
    }
    let Some(node) = primary_elsewhere(topology, slot) else {
        return Decision::HereEndingTransaction;
    };
    let watched = client.watch_slot.is_some_and(|s| !topology.is_primary(s));
    Decision::Exec { node, watched }
}

/// Keyless commands: the keyspace-wide ones go everywhere (or node by node); the rest run
/// here.
fn keyless(
    topology: &Topology,
    command: &Command,
    args: &[&[u8]],
    client: &ClientView,
) -> Decision {
    // A request that was forwarded here is this node's part of a fan-out.
    if client.hops > 0 {
        return Decision::Here;
    }
    let combine = match command.routing {
        Routing::Everywhere(combine) => combine,
        Routing::WholeKeyspace(combine) if client.whole_keyspace => combine,
        Routing::ScanNodes if client.whole_keyspace => return scan(topology, args),
        _ => return Decision::Here,
    };
    let me = topology.myself().id;
    let others = topology
        .live_members()
        .filter(|m| m.id != me)
        .map(|m| Peer {
            id: m.id,
            addr: m.client,
        })
        .collect();
    Decision::Everywhere { others, combine }
}

/// `SCAN` over the whole cluster: the cursor's top byte is the index of the node being
/// scanned among the live members (sorted by id), the rest is that node's own cursor.
fn scan(topology: &Topology, args: &[&[u8]]) -> Decision {
    let Some(cursor) = args.get(1).and_then(|c| parse::cursor(c)) else {
        return Decision::Refuse(Error::msg("ERR invalid cursor"));
    };
    let index = cursor >> SCAN_NODE_SHIFT;
    let inner = cursor & ((1 << SCAN_NODE_SHIFT) - 1);
    let members: Vec<_> = topology.live_members().collect();
    let Some(member) = usize::try_from(index).ok().and_then(|i| members.get(i)) else {
        // A cursor past the last node (the cluster shrank): the iteration is over.
        return Decision::Refuse(Error::msg("ERR invalid cursor"));
    };
    let node = (member.id != topology.myself().id).then_some(Peer {
        id: member.id,
        addr: member.client,
    });
    Decision::ScanNode {
        node,
        index,
        last: index + 1 >= members.len() as u64,
        inner,
    }
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
