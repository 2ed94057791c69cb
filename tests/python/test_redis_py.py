"""redis-py against a real shoal node: the calls applications make, unchanged."""

import time

import pytest
import redis


def test_strings_and_counters(r):
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == "hello"
    assert r.set("greeting", "other", nx=True) is None
    assert r.set("greeting", "bye", xx=True, get=True) == "hello"
    assert r.incr("hits") == 1
    assert r.incrby("hits", 10) == 11
    assert r.decr("hits") == 10
    assert r.incrbyfloat("price", 10.5) == 10.5
    assert r.incrbyfloat("price", 0.1) == pytest.approx(10.6)
    assert r.get("price") == "10.6"
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "b", "missing") == ["1", "2", None]
    assert r.append("a", "23") == 3
    assert r.getrange("a", 0, 1) == "12"
    assert r.strlen("a") == 3
    assert r.getdel("a") == "123"
    assert r.exists("a") == 0


def test_expiry_helpers(r):
    r.set("session", "data", ex=100)
    assert 99 <= r.ttl("session") <= 100
    assert r.pttl("session") > 99_000
    assert r.persist("session") is True
    assert r.ttl("session") == -1
    r.set("short", "x", px=100)
    time.sleep(0.3)
    assert r.get("short") is None
    # No TTL counts as infinite: GT cannot extend it, LT can set one.
    assert r.expire("session", 100, gt=True) is False
    assert r.expire("session", 50, lt=True) is True
    assert r.expire("session", 100, gt=True) is True
    assert r.expire("session", 10, gt=True) is False


def test_wrong_arguments_raise_response_errors_with_redis_texts(r):
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        r.execute_command("GET")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.set("n", "abc")
        r.incr("n")
    with pytest.raises(redis.ResponseError, match="unknown command 'NOSUCH'"):
        r.execute_command("NOSUCH", "x")
    # The connection keeps working after errors.
    assert r.ping() is True


def test_non_transactional_pipeline(r):
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"k{i}", i)
    for i in range(1000):
        pipe.get(f"k{i}")
    results = pipe.execute()
    assert results[:1000] == [True] * 1000
    assert results[1000:] == [str(i) for i in range(1000)]
    assert r.dbsize() == 1000


def test_scan_iter_sees_every_key(r):
    r.mset({f"user:{i}": i for i in range(500)})
    r.mset({f"other:{i}": i for i in range(100)})
    assert sorted(r.scan_iter(match="user:*", count=50)) == sorted(f"user:{i}" for i in range(500))
    assert len(r.keys("other:*")) == 100


def test_info_parses_and_counts_traffic(r):
    before = r.info("stats")["total_commands_processed"]
    r.set("x", 1)
    r.get("x")
    r.get("missing")
    info = r.info()
    for field in ("redis_version", "tcp_port", "connected_clients", "used_memory", "keyspace_hits"):
        assert field in info
    assert info["total_commands_processed"] >= before + 3
    assert info["db0"] == {"keys": 1, "expires": 0, "avg_ttl": 0, "subexpiry": 0}
    assert isinstance(r.info("memory")["used_memory"], int)
    assert r.info("nosuchsection") == {}


def test_client_commands_parse(r):
    r.client_setname("worker-1")
    assert r.client_getname() == "worker-1"
    mine = [c for c in r.client_list() if c["name"] == "worker-1"]
    assert len(mine) == 1 and mine[0]["db"] == "0"
    assert isinstance(r.client_id(), int)


def test_config_get_and_set(r):
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.config_set("timeout", 100) is True
    assert r.config_get("timeout") == {"timeout": "100"}
    r.config_set("timeout", 0)
    with pytest.raises(redis.ResponseError, match="can't set immutable config"):
        r.config_set("databases", 2)


def test_databases_by_url(node):
    client = redis.Redis.from_url(f"redis://127.0.0.1:{node.port}/2", decode_responses=True)
    client.set("in-db-2", "yes")
    assert client.connection_pool.connection_kwargs["db"] == 2
    default = node.client(decode_responses=True)
    assert default.get("in-db-2") is None
    default.select(2) if hasattr(default, "select") else default.execute_command("SELECT", 2)
    assert default.execute_command("GET", "in-db-2") == "yes"
    client.flushall()


def test_resp3_protocol(node):
    client = node.client(protocol=3, decode_responses=True)
    client.set("a", "1")
    assert client.get("a") == "1"
    assert client.config_get("maxclients") == {"maxclients": "10000"}
    hello = client.execute_command("HELLO", "3")
    assert hello["proto"] == 3
    client.close()
