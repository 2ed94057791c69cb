"""redis-py against shoal: the data types, transactions and blocking calls applications use."""

import threading
import time

import pytest
import redis


def test_transactional_pipeline_is_multi_exec(r):
    pipe = r.pipeline()  # transaction=True by default: MULTI ... EXEC
    pipe.set("a", 1).incr("a").get("a")
    assert pipe.execute() == [True, 2, "2"]


def test_pipeline_with_watch_retries_on_conflict(r, node):
    r.set("stock", 10)
    other = node.client(decode_responses=True)
    attempts = 0
    with r.pipeline() as pipe:
        while True:
            try:
                pipe.watch("stock")
                current = int(pipe.get("stock"))
                if attempts == 0:
                    other.decr("stock")  # a concurrent change: this attempt must fail
                attempts += 1
                pipe.multi()
                pipe.set("stock", current - 1)
                pipe.execute()
                break
            except redis.WatchError:
                continue
    assert attempts == 2
    assert r.get("stock") == "8"
    other.close()


def test_runtime_errors_inside_a_transaction_are_returned(r):
    r.set("text", "abc")
    pipe = r.pipeline()
    pipe.incr("text").set("ok", 1)
    with pytest.raises(redis.ResponseError, match="not an integer"):
        pipe.execute()
    assert r.get("ok") == "1"
    pipe = r.pipeline()
    pipe.incr("text").set("ok", 2)
    results = pipe.execute(raise_on_error=False)
    assert isinstance(results[0], redis.ResponseError) and results[1] is True


def test_lock_acquires_with_set_nx_and_release_needs_scripting(r):
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False) is True
    assert r.lock("resource", timeout=5).acquire(blocking=False) is False
    assert 0 < r.pttl("resource") <= 5000
    # Releasing runs a Lua script (EVALSHA, then SCRIPT LOAD): Shoal has no scripting yet,
    # so redis-py reports the server's unknown-command error.
    with pytest.raises(redis.ResponseError, match="unknown command"):
        lock.release()


def test_hashes(r):
    assert r.hset("user:1", mapping={"name": "ada", "visits": 1}) == 2
    assert r.hget("user:1", "name") == "ada"
    assert r.hincrby("user:1", "visits", 5) == 6
    assert r.hincrbyfloat("user:1", "score", 1.5) == 1.5
    assert r.hgetall("user:1") == {"name": "ada", "visits": "6", "score": "1.5"}
    assert r.hmget("user:1", ["name", "missing"]) == ["ada", None]
    assert sorted(r.hkeys("user:1")) == ["name", "score", "visits"]
    assert r.hlen("user:1") == 3
    assert r.hdel("user:1", "score", "missing") == 1
    assert r.hexists("user:1", "score") is False
    assert dict(r.hscan_iter("user:1")) == {"name": "ada", "visits": "6"}
    assert r.hrandfield("user:1") in ("name", "visits")


def test_sorted_sets(r):
    assert r.zadd("board", {"ada": 10, "bob": 20, "cy": 15}) == 3
    assert r.zrange("board", 0, -1, withscores=True) == [("ada", 10.0), ("cy", 15.0), ("bob", 20.0)]
    assert r.zrevrange("board", 0, 0) == ["bob"]
    assert r.zincrby("board", 10, "ada") == 20.0
    assert r.zscore("board", "ada") == 20.0
    assert r.zrank("board", "cy") == 0
    assert r.zcount("board", "(15", "+inf") == 2
    assert r.zrangebyscore("board", 15, 20) == ["cy", "ada", "bob"]
    assert r.zpopmin("board") == [("cy", 15.0)]
    assert r.zcard("board") == 2


def test_lists_and_sets(r):
    assert r.rpush("jobs", "a", "b", "c") == 3
    assert r.lpop("jobs") == "a"
    assert r.lrange("jobs", 0, -1) == ["b", "c"]
    assert r.sadd("tags", "x", "y", "y") == 2
    assert r.smembers("tags") == {"x", "y"}
    assert r.sismember("tags", "x") == 1  # redis-py returns the integer, against Redis too


def test_blocking_pop_is_woken_by_another_client(r, node):
    pusher = node.client(decode_responses=True)

    def push_later():
        time.sleep(0.3)
        pusher.rpush("queue", "work")

    threading.Thread(target=push_later).start()
    assert r.blpop(["queue"], timeout=10) == ("queue", "work")
    assert r.blpop(["queue"], timeout=0.1) is None
    pusher.close()


def test_blocking_zpop_is_woken_by_another_client(r, node):
    adder = node.client(decode_responses=True)

    def add_later():
        time.sleep(0.3)
        adder.zadd("prio", {"task": 1})

    threading.Thread(target=add_later).start()
    assert r.bzpopmin(["prio"], timeout=10) == ("prio", "task", 1.0)
    adder.close()
