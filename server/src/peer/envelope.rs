//! The internal commands of peer links, and the envelope requests travel in.
//!
//! - `SHOAL.NONCE` answers a fresh nonce (bulk string) and remembers it for this connection.
//! - `SHOAL.AUTH <proof>` checks the proof of that nonce under the cluster secret (see
//!   `shoal_cluster::peer_auth`); the nonce is used up either way. `+OK` marks the connection
//!   as a peer link.
//! - `SHOAL.FWD <hops> <db> <proto> <tracker> <command> [arg...]` runs `command` in database
//!   `db`, with replies in RESP `proto` (2 or 3), as the `hops`-th forwarding of a client's
//!   request. `tracker` is `-`, or `<node-id>/<generation>` when the client tracks keys
//!   (`CLIENT TRACKING`): this node then sends that node invalidations (see `tracking`).
//!   Only an authenticated connection may send it; others get `-NOAUTH`.
//!
//! - `SHOAL.STREAM <node-id> <epoch> <first-seq>` turns an authenticated connection into the
//!   receiving end of that node's message stream (see `stream`); `+OK`.
//! - `SHOAL.MSG <seq> <kind> [arg...]`: one message of the stream, in order. No reply. A
//!   message numbered past the next one means messages were lost (dropped by the sender):
//!   they are counted and replication resyncs. A message numbered before it, or on a
//!   connection that is not a stream, closes the connection.
//! - `SHOAL.BARRIER` answers where this node's streams stand (see `crate::replication`), and
//!   `SHOAL.ACHIEVED <barrier>` how many replicas have acknowledged everything before that
//!   barrier: how a node answers `WAIT` for writes it forwarded.
//! - `SHOAL.EPOCH` answers this node's topology epoch (decimal, bulk string): how a node
//!   that may have been left behind learns whether the others agree with its topology (see
//!   `crate::cluster::Lease`).
//!
//! The database and protocol stay selected on the link's connection after the command (every
//! envelope names them again), so a blocking command waits and is retried with the client's.
//! None of these is in the command table: `COMMAND` does not list them.

use super::stream::{Incoming, Message};
use crate::client::Client;
use crate::command::parse;
use crate::node::Node;
use crate::protocol::{Protocol, Reply};
use crate::request::{After, Outcome};

/// Whether `name` is one of the internal commands (`SHOAL.*`).
pub fn is_internal(name: &[u8]) -> bool {
    name.len() > 6 && name[..6].eq_ignore_ascii_case(b"shoal.")
}

/// Runs an internal command.
pub fn execute(node: &Node, client: &mut Client, args: &[&[u8]], now: u64) -> Outcome {
    let name = &args[0][6..];
    if name.eq_ignore_ascii_case(b"nonce") && args.len() == 1 {
        let nonce = shoal_cluster::peer_auth::nonce();
        let reply = Reply::bulk(nonce.as_bytes());
        client.peer.nonce = Some(nonce);
        return Outcome::Reply(reply);
    }
    if name.eq_ignore_ascii_case(b"auth") && args.len() == 2 {
        let secret = node.forward.secret.as_deref();
        let nonce = client.peer.nonce.take();
        let valid = nonce.is_some_and(|nonce| {
            shoal_cluster::peer_auth::verify(secret, nonce.as_bytes(), args[1])
        });
        if !valid {
            tracing::warn!(client = %client.info.addr, "peer link authentication failed");
            return refuse(node, Reply::err("WRONGPASS invalid peer link proof"));
        }
        client.peer.authenticated = true;
        return Outcome::Reply(Reply::Ok);
    }
    if name.eq_ignore_ascii_case(b"fwd") && args.len() >= 6 {
        if !client.peer.authenticated {
            return refuse(node, Reply::err("NOAUTH Authentication required."));
        }
        return forwarded(node, client, args, now);
    }
    if name.eq_ignore_ascii_case(b"stream") && args.len() == 4 {
        if !client.peer.authenticated {
            return refuse(node, Reply::err("NOAUTH Authentication required."));
        }
        return open_stream(node, client, args);
    }
    if name.eq_ignore_ascii_case(b"msg") && args.len() >= 3 {
        return stream_message(node, client, args);
    }
    if name.eq_ignore_ascii_case(b"barrier") && args.len() == 1 {
        if !client.peer.authenticated {
            return refuse(node, Reply::err("NOAUTH Authentication required."));
        }
        return Outcome::Reply(Reply::bulk(
            crate::replication::Barrier::now(node).render().as_bytes(),
        ));
    }
    if name.eq_ignore_ascii_case(b"epoch") && args.len() == 1 {
        if !client.peer.authenticated {
            return refuse(node, Reply::err("NOAUTH Authentication required."));
        }
        let epoch = node.cluster.get().map_or(0, |c| c.topology.load().epoch());
        return Outcome::Reply(Reply::bulk(epoch.to_string().as_bytes()));
    }
    if name.eq_ignore_ascii_case(b"achieved") && args.len() == 2 {
        if !client.peer.authenticated {
            return refuse(node, Reply::err("NOAUTH Authentication required."));
        }
        return Outcome::Reply(match crate::replication::Barrier::parse(args[1]) {
            Some(barrier) => Reply::Int(barrier.achieved(node) as i64),
            None => Reply::err("ERR malformed SHOAL.ACHIEVED"),
        });
    }
    Outcome::Reply(Reply::Error(
        format!(
            "ERR unknown command '{}'",
            crate::error::truncate(&parse::text(args[0]), 128)
        )
        .into(),
    ))
}

