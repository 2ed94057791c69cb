"""redis-py's own client-side cache against a Shoal cluster.

Shoal answers HELLO as Redis 7.4, so `redis.Redis(protocol=3, cache_config=CacheConfig())`
turns on redis-py's cache: the client runs CLIENT TRACKING and keeps replies locally until an
`invalidate` push names their key. The reader is always on node A; writers are plain clients
on the other nodes. The bound checked is the README's: a client never keeps a value past the
moment its node hears of the change (the peer stream's delay, here allowed 2 s on a shared,
noisy machine), and when a key's primary dies, the failure detection time
(`cluster-node-timeout`) plus those 2 s. Then the RESP2 forms: REDIRECT to a subscriber of
`__redis__:invalidate`, and BCAST with two prefixes.
"""

import bisect
import collections
import itertools
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.cache import CacheConfig, CacheEntryStatus
from redis.retry import Retry

from conftest import Node

BOUND = 2.0  # seconds an acknowledged write may take to reach the reader's cache
# Eviction and expiry stay on for the whole run; the eviction test lowers maxmemory on a node.
NODE_ARGS = ["--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru"]


def view(node):
    """What `node` says of the cluster: the ids it sees live, its phase, state, whether its
    topology settled, and the topology's epoch."""
    c = node.client(decode_responses=True, socket_timeout=2)
    info = c.execute_command("CLUSTER", "INFO")
    f = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    members = [m.split() for m in c.execute_command("CLUSTER", "NODES").splitlines()]
    live = sorted(m[0] for m in members if "fail" not in m[2].split(","))
    c.close()
    return (live, f.get("shoal_phase"), f.get("cluster_state"),
            f.get("shoal_topology_settled"), f.get("shoal_topology_epoch"))


def wait_agreed(nodes, timeout=60):
    """Until every node in `nodes` sees exactly them live, serves and agrees on the topology."""
    ids = sorted(n.client(decode_responses=True).execute_command("CLUSTER", "MYID") for n in nodes)
    deadline = time.monotonic() + timeout
    while True:
        try:
            views = [view(n) for n in nodes]
            if all(v[:4] == (ids, "serving", "ok", "1") for v in views) and \
                    len({v[4] for v in views}) == 1:
                return
        except redis.RedisError as e:  # a node just gone, or busy
            views = e
        assert time.monotonic() < deadline, views
        time.sleep(0.05)


def join(seed, args=()):
    return Node([*NODE_ARGS, *args, "--join", f"127.0.0.1:{seed.cluster_port}"])


def start_cluster(n, args=()):
    first = Node([*NODE_ARGS, *args])
    nodes = [first] + [join(first, args) for _ in range(n - 1)]
    wait_agreed(nodes)
    return nodes


def primary_port(client, key):
    slot = client.execute_command("CLUSTER", "KEYSLOT", key)
    for start, end, primary, *_ in client.execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return int(primary[1])
    raise AssertionError(f"slot {slot} not covered")


def keys_on(client, port, prefix, count=1):
    """`count` keys `prefix<i>` whose primary is the node at `port`."""
    found = (f"{prefix}{i}" for i in range(100_000) if primary_port(client, f"{prefix}{i}") == port)
    return [next(found) for _ in range(count)]


def caching_client(node):
    return node.client(protocol=3, cache_config=CacheConfig(), decode_responses=True,
                       socket_timeout=10)


def writer_without_retries(node):
    """A plain client that fails at once (redis-py retries connection errors for seconds)."""
    return node.client(decode_responses=True, socket_timeout=5, retry=Retry(NoBackoff(), 0))


def is_cached(client, key):
    """redis-py's cache (7.x and 8.x: `get_cache().collection`) holds a reply for `key`."""
    return any(
        key in k.redis_keys and e.status == CacheEntryStatus.VALID
        for k, e in list(client.get_cache().collection.items())
    )


def cached_read(client, read, key):
    """`read()` until redis-py holds its reply: an invalidation of an earlier write may cross a
    read and arrive after it (harmless, the value was already current), dropping the entry."""
    for _ in range(100):
        value = read()
        if is_cached(client, key):
            return value
        time.sleep(0.01)
    raise AssertionError(f"{key} never cached")


def get_calls(nodes):
    """GETs run on the cluster (a node counts the commands it runs, not those it forwards)."""
    stats = [n.client().info("commandstats").get("cmdstat_get", {}) for n in nodes]
    return sum(s.get("calls", 0) for s in stats)


def stale_reads(read, expected, acked_at, bound=BOUND):
    """Polls `read` until it returns `expected`; returns how many reads that began past
    `acked_at + bound` answered anything else (gives up 5 s past the bound)."""
    stale = 0
    while True:
        started = time.monotonic()
        if read() == expected:
            return stale
        if started > acked_at + bound:
            stale += 1
            if started > acked_at + bound + 5:
                return stale
        time.sleep(0.002)


