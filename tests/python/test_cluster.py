"""redis-py's RedisCluster against a 3-node Shoal cluster: it reads CLUSTER SLOTS, routes each
key to its slot's primary, and follows -MOVED when its map is stale."""

import time

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from conftest import Node


@pytest.fixture(scope="module")
def cluster():
    first = Node()
    nodes = [first]
    seed = f"127.0.0.1:{first.cluster_port}"
    nodes += [Node(["--join", seed]) for _ in range(2)]
    deadline = time.time() + 30
    while True:
        views = [n.client(decode_responses=True).execute_command("CLUSTER", "INFO") for n in nodes]
        # Joined, done warming (each holds its slots' data) and agreeing on the topology.
        fields = [dict(l.split(":", 1) for l in v.splitlines() if ":" in l) for v in views]
        if (
            all(f.get("cluster_known_nodes") == "3" for f in fields)
            and all(f.get("shoal_phase") == "serving" for f in fields)
            and all(f.get("cluster_state") == "ok" for f in fields)
            and len({f.get("shoal_topology_epoch") for f in fields}) == 1
        ):
            break
        assert time.time() < deadline, views
        time.sleep(0.05)
    yield nodes
    for n in nodes:
        n.stop()


def test_cluster_client_reads_slots_and_routes_keys(cluster):
    rc = RedisCluster(
        startup_nodes=[ClusterNode("127.0.0.1", cluster[0].port)], decode_responses=True
    )
    for i in range(200):
        assert rc.set(f"py:{i}", i)
    for i in range(200):
        assert rc.get(f"py:{i}") == str(i)
    # Each key is on exactly one node, its slot's primary.
    assert sum(n.client().dbsize() for n in cluster) == 200
    slot = rc.keyslot("py:7")
    owner = rc.nodes_manager.get_node_from_slot(slot)
    direct = redis.Redis(host=owner.host, port=owner.port, decode_responses=True)
    assert direct.get("py:7") == "7"
    # Hash tags keep multi-key commands on one node.
    rc.mset_nonatomic({"{user1}:a": "1", "{user1}:b": "2"})
    assert rc.mget_nonatomic(["{user1}:a", "{user1}:b"]) == ["1", "2"]
    assert rc.mget("{user1}:a", "{user1}:b") == ["1", "2"]
    rc.close()


def _fan_out_counts_are_true(rc, cluster, prefix):
    """get_primaries(), dbsize(), keys() and scan_iter() against the true totals."""
    assert len(rc.get_primaries()) == 3
    assert {n.port for n in rc.get_primaries()} == {n.port for n in cluster}
    for n in cluster:
        n.client().flushall()
    for i in range(300):
        rc.set(f"{prefix}:{i}", i)
    truth = sum(n.client().dbsize() for n in cluster)
    assert truth == 300
    # Fan-out commands over every primary. (Without target_nodes, redis-py 8 sends DBSIZE and
    # KEYS to its default node only, against Redis Cluster as well.)
    primaries = RedisCluster.PRIMARIES
    assert rc.dbsize(target_nodes=primaries) == 300
    assert len(rc.keys(f"{prefix}:*", target_nodes=primaries)) == 300
    assert len(set(rc.scan_iter(match=f"{prefix}:*", count=50))) == 300


def test_redis_py_sees_every_node_as_a_primary_by_default(cluster):
    # redis-py takes a node's role from its first appearance in CLUSTER SLOTS; Shoal lists one
    # slot of each node with its primary alone first, so every node is met first as a primary.
    rc = RedisCluster(host="127.0.0.1", port=cluster[0].port, decode_responses=True)
    assert rc.get_replicas() == []
    _fan_out_counts_are_true(rc, cluster, "fan")
    # Replicas are still listed for every other slot.
    slots = rc.cluster_slots()
    with_replicas = [o for o in slots.values() if o["replicas"]]
    assert len(with_replicas) >= len(slots) - 3
    rc.close()


def test_without_replicas_in_cluster_slots_redis_py_sees_every_primary(cluster):
    for n in cluster:
        n.client().config_set("cluster-slots-replicas", "no")
    try:
        rc = RedisCluster(host="127.0.0.1", port=cluster[0].port, decode_responses=True)
        assert rc.get_replicas() == []
        _fan_out_counts_are_true(rc, cluster, "noreplicas")
        rc.close()
    finally:
        for n in cluster:
            n.client().config_set("cluster-slots-replicas", "yes")


def _shard_slot_count(shard):
    """Slots of one CLUSTER SHARDS entry: redis-py 8 gives (start, end) pairs, redis-py 7 a
    flat [start, end, start, end, ...] list."""
    slots = shard["slots"]
    if slots and isinstance(slots[0], (tuple, list)):
        pairs = slots
    else:
        pairs = list(zip(slots[0::2], slots[1::2]))
    return sum(int(end) - int(start) + 1 for start, end in pairs)


