//! Routing decisions as a table: (request, client state) → decision, on a 3-node ring.

use super::*;
use crate::command::table;
use shoal_cluster::{MemberState, NodeId, NodeIdentity};
use std::net::SocketAddr;

/// A 3-node topology seen from node 0, and for each node a few keys it is primary of.
fn three_nodes() -> (Topology, [Vec<String>; 3]) {
    let identity = |i: u8| {
        let addr = SocketAddr::from(([127, 0, 0, 1], 7000 + u16::from(i)));
        NodeIdentity::with_generation(NodeId::from_bytes([i + 1; 20]), addr, addr, 1)
    };
    let me = identity(0);
    let others = [1, 2].map(|i| (identity(i), MemberState::Alive));
    let topology = Topology::derive(&me, others, 64, 2, None);
    let mut keys: [Vec<String>; 3] = Default::default();
    for n in 0..10_000 {
        let key = format!("k{n}");
        let primary = topology.primary(key_slot(key.as_bytes())).client.port() - 7000;
        let bucket = &mut keys[usize::from(primary)];
        if bucket.len() < 3 {
            bucket.push(key);
        }
    }
    assert!(keys.iter().all(|k| k.len() == 3), "every node has keys");
    (topology, keys)
}

/// A short description of a decision, naming nodes by their index (port - 7000).
fn summary(decision: &Decision) -> String {
    let node = |p: &Peer| (p.addr.port() - 7000).to_string();
    let share = |s: &Share| match &s.node {
        Some(p) => format!("{}:{:?}", node(p), s.keys),
        None => format!("here:{:?}", s.keys),
    };
    match decision {
        Decision::Here => "here".into(),
        Decision::HereFixing { watch, transaction } => format!(
            "here fixing{}{}",
            if watch.is_some() { " watch" } else { "" },
            if transaction.is_some() {
                " transaction"
            } else {
                ""
            }
        ),
        Decision::HereEndingTransaction => "here ending transaction".into(),
        Decision::Refuse(error) => {
            let text = error.text();
            format!("refuse {}", text.split(' ').next().unwrap_or_default())
        }
        Decision::Remote {
            node: peer,
            session,
            watch,
        } => format!(
            "node {}{}{}",
            node(peer),
            if *session { " session" } else { "" },
            if watch.is_some() { " fixing watch" } else { "" }
        ),
        Decision::Split { shares, combine } => format!(
            "split {:?} {}",
            combine,
            shares.iter().map(share).collect::<Vec<_>>().join(" ")
        ),
        Decision::Everywhere { others, combine } => {
            format!("everywhere {:?} +{}", combine, others.len())
        }
        Decision::ScanNode {
            node: peer,
            index,
            last,
            inner,
        } => format!(
            "scan {} #{index} inner {inner}{}",
            peer.as_ref().map_or("here".into(), node),
            if *last { " last" } else { "" }
        ),
        Decision::Exec {
            node: peer,
            watched,
        } => format!(
            "exec on {}{}",
            node(peer),
            if *watched { " watched" } else { "" }
        ),
    }
}

fn decide_line(topology: &Topology, line: &str, client: &ClientView) -> String {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    let entry = table::find(args[0]).expect("a known command");
    let entry = if entry.command.subcommands.is_empty() {
        entry
    } else {
        table::find_sub(entry, args[1]).expect("a known subcommand")
    };
    summary(&decide(topology, entry.command, &args, client))
}