@pytest.fixture(scope="module")
def cluster():
    nodes = start_cluster(3)
    yield nodes
    for n in nodes:
        n.stop()


@pytest.fixture
def reader(cluster):
    client = caching_client(cluster[0])
    yield client
    client.close()


def test_repeated_reads_are_served_from_the_cache(cluster, reader):
    a, b, c = cluster
    writer = b.client(decode_responses=True)
    keys = [k for n in cluster for k in keys_on(writer, n.port, "hit:", 2)]
    for k in keys:
        writer.set(k, k)
    time.sleep(0.3)  # the writes' invalidations have landed: none can cross the reads
    assert [cached_read(reader, lambda: reader.get(k), k) for k in keys] == keys
    before = get_calls(cluster)
    for _ in range(5):
        assert [reader.get(k) for k in keys] == keys
    # Thirty reads, not one of them sent to the cluster.
    assert get_calls(cluster) == before


def test_writes_through_other_nodes_reach_the_cache_within_the_bound(cluster, reader):
    a, b, c = cluster
    writers = [b.client(decode_responses=True), c.client(decode_responses=True)]
    stale = {}
    for i, owner in enumerate(cluster):
        w, other = writers[i % 2], writers[(i + 1) % 2]
        k, h, n, gone = keys_on(w, owner.port, f"w{i}:", 4)
        w.set(k, "v1")
        w.hset(h, mapping={"f": "1", "g": "x"})
        w.set(n, 10)
        w.set(gone, "here")
        assert (reader.get(k), reader.hget(h, "f"), reader.get(n), reader.get(gone)) == (
            "v1", "1", "10", "here")
        assert reader.hgetall(h) == {"f": "1", "g": "x"}
        checks = [
            ("SET", k, lambda: other.set(k, "v2"), lambda: reader.get(k), "v2"),
            ("HSET", h, lambda: w.hset(h, "f", "2"), lambda: reader.hget(h, "f"), "2"),
            ("HSET/HGETALL", h, lambda: other.hset(h, "g", "y"), lambda: reader.hgetall(h),
             {"f": "2", "g": "y"}),
            ("INCR", n, lambda: other.incr(n), lambda: reader.get(n), "11"),
            ("DEL", gone, lambda: w.delete(gone), lambda: reader.get(gone), None),
            ("SET again", k, lambda: w.set(k, "v3"), lambda: reader.get(k), "v3"),
        ]
        for name, key, write, read, expected in checks:
            cached_read(reader, read, key)  # the current value, cached again
            write()
            stale[f"{name} on node {i}"] = stale_reads(read, expected, time.monotonic())
    assert sum(stale.values()) == 0, stale


def test_expiry_reaches_the_cache(cluster, reader):
    a, b, c = cluster
    wb, wc = b.client(decode_responses=True), c.client(decode_responses=True)
    stale = {}
    for i, owner in enumerate(cluster):
        k1, k2 = keys_on(wb, owner.port, f"exp{i}:", 2)
        # A key written with a TTL, and a cached key given one by EXPIRE through another node.
        wb.set(k1, "v", px=1000)
        deadline1 = time.monotonic() + 1.0
        wb.set(k2, "v")
        assert cached_read(reader, lambda: reader.get(k1), k1) == "v"
        assert cached_read(reader, lambda: reader.get(k2), k2) == "v"
        assert wc.expire(k2, 1)
        deadline2 = time.monotonic() + 1.0
        stale[f"SET PX on node {i}"] = stale_reads(lambda: reader.get(k1), None, deadline1)
        stale[f"EXPIRE on node {i}"] = stale_reads(lambda: reader.get(k2), None, deadline2)
    assert sum(stale.values()) == 0, stale


def test_an_evicted_key_leaves_the_cache(cluster, reader):
    a, b, c = cluster
    writer = b.client(decode_responses=True)
    watcher = b.client(decode_responses=True)
    watcher.execute_command("CLIENT", "NO-TOUCH", "ON")  # EXISTS must not refresh its LRU clock
    owner = c.client(decode_responses=True)
    key = keys_on(writer, c.port, "evict:")[0]
    tag = "{" + keys_on(writer, c.port, "evtag")[0] + "}"  # filler on the same primary
    writer.set(key, "precious")
    assert cached_read(reader, lambda: reader.get(key), key) == "precious"
    owner.config_set("maxmemory", owner.info("memory")["used_memory"] + 1_000_000)
    filler = []
    try:
        while watcher.exists(key):
            assert len(filler) < 20_000, "the key was never evicted"
            batch = [f"{tag}fill:{len(filler) + i}" for i in range(50)]
            pipe = writer.pipeline(transaction=False)
            for f in batch:
                pipe.set(f, "x" * 4096)
            pipe.execute()
            filler += batch
        evicted = time.monotonic()
        assert owner.info("stats")["evicted_keys"] > 0
        assert stale_reads(lambda: reader.get(key), None, evicted) == 0
    finally:
        owner.config_set("maxmemory", "256mb")
        for i in range(0, len(filler), 500):
            writer.delete(*filler[i:i + 500])


