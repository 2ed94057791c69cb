"""Fixtures for redis-py tests: a real shoal node per test module.

The node binary comes from SHOAL_BIN (the Rust test that runs pytest passes it); the node is
started with --port 0 and its port is read from its startup line.
"""

import os
import re
import subprocess
import threading

import pytest
import redis


class Node:
    def __init__(self, args=()):
        binary = os.environ.get("SHOAL_BIN", "target/debug/shoal")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--metrics-port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.port = None
        for line in self.proc.stdout:
            match = re.search(r"ready to accept connections.*[^_]port=(\d+)", line)
            if match:
                self.port = int(match.group(1))
                bus = re.search(r"cluster_port=(\d+)", line)
                self.cluster_port = int(bus.group(1)) if bus else 0
                break
        if self.port is None:
            raise RuntimeError("shoal did not start")
        # Keep draining its output so it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def client(self, **kwargs):
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def node():
    n = Node()
    yield n
    n.stop()


@pytest.fixture
def r(node):
    client = node.client(decode_responses=True)
    client.flushall()
    yield client
    client.close()