def test_cluster_slots_nodes_info_and_shards_parse(cluster):
    rc = RedisCluster(host="127.0.0.1", port=cluster[1].port, decode_responses=True)
    slots = rc.cluster_slots()
    assert sum(end - start + 1 for (start, end) in slots) == 16384
    ports = {n.port for n in cluster}
    lone = 0
    for (start, end), owners in slots.items():
        assert owners["primary"][1] in ports
        if not owners["replicas"]:
            # One slot per node is listed with its primary alone (see CLUSTER SLOTS order).
            assert start == end
            lone += 1
            continue
        assert len(owners["replicas"]) == 1
        assert owners["replicas"][0] != owners["primary"]
    assert lone == 3
    nodes = rc.cluster_nodes()
    assert len(nodes) == 3
    assert all("master" in n["flags"] and n["connected"] for n in nodes.values())
    info = rc.cluster_info()
    assert info["cluster_state"] == "ok"
    assert info["cluster_known_nodes"] == "3"
    shards = rc.cluster_shards()
    assert sum(_shard_slot_count(s) for s in shards) == 16384
    assert rc.cluster_keyslot("foo") == 12182
    rc.close()


def test_a_stale_client_follows_moved(cluster):
    rc = RedisCluster(host="127.0.0.1", port=cluster[0].port, decode_responses=True)
    slots = rc.cluster_slots()
    port = cluster[0].port
    key = next(
        f"moved:{i}"
        for i in range(10000)
        if _primary_port(slots, rc.keyslot(f"moved:{i}")) != port
    )
    plain = cluster[0].client(decode_responses=True)
    # In the default proxy mode the node forwards; in redirect mode it answers -MOVED.
    assert plain.set(key, "proxied")
    plain.config_set("cluster-mode", "redirect")
    try:
        with pytest.raises(redis.exceptions.ResponseError, match=r"^\d+ 127\.0\.0\.1:\d+$"):
            plain.set(key, "x")
    finally:
        plain.config_set("cluster-mode", "proxy")
    assert rc.get(key) == "proxied"
    assert rc.set(key, "x")
    assert rc.get(key) == "x"
    rc.close()


def test_plain_and_cluster_clients_run_the_same_workload(cluster):
    """A plain client on one node and RedisCluster write 2000 keys each; both read everything
    back, from every node for the plain client; MSET/MGET/DEL span nodes."""
    rc = RedisCluster(host="127.0.0.1", port=cluster[1].port, decode_responses=True)
    plain = cluster[0].client(decode_responses=True)
    pipe = plain.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"plain:{i}", i)
    pipe.execute()
    for i in range(2000):
        rc.set(f"rc:{i}", i)
    for node in cluster:
        c = node.client(decode_responses=True)
        pipe = c.pipeline(transaction=False)
        for i in range(2000):
            pipe.get(f"plain:{i}")
            pipe.get(f"rc:{i}")
        assert pipe.execute() == [str(i) for i in range(2000) for _ in range(2)]
    assert [rc.get(f"plain:{i}") for i in range(0, 2000, 97)] == [
        str(i) for i in range(0, 2000, 97)
    ]
    keys = [f"m:{i}" for i in range(50)]
    assert plain.mset({k: k for k in keys})
    assert cluster[2].client(decode_responses=True).mget(keys + ["nope"]) == keys + [None]
    assert plain.delete(*keys) == 50
    rc.close()


def test_transactions_and_blocking_pops_through_a_forwarding_node(cluster):
    plain = cluster[0].client(decode_responses=True)
    rc = RedisCluster(host="127.0.0.1", port=cluster[0].port, decode_responses=True)
    port = cluster[0].port
    tag = next(
        f"{{t{i}}}"
        for i in range(10000)
        if _primary_port(rc.cluster_slots(), rc.keyslot(f"{{t{i}}}")) != port
    )
    pipe = plain.pipeline(transaction=True)
    pipe.set(f"{tag}a", 1).incr(f"{tag}a").get(f"{tag}a")
    assert pipe.execute() == [True, 2, "2"]
    assert plain.blpop([f"{tag}list"], timeout=0.1) is None
    plain.rpush(f"{tag}list", "x")
    assert tuple(plain.blpop([f"{tag}list"], timeout=1)) == (f"{tag}list", "x")
    rc.close()


def _primary_port(slots, slot):
    for (start, end), owners in slots.items():
        if start <= slot <= end:
            return owners["primary"][1]
    raise AssertionError(f"slot {slot} not covered")


def test_read_from_replicas_reads_every_key(cluster):
    """read_from_replicas spreads reads over each slot's nodes (primary and replica); every
    read answers the value written, whichever node serves it."""
    rc = RedisCluster(
        host="127.0.0.1", port=cluster[0].port, decode_responses=True, read_from_replicas=True
    )
    for i in range(200):
        rc.set(f"rr:{i}", i)
    # The replicas have the writes before the reads start.
    for n in cluster:
        assert n.client().execute_command("WAIT", 1, 10000) == 1
    for _ in range(2):
        for i in range(200):
            assert rc.get(f"rr:{i}") == str(i)
    rc.close()