def invalidation_listener(node, name):
    """A RESP2 subscriber of `__redis__:invalidate` (redis-py 8 defaults to RESP3), its client
    (closing the client would close the subscriber) and its id."""
    listener = node.client(decode_responses=True, protocol=2, client_name=name)
    sub = listener.pubsub()
    sub.subscribe("__redis__:invalidate")
    assert sub.get_message(timeout=5)["type"] == "subscribe"
    ids = [x["id"] for x in listener.client_list() if x["name"] == name and x["sub"] == "1"]
    return sub, listener, int(ids[0])


def read_invalidations(sub, wanted=(), quiet=None, timeout=10):
    """Keys named on `__redis__:invalidate` until every key of `wanted` was (or, with `quiet`,
    until no message came for `quiet` seconds)."""
    heard, wanted = set(), set(wanted)
    deadline = time.monotonic() + timeout
    while not wanted <= heard:
        assert time.monotonic() < deadline, f"no invalidation of {wanted - heard}; heard {heard}"
        msg = sub.get_message(timeout=quiet or 0.5)
        if msg is None and quiet:
            break
        if msg and msg["type"] == "message":
            assert msg["channel"] == "__redis__:invalidate"
            heard.update(msg["data"] or ["<all>"])
    return heard


def test_resp2_redirect_to_an_invalidate_subscriber(cluster):
    a, b, c = cluster
    sub, _listener, listener_id = invalidation_listener(a, "redirect-listener")
    tracker = a.client(decode_responses=True, protocol=2)
    tracker.client_tracking_on(clientid=listener_id)
    writer = b.client(decode_responses=True)
    for owner in cluster:
        keys = keys_on(writer, owner.port, "redir:", 3)
        # Never read: not announced (same slot as keys[0], so a message would come before).
        unread = "{" + keys[0] + "}unread"
        for k in keys:
            writer.set(k, "1")
        # A write's invalidation may cross the read after it (harmless, more often than
        # needed, and the key is no longer tracked): read those again until none comes.
        again = set(keys)
        while again:
            assert all(tracker.get(k) == "1" for k in again)
            again = read_invalidations(sub, quiet=0.3)
        writer.set(unread, "2")
        for k in keys:
            writer.set(k, "2")
        heard = read_invalidations(sub, keys)
        assert unread not in heard, heard
    sub.close()


def test_bcast_with_two_prefixes(cluster):
    a, b, c = cluster
    sub, _listener, listener_id = invalidation_listener(a, "bcast-listener")
    tracker = a.client(decode_responses=True, protocol=2)
    tracker.client_tracking_on(clientid=listener_id, bcast=True, prefix=["user:", "cart:"])
    writers = [b.client(decode_responses=True), c.client(decode_responses=True)]
    for i, owner in enumerate(cluster):
        users = keys_on(writers[0], owner.port, "user:", 2)
        carts = keys_on(writers[0], owner.port, "cart:", 2)
        others = keys_on(writers[0], owner.port, "other:", 2) + keys_on(
            writers[0], owner.port, "use:", 1)
        # Nobody read these keys: BCAST announces every key under a prefix, written anywhere.
        for j, k in enumerate(others + users + carts):
            writers[(i + j) % 2].set(k, "1")
        heard = read_invalidations(sub, users + carts)
        assert not heard & set(others), heard
    sub.close()