#[test]
fn decisions_follow_the_table() {
    let (topology, keys) = three_nodes();
    let [mine, one, two] = &keys;
    let (a, b) = (&mine[0], &mine[1]);
    let (x, y, z) = (&one[0], &one[1], &two[0]);
    let plain = ClientView::default();
    let forwarded = ClientView {
        hops: 1,
        ..ClientView::default()
    };
    let at_limit = ClientView {
        hops: MAX_HOPS,
        ..ClientView::default()
    };
    let redirecting = ClientView {
        redirect: true,
        ..ClientView::default()
    };
    let settling = ClientView {
        redirect: true,
        settling: true,
        ..ClientView::default()
    };
    let settling_in_multi = ClientView {
        multi: Some(MultiView::default()),
        ..settling
    };
    let whole = ClientView {
        whole_keyspace: true,
        ..ClientView::default()
    };
    let in_multi = ClientView {
        multi: Some(MultiView::default()),
        ..ClientView::default()
    };
    let multi_on_one = ClientView {
        multi: Some(MultiView {
            slot: Some(key_slot(x.as_bytes())),
            failed: false,
        }),
        ..ClientView::default()
    };
    let watching_one = ClientView {
        watch_slot: Some(key_slot(x.as_bytes())),
        multi: Some(MultiView::default()),
        ..ClientView::default()
    };
    let cases: Vec<(String, &ClientView, &str)> = vec![
        // Keys here, elsewhere, on several nodes.
        (format!("GET {a}"), &plain, "here"),
        (format!("MGET {a} {b}"), &plain, "here"),
        (format!("GET {x}"), &plain, "node 1"),
        (format!("SET {z} v"), &plain, "node 2"),
        (format!("BLPOP {x} 0"), &plain, "node 1 session"),
        (format!("RENAME {x} {y}"), &plain, "node 1"),
        (
            format!("MGET {a} {x} {z} {y}"),
            &plain,
            "split ByKey here:[0] 1:[1, 3] 2:[2]",
        ),
        (format!("DEL {x} {a}"), &plain, "split Sum 1:[0] here:[1]"),
        (
            format!("MSET {a} 1 {x} 2"),
            &plain,
            "split AllOk here:[0] 1:[1]",
        ),
        // An MSET key without its value runs here, where its handler refuses it.
        (format!("MSET {a} 1 {x}"), &plain, "here"),
        (format!("RENAME {a} {x}"), &plain, "refuse CROSSSLOT"),
        (
            format!("SINTERSTORE {a} {x} {z}"),
            &plain,
            "refuse CROSSSLOT",
        ),
        // Hops.
        (format!("GET {x}"), &forwarded, "node 1"),
        (format!("GET {x}"), &at_limit, "refuse TRYAGAIN"),
        (format!("GET {a}"), &at_limit, "here"),
        (format!("MGET {a} {x}"), &at_limit, "refuse TRYAGAIN"),
        // Redirect mode answers as Redis Cluster.
        (format!("GET {x}"), &redirecting, "refuse MOVED"),
        (format!("GET {a}"), &redirecting, "here"),
        (format!("MGET {x} {y}"), &redirecting, "refuse CROSSSLOT"),
        ("FLUSHALL".into(), &redirecting, "here"),
        // Just after a topology change, redirect mode forwards what it would redirect
        // (outside MULTI): the client may have come on a previous view's redirect.
        (format!("GET {x}"), &settling, "node 1"),
        (format!("GET {a}"), &settling, "here"),
        (format!("MGET {x} {y}"), &settling, "refuse CROSSSLOT"),
        (format!("GET {x}"), &settling_in_multi, "refuse MOVED"),
        (format!("WATCH {x}"), &settling, "refuse MOVED"),
        // Keyspace-wide commands.
        ("FLUSHALL".into(), &plain, "everywhere AllOk +2"),
        ("FLUSHDB".into(), &plain, "everywhere AllOk +2"),
        ("FLUSHALL".into(), &forwarded, "here"),
        ("DBSIZE".into(), &plain, "here"),
        ("DBSIZE".into(), &whole, "everywhere Sum +2"),
        ("KEYS *".into(), &whole, "everywhere Concat +2"),
        ("SCAN 0".into(), &plain, "here"),
        ("SCAN 0".into(), &whole, "scan here #0 inner 0"),
        (
            format!("SCAN {}", (2u64 << SCAN_NODE_SHIFT) | 17),
            &whole,
            "scan 2 #2 inner 17 last",
        ),
        (
            format!("SCAN {}", 3u64 << SCAN_NODE_SHIFT),
            &whole,
            "refuse ERR",
        ),
        ("PING".into(), &plain, "here"),
        // Transactions.
        (format!("WATCH {a}"), &plain, "here fixing watch"),
        (format!("WATCH {x}"), &plain, "node 1 session fixing watch"),
        (format!("WATCH {x} {z}"), &plain, "refuse CROSSSLOT"),
        (format!("SET {a} 1"), &in_multi, "here fixing transaction"),
        (format!("SET {x} 1"), &in_multi, "here fixing transaction"),
        (format!("SET {y} 1"), &multi_on_one, "here"),
        (format!("SET {z} 1"), &multi_on_one, "refuse CROSSSLOT"),
        (format!("SET {a} 1"), &watching_one, "refuse CROSSSLOT"),
        ("EXEC".into(), &multi_on_one, "exec on 1"),
        ("EXEC".into(), &watching_one, "exec on 1 watched"),
        ("EXEC".into(), &in_multi, "here"),
        ("EXEC".into(), &plain, "here"),
        ("DISCARD".into(), &in_multi, "here ending transaction"),
        ("RESET".into(), &plain, "here ending transaction"),
        ("MULTI".into(), &in_multi, "here"),
        (format!("WATCH {x}"), &in_multi, "here"),
    ];
    for (line, client, expected) in cases {
        assert_eq!(
            decide_line(&topology, &line, client),
            expected,
            "{line} {client:?}"
        );
    }
}

