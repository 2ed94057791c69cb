"""INFO through redis-py: it parses, and after known traffic on a fresh node every count is exact.

The `traffic` fixture starts its own node (so nothing else ran on it), sends a known mix of
commands on one connection and keeps the `INFO everything` taken right after. The handshake
redis-py makes on connecting may add error replies of its own (a command shoal does not know),
so error counts are compared with a reading taken after connecting.
"""

import os
import re
import socket
import subprocess
import threading

import pytest
import redis

SETS = 100  # of which EXPIRING with a TTL, all in db 0
EXPIRING = 10
HITS = 30
MISSES = 20
FAILED_INCRS = 3  # INCR on text: ERR, a failed call
REJECTED_GETS = 2  # GET without its key: ERR, a rejected call
UNKNOWN = 1  # an unknown command: ERR, no command counts it
WRONGTYPE = 1  # LPUSH on a string: WRONGTYPE, a failed call
DB1_KEYS = 5


class Node:
    """A fresh shoal node on a free port, metrics off.

    (conftest's Node reads the port with a greedy `.*port=`, which on a startup line that ends
    in `metrics_port=…` finds the metrics port instead.)
    """

    def __init__(self):
        binary = os.environ.get("SHOAL_BIN", "target/debug/shoal")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--metrics-port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.port = None
        for line in self.proc.stdout:
            if "ready to accept connections" in line:
                match = re.search(r"(?<![\w])port=(\d+)", line)
                self.port = int(match.group(1)) if match else None
                break
        if self.port is None:
            self.stop()
            raise RuntimeError("shoal did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def client(self, **kwargs):
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def connect(node, **kwargs):
    """A client on one connection, so redis-py's handshake happens once, here."""
    client = node.client(decode_responses=True, single_connection_client=True, **kwargs)
    client.ping()
    return client


def errors_of(client, code):
    return client.info("errorstats").get(f"errorstat_{code}", {}).get("count", 0)


@pytest.fixture(scope="module")
def traffic():
    node = Node()
    try:
        r = connect(node)
        r1 = connect(node, db=1)
        before = {code: errors_of(r, code) for code in ("ERR", "WRONGTYPE")}
        before["total"] = r.info("stats")["total_error_replies"]
        send_known_traffic(r, r1)
        yield {"node": node, "r": r, "before": before, "info": r.info("everything")}
        r.close()
        r1.close()
    finally:
        node.stop()


def send_known_traffic(r, r1):
    for i in range(SETS - EXPIRING):
        r.set(f"key:{i}", f"value-{i}")
    for i in range(SETS - EXPIRING, SETS):
        r.set(f"key:{i}", "expiring", ex=3600)
    for i in range(HITS):
        assert r.get(f"key:{i}") is not None
    for i in range(MISSES):
        assert r.get(f"missing:{i}") is None
    for _ in range(FAILED_INCRS):
        with pytest.raises(redis.ResponseError, match="not an integer"):
            r.execute_command("INCR", "key:0")  # (r.incr sends INCRBY)
    for _ in range(REJECTED_GETS):
        with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
            r.execute_command("GET")
    for _ in range(UNKNOWN):
        with pytest.raises(redis.ResponseError, match="unknown command"):
            r.execute_command("NOSUCHCOMMAND", "x")
    for _ in range(WRONGTYPE):
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            r.lpush("key:1", "x")
    for i in range(DB1_KEYS):
        r1.set(f"other:{i}", i)


def raw_info(port, *sections):
    """INFO's text as sent, over a plain socket (RESP2, no client-side parsing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        args = ["INFO", *sections]
        command = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        sock.sendall(command.encode())
        data = b""
        while b"\r\n" not in data:
            data += sock.recv(65536)
        header, _, rest = data.partition(b"\r\n")
        assert header.startswith(b"$"), header
        length = int(header[1:])
        while len(rest) < length + 2:
            rest += sock.recv(65536)
        return rest[:length].decode()


def test_info_parses_in_every_form(traffic):
    r = traffic["r"]
    default = r.info()
    for field in ("redis_version", "connected_clients", "used_memory", "total_commands_processed"):
        assert field in default, field
    everything = r.info("all")
    assert "cmdstat_set" in everything and "db0" in everything
    commandstats = r.info("commandstats")
    assert commandstats and all(key.startswith("cmdstat_") for key in commandstats)
    assert isinstance(commandstats["cmdstat_set"]["calls"], int)
    assert isinstance(commandstats["cmdstat_set"]["usec_per_call"], float)
    latencystats = r.info("latencystats")
    assert latencystats and all(key.startswith("latency_percentiles_usec_") for key in latencystats)
    assert r.info("nosuchsection") == {}


def test_commandstats_count_the_calls_sent(traffic):
    info = traffic["info"]
    assert info["cmdstat_set"]["calls"] == SETS + DB1_KEYS
    assert info["cmdstat_set"]["failed_calls"] == 0
    assert info["cmdstat_set"]["rejected_calls"] == 0
    assert info["cmdstat_get"]["calls"] == HITS + MISSES
    assert info["cmdstat_get"]["usec"] >= 0
    assert info["cmdstat_lpush"]["calls"] == WRONGTYPE


def test_an_incr_on_text_is_a_failed_call(traffic):
    incr = traffic["info"]["cmdstat_incr"]
    assert incr["calls"] == FAILED_INCRS
    assert incr["failed_calls"] == FAILED_INCRS
    assert incr["rejected_calls"] == 0
    assert traffic["info"]["cmdstat_lpush"]["failed_calls"] == WRONGTYPE


def test_a_get_without_its_key_is_a_rejected_call(traffic):
    get = traffic["info"]["cmdstat_get"]
    assert get["rejected_calls"] == REJECTED_GETS
    assert get["failed_calls"] == 0
    assert get["calls"] == HITS + MISSES  # rejected calls never ran


def test_unknown_commands_have_no_commandstats(traffic):
    assert not any("nosuchcommand" in key for key in traffic["info"])


def test_errorstats_count_error_replies_by_code(traffic):
    info, before = traffic["info"], traffic["before"]
    assert info["errorstat_ERR"]["count"] - before["ERR"] == FAILED_INCRS + REJECTED_GETS + UNKNOWN
    assert info["errorstat_WRONGTYPE"]["count"] - before["WRONGTYPE"] == WRONGTYPE
    sent = FAILED_INCRS + REJECTED_GETS + UNKNOWN + WRONGTYPE
    assert info["total_error_replies"] - before["total"] == sent
    by_code = sum(v["count"] for k, v in info.items() if k.startswith("errorstat_"))
    assert by_code == info["total_error_replies"]


def test_keyspace_hits_and_misses_count_reads(traffic):
    assert traffic["info"]["keyspace_hits"] == HITS
    assert traffic["info"]["keyspace_misses"] == MISSES


def test_latencystats_give_percentiles_per_command(traffic):
    info = traffic["info"]
    for command in ("get", "set", "incr"):
        percentiles = info[f"latency_percentiles_usec_{command}"]
        assert set(percentiles) == {"p50", "p99", "p99.9"}, percentiles
        # Read from one histogram: never decreasing (no statement about how fast).
        assert 0 <= percentiles["p50"] <= percentiles["p99"] <= percentiles["p99.9"]
    # Only commands that ran have latencies: the rejected GETs add none of their own.
    assert "latency_percentiles_usec_nosuchcommand" not in info


def test_keyspace_lists_keys_and_expires_per_database(traffic):
    info = traffic["info"]
    assert info["db0"]["keys"] == SETS
    assert info["db0"]["expires"] == EXPIRING
    assert "avg_ttl" in info["db0"]
    assert info["db1"]["keys"] == DB1_KEYS
    assert info["db1"]["expires"] == 0
    assert not any(f"db{n}" in info for n in range(2, 16))  # empty databases are left out
    keyspace = traffic["r"].info("keyspace")
    assert sorted(keyspace) == ["db0", "db1"]
    assert keyspace["db0"]["keys"] == SETS and keyspace["db1"]["keys"] == DB1_KEYS


def test_default_info_has_errorstats_but_not_commandstats(traffic):
    r = traffic["r"]
    default = r.info()
    assert "errorstat_ERR" in default and "errorstat_WRONGTYPE" in default
    assert not any(key.startswith("cmdstat_") for key in default)
    assert not any(key.startswith("latency_percentiles_usec_") for key in default)
    assert default.keys() == r.info("default").keys()
    text = raw_info(traffic["node"].port)
    assert "# Errorstats\r\n" in text and "# Keyspace\r\n" in text
    assert "# Commandstats" not in text and "# Latencystats" not in text
    everything = raw_info(traffic["node"].port, "everything")
    for section in ("Server", "Clients", "Memory", "Stats", "Commandstats", "Errorstats"):
        assert f"# {section}\r\n" in everything, section
    assert "# Latencystats\r\n" in everything and "# Keyspace\r\n" in everything


@pytest.fixture
def fresh():
    node = Node()
    try:
        r = connect(node)
        yield r
        r.close()
    finally:
        node.stop()


def test_config_resetstat_zeroes_commandstats(fresh):
    r = fresh
    for i in range(5):
        r.set(f"k{i}", "v")
        r.get(f"k{i}")
    r.get("missing")
    with pytest.raises(redis.ResponseError):
        r.execute_command("INCR", "k0")
    before = r.info("everything")
    assert before["cmdstat_set"]["calls"] == 5
    assert before["errorstat_ERR"]["count"] >= 1

    assert r.config_resetstat()
    after = r.info("everything")
    # Only the RESETSTAT itself, recorded once it had answered, and nothing from before.
    assert [k for k in after if k.startswith("cmdstat_")] == ["cmdstat_config|resetstat"]
    assert after["cmdstat_config|resetstat"]["calls"] == 1
    assert [k for k in after if k.startswith("latency_percentiles_usec_")] == [
        "latency_percentiles_usec_config|resetstat"
    ]
    assert not any(k.startswith("errorstat_") for k in after)
    assert after["total_error_replies"] == 0
    assert after["keyspace_hits"] == 0 and after["keyspace_misses"] == 0
    assert after["db0"]["keys"] == 5  # the data stays

    r.set("again", "v")
    assert r.info("commandstats")["cmdstat_set"]["calls"] == 1
