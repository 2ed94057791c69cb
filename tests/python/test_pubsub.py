"""redis-py's Pub/Sub against a Shoal node: pubsub() with get_message, listen, patterns,
sharded channels, run_in_thread, RESP3, and keyspace notifications."""

import threading
import time

import pytest
import redis


def _next(p, timeout=5.0):
    """The next message of a pubsub object (subscription confirmations included)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        message = p.get_message(timeout=0.1)
        if message is not None:
            return message
    raise AssertionError("no message")


def test_get_message_receives_confirmations_and_messages(r, node):
    p = r.pubsub()
    p.subscribe("news", "chat")
    assert _next(p) == {"type": "subscribe", "pattern": None, "channel": "news", "data": 1}
    assert _next(p) == {"type": "subscribe", "pattern": None, "channel": "chat", "data": 2}
    assert r.publish("news", "hello") == 1
    assert r.publish("nobody", "x") == 0
    assert _next(p) == {"type": "message", "pattern": None, "channel": "news", "data": "hello"}
    assert r.pubsub_channels() == ["chat", "news"] or sorted(r.pubsub_channels()) == ["chat", "news"]
    assert r.pubsub_numsub("news", "nope") == [("news", 1), ("nope", 0)]
    p.unsubscribe()
    kinds = sorted(_next(p)["channel"] for _ in range(2))
    assert kinds == ["chat", "news"]
    assert r.pubsub_channels() == []
    p.close()


def test_patterns_and_listen(r):
    p = r.pubsub(ignore_subscribe_messages=True)
    p.psubscribe("user:*")
    time.sleep(0.1)
    assert r.pubsub_numpat() == 1
    for i in range(3):
        r.publish(f"user:{i}", f"event {i}")
    got = []
    for message in p.listen():
        if message["type"] == "pmessage":
            got.append((message["pattern"], message["channel"], message["data"]))
        if len(got) == 3:
            break
    assert got == [("user:*", f"user:{i}", f"event {i}") for i in range(3)]
    p.close()


def test_run_in_thread_calls_handlers(r):
    received = []
    done = threading.Event()

    def handler(message):
        received.append(message["data"])
        if len(received) == 5:
            done.set()

    p = r.pubsub()
    p.subscribe(**{"jobs": handler})
    worker = p.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        deadline = time.time() + 5
        while r.pubsub_numsub("jobs")[0][1] == 0 and time.time() < deadline:
            time.sleep(0.01)
        for i in range(5):
            r.publish("jobs", f"job {i}")
        assert done.wait(5), received
        assert received == [f"job {i}" for i in range(5)]
    finally:
        worker.stop()
        p.close()


def test_sharded_pubsub(r):
    p = r.pubsub()
    p.ssubscribe("orders")
    assert _next(p)["type"] == "ssubscribe"
    assert r.spublish("orders", "o1") == 1
    message = _next(p)
    assert (message["type"], message["channel"], message["data"]) == ("smessage", "orders", "o1")
    assert r.pubsub_shardchannels() == ["orders"]
    assert r.pubsub_shardnumsub("orders") == [("orders", 1)]
    p.sunsubscribe()
    p.close()


def test_resp3_pubsub_with_commands_between_messages(node):
    r3 = node.client(decode_responses=True, protocol=3)
    r3.flushall()
    p = r3.pubsub()
    p.subscribe("news")
    assert _next(p)["type"] == "subscribe"
    r3.publish("news", "over resp3")
    assert _next(p)["data"] == "over resp3"
    p.close()
    r3.close()


def test_a_resp2_subscriber_cannot_run_other_commands(node):
    client = node.client(decode_responses=True, protocol=2)
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command("SUBSCRIBE", "x")
        conn.read_response()
        conn.send_command("GET", "x")
        with pytest.raises(redis.ResponseError, match="only \\(P\\|S\\)SUBSCRIBE"):
            conn.read_response()
    finally:
        conn.disconnect()


def test_keyspace_notifications(r):
    r.config_set("notify-keyspace-events", "KEA")
    try:
        p = r.pubsub(ignore_subscribe_messages=True)
        p.psubscribe("__keyspace@0__:*")
        time.sleep(0.1)
        r.set("watched", "1")
        r.expire("watched", 100)
        r.delete("watched")
        events = []
        deadline = time.time() + 5
        while len(events) < 3 and time.time() < deadline:
            message = p.get_message(timeout=0.1)
            if message:
                events.append((message["channel"], message["data"]))
        assert events == [
            ("__keyspace@0__:watched", "set"),
            ("__keyspace@0__:watched", "expire"),
            ("__keyspace@0__:watched", "del"),
        ]
        p.close()
    finally:
        r.config_set("notify-keyspace-events", "")