/// Counts a refused internal request (`shoal_peer_stream_refused_total`).
fn note_refused(node: &Node) {
    node.forward
        .streams
        .stats
        .refused
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Counts a refused internal request and answers `reply`.
fn refuse(node: &Node, reply: Reply) -> Outcome {
    note_refused(node);
    Outcome::Reply(reply)
}

/// `SHOAL.STREAM node-id epoch first-seq`.
fn open_stream(node: &Node, client: &mut Client, args: &[&[u8]]) -> Outcome {
    let number = |arg: &[u8]| {
        std::str::from_utf8(arg)
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
    };
    let from = std::str::from_utf8(args[1])
        .ok()
        .and_then(|t| t.parse::<shoal_cluster::NodeId>().ok());
    let (Some(from), Some(epoch), Some(next_seq)) = (from, number(args[2]), number(args[3])) else {
        return refuse(node, Reply::err("ERR malformed SHOAL.STREAM"));
    };
    let incoming = Incoming {
        from,
        epoch,
        next_seq,
    };
    let lost = node
        .forward
        .received
        .open(&node.forward.streams.stats, incoming);
    if lost > 0 {
        crate::replication::lost(node, from);
        // Invalidations may have been among them.
        node.tracking.flush(node);
    }
    client.peer.stream = Some(incoming);
    Outcome::Silent
}

/// `SHOAL.MSG seq kind args...`: a stream's next message.
fn stream_message(node: &Node, client: &mut Client, args: &[&[u8]]) -> Outcome {
    let Some(incoming) = client.peer.stream.as_mut() else {
        tracing::warn!(client = %client.info.addr, "stream message on a connection that is not a stream");
        note_refused(node);
        return Outcome::ReplyThen(Reply::err("ERR not a peer stream"), After::Close);
    };
    let seq = std::str::from_utf8(args[1])
        .ok()
        .and_then(|t| t.parse::<u64>().ok());
    let Some(seq) = seq.filter(|seq| *seq >= incoming.next_seq) else {
        tracing::warn!(
            from = %incoming.from,
            expected = incoming.next_seq,
            "peer stream out of order; closing it"
        );
        note_refused(node);
        return Outcome::ReplyThen(Reply::err("ERR peer stream out of order"), After::Close);
    };
    if seq > incoming.next_seq {
        let lost = seq - incoming.next_seq;
        tracing::warn!(from = %incoming.from, lost, "peer stream skipped messages the sender dropped");
        node.forward
            .streams
            .stats
            .lost
            .fetch_add(lost, std::sync::atomic::Ordering::Relaxed);
        crate::replication::lost(node, incoming.from);
        // Invalidations may have been among them.
        node.tracking.flush(node);
    }
    incoming.next_seq = seq + 1;
    node.forward
        .received
        .arrived(incoming.from, incoming.epoch, seq);
    let incoming = *incoming;
    match Message::parse(args[2], &args[3..]) {
        Some(message) => {
            if matches!(message, Message::Replicate { .. } | Message::Synced { .. }) {
                client.peer.ack_due = true;
            }
            super::stream::receive(node, &incoming, message)
        }
        None => {
            note_refused(node);
            tracing::debug!(kind = %String::from_utf8_lossy(args[2]), "unknown peer stream message")
        }
    }
    Outcome::Silent
}

/// `SHOAL.FWD hops db proto command...`.
fn forwarded(node: &Node, client: &mut Client, args: &[&[u8]], now: u64) -> Outcome {
    let number = |arg: &[u8]| crate::number::parse_int(arg);
    let hops = number(args[1]).and_then(|n| u8::try_from(n).ok());
    let db = number(args[2])
        .and_then(|n| usize::try_from(n).ok())
        .filter(|db| *db < node.store.databases());
    let protocol = match args[3] {
        b"2" => Some(Protocol::Resp2),
        b"3" => Some(Protocol::Resp3),
        _ => None,
    };
    let (Some(hops), Some(db), Some(protocol)) = (hops, db, protocol) else {
        return Outcome::Reply(Reply::err("ERR malformed SHOAL.FWD envelope"));
    };
    if args[4] != b"-" {
        // Registered before the request runs: a change after it reaches the tracker.
        match crate::tracking::parse_mark(args[4]) {
            Some((tracker, generation)) => node.tracking.track_remote(tracker, generation),
            None => return Outcome::Reply(Reply::err("ERR malformed SHOAL.FWD envelope")),
        }
    }
    client.peer.hops = hops;
    if client.db != db {
        client.select(db);
    }
    if client.protocol != protocol {
        client.set_protocol(protocol);
    }
    let inner = &args[5..];
    match crate::request::execute(node, client, inner, now) {
        // A blocking command waits on this connection and is run again later: with its own
        // arguments, not the envelope's.
        Outcome::Block(mut request) => {
            if request.args.is_none() {
                request.args = Some(inner.iter().map(|a| a.to_vec()).collect());
            }
            Outcome::Block(request)
        }
        other => other,
    }
}

/// A request for `client`, wrapped for the peer: the client's database and protocol, and one
/// more hop than the request had.
pub fn encode<A: AsRef<[u8]>>(client: &Client, args: &[A]) -> Vec<u8> {
    use super::link::{push_bulk, push_header};
    let size = args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>();
    let mut out = Vec::with_capacity(64 + size);
    push_header(&mut out, b'*', args.len() + 5);
    push_bulk(&mut out, b"SHOAL.FWD");
    let mut number = itoa::Buffer::new();
    push_bulk(
        &mut out,
        number.format(client.peer.hops.saturating_add(1)).as_bytes(),
    );
    push_bulk(&mut out, number.format(client.db).as_bytes());
    push_bulk(
        &mut out,
        number.format(client.protocol.version()).as_bytes(),
    );
    push_bulk(&mut out, client.tracking_mark.as_deref().unwrap_or(b"-"));
    for arg in args {
        push_bulk(&mut out, arg.as_ref());
    }
    out
}