#[test]
fn a_failed_transaction_and_a_local_one_end_here() {
    let (topology, keys) = three_nodes();
    let failed = ClientView {
        multi: Some(MultiView {
            slot: Some(key_slot(keys[1][0].as_bytes())),
            failed: true,
        }),
        ..ClientView::default()
    };
    assert_eq!(
        decide_line(&topology, "EXEC", &failed),
        "here ending transaction"
    );
    let local = ClientView {
        multi: Some(MultiView {
            slot: Some(key_slot(keys[0][0].as_bytes())),
            failed: false,
        }),
        ..ClientView::default()
    };
    assert_eq!(
        decide_line(&topology, "EXEC", &local),
        "here ending transaction"
    );
}

#[test]
fn a_single_node_runs_everything_and_a_node_not_joined_refuses_keys() {
    let addr = SocketAddr::from(([127, 0, 0, 1], 7000));
    let me = NodeIdentity::with_generation(NodeId::from_bytes([1; 20]), addr, addr, 1);
    let alone = Topology::single(&me, 64, 2);
    let plain = ClientView::default();
    for line in ["GET k", "MGET a b c", "FLUSHALL", "EXEC", "SCAN 0"] {
        assert_eq!(decide_line(&alone, line, &plain), "here", "{line}");
    }
    let waiting = Topology::single(&me, 64, 2).awaiting_join(true);
    assert_eq!(decide_line(&waiting, "GET k", &plain), "refuse CLUSTERDOWN");
    assert_eq!(decide_line(&waiting, "PING", &plain), "here");
    assert_eq!(decide_line(&waiting, "DBSIZE", &plain), "here");
}

#[test]
fn readonly_clients_read_keys_this_node_replicates_here() {
    let (topology, keys) = three_nodes();
    // A key node 0 replicates (owner but not primary) and one it does not hold at all.
    let mut replicated = None;
    let mut elsewhere = None;
    for n in 0..10_000 {
        let key = format!("r{n}");
        let slot = key_slot(key.as_bytes());
        if topology.is_owner(slot) && !topology.is_primary(slot) {
            replicated.get_or_insert(key);
        } else if !topology.is_owner(slot) {
            elsewhere.get_or_insert(key);
        }
    }
    let (replicated, elsewhere) = (
        replicated.expect("a replicated key"),
        elsewhere.expect("a key held elsewhere"),
    );
    let mine = &keys[0][0];
    let readonly = ClientView {
        replica_reads: true,
        ..ClientView::default()
    };
    let readonly_redirect = ClientView {
        replica_reads: true,
        redirect: true,
        ..ClientView::default()
    };
    let in_multi = ClientView {
        replica_reads: true,
        multi: Some(MultiView::default()),
        ..ClientView::default()
    };
    let t = &topology;
    assert_eq!(
        decide_line(t, &format!("GET {replicated}"), &readonly),
        "here"
    );
    assert_eq!(
        decide_line(t, &format!("GET {replicated}"), &readonly_redirect),
        "here"
    );
    assert_eq!(
        decide_line(t, &format!("MGET {replicated} {mine}"), &readonly),
        "here"
    );
    // Without READONLY the primary serves it.
    let primary = t.primary(key_slot(replicated.as_bytes())).client.port() - 7000;
    assert_eq!(
        decide_line(t, &format!("GET {replicated}"), &ClientView::default()),
        format!("node {primary}")
    );
    // Writes, keys held elsewhere and transactions still go to the primary.
    assert_eq!(
        decide_line(t, &format!("SET {replicated} v"), &readonly),
        format!("node {primary}")
    );
    assert!(decide_line(t, &format!("GET {elsewhere}"), &readonly).starts_with("node "));
    assert_eq!(
        decide_line(t, &format!("GET {replicated}"), &readonly_redirect.clone()),
        "here"
    );
    assert_ne!(
        decide_line(t, &format!("GET {replicated}"), &in_multi),
        "here"
    );
}