class Churn:
    """Writers (a thread per key) through the nodes other than A, and a caching reader on A,
    recording what they did: every write a new number per key, every read what it saw and
    when."""

    def __init__(self, reader, keys):
        self.reader, self.keys = reader, keys
        self.targets = []  # clients the writer goes through, in turn
        self.acked = {k: [] for k in keys}  # key -> [(acked_at, seq)]
        self.reads = []  # (key, started, seq or -1)
        self.hits = 0  # reads served from redis-py's cache
        self.errors = collections.Counter()  # failed writes (unknown outcome) and reads
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def write(self, k, turn):
        """Writes 1, 2, 3... to `k`, one write at a time, through the targets in turn."""
        seq = 0
        while not self.stop.is_set():
            seq += 1
            with self.lock:
                w = self.targets[turn % len(self.targets)]
            turn += 1
            try:
                w.set(k, seq, ex=60)
                self.acked[k].append((time.monotonic(), seq))
            except redis.RedisError as e:  # connection errors, -TRYAGAIN, -CLUSTERDOWN...
                self.errors[f"write {type(e).__name__}"] += 1
            time.sleep(0.05)

    def read(self):
        while not self.stop.is_set():
            for k in self.keys:
                self.hits += is_cached(self.reader, k)
                started = time.monotonic()
                try:
                    value = self.reader.get(k)
                except redis.RedisError as e:  # -TRYAGAIN while a primary is down...
                    self.errors[f"read {type(e).__name__}"] += 1
                    # redis-py 7 keeps its placeholder for the key after an error reply: the
                    # next read would send nothing and wait for a reply until the socket times
                    # out.
                    self.reader.get_cache().delete_by_redis_keys([k])
                    continue
                self.reads.append((k, started, -1 if value is None else int(value)))

    def stale(self, killed, detection):
        """Reads that began after an acknowledged write's deadline and saw an older value, and
        the longest any read lagged behind an acknowledged write. The deadline is the
        acknowledgement plus BOUND; for a write acknowledged after (or just before) the kill,
        no earlier than the kill plus the detection time plus BOUND."""
        reads = collections.defaultdict(list)
        for k, started, seq in self.reads:
            reads[k].append((started, seq))
        stale, worst = [], 0.0
        for k, writes in self.acked.items():  # in acknowledgement order, seq growing
            seqs = [seq for _, seq in writes]
            dues = sorted(
                (acked_at + BOUND if acked_at < killed - BOUND
                 else max(acked_at, killed + detection) + BOUND, seq)
                for acked_at, seq in writes)
            newest = list(itertools.accumulate((seq for _, seq in dues), max))
            for started, seq in reads[k]:
                i = bisect.bisect_right(dues, (started, float("inf")))
                if i and seq < newest[i - 1]:
                    stale.append((k, round(started - killed, 3), seq, newest[i - 1]))
                missed = bisect.bisect_right(seqs, seq)  # the first write this read did not see
                if missed < len(writes) and writes[missed][0] < started:
                    worst = max(worst, started - writes[missed][0])
        return stale, worst


def test_no_stale_read_through_a_kill_a_join_and_a_leave():
    nodes = start_cluster(3, ["--cluster-write-concern", "all"])  # no acknowledged write lost
    a, b, c = nodes
    timeout = a.client().config_get("cluster-node-timeout")["cluster-node-timeout"]
    keys = [k for n in nodes for k in keys_on(a.client(decode_responses=True), n.port, "churn:", 8)]
    churn = Churn(caching_client(a), keys)
    churn.targets = [writer_without_retries(b), writer_without_retries(c)]
    threads = [threading.Thread(target=churn.read)] + [
        threading.Thread(target=churn.write, args=(k, i)) for i, k in enumerate(keys)]
    try:
        for t in threads:
            t.start()
        begun = time.monotonic()
        time.sleep(2)
        # kill -9 a node other than the reader's.
        killed = time.monotonic()
        c.stop()
        with churn.lock:
            churn.targets = churn.targets[:1]
        wait_agreed([a, b])
        time.sleep(1)
        # A node joins, and the writers go through it too.
        d = join(a, ["--cluster-write-concern", "all"])
        nodes.append(d)
        wait_agreed([a, b, d])
        with churn.lock:
            churn.targets.append(writer_without_retries(d))
        time.sleep(1)
        # A graceful leave (SIGTERM): b hands its slots over, then goes.
        b.proc.terminate()
        assert b.proc.wait(timeout=40) == 0
        with churn.lock:
            churn.targets = churn.targets[1:]
        wait_agreed([a, d])
        time.sleep(BOUND + 1)  # reads past the deadline of the last writes
        ended = time.monotonic()
    finally:
        churn.stop.set()
        for t in threads:
            t.join()
        for n in nodes:
            n.stop()
    stale, worst = churn.stale(killed, int(timeout) / 1000)
    acked = sum(map(len, churn.acked.values()))
    summary = (f"{len(churn.reads)} reads ({churn.hits} found cached), {acked} writes "
               f"acknowledged, failed: {dict(churn.errors)}; longest lag {worst:.3f} s")
    print(summary)
    assert churn.hits > len(churn.reads) / 4 and acked > 500, summary
    # The reader read throughout (a read that hangs checks nothing meanwhile).
    starts = [begun] + [started for _, started, _ in churn.reads] + [ended]
    assert max(y - x for x, y in zip(starts, starts[1:])) < 5, "the reader paused"
    assert stale == [], f"{summary}; stale (key, since kill, seen, due): {stale[:20]}"
