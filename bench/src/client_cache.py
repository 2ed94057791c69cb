"""One redis-py client on a 99% read / 1% write Zipf(0.99) workload, with or without
redis-py's own client-side cache; run by `shoal-bench tracking` (see tracking.rs).

Usage: python3 client_cache.py PORT SECONDS CACHE(0|1) KEYS
Prints one line: `ops=N reads=N writes=N stale=N seconds=F`. A read is stale when it does
not return the value this client last wrote to that key (the cache must have been
invalidated by then: the write was acknowledged before the read).
"""

import bisect
import random
import sys
import time

import redis

port, seconds, cache, keys = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
extra = {}
if cache:
    from redis.cache import CacheConfig

    extra = {"protocol": 3, "cache_config": CacheConfig(max_size=keys)}
client = redis.Redis(host="127.0.0.1", port=port, **extra)
names = [f"cc:{i}" for i in range(keys)]
written = {}
for i, name in enumerate(names):
    client.set(name, b"0")
    written[name] = b"0"

# Zipf(0.99) over the keys, by inverse transform on the cumulative weights.
cumulative, total = [], 0.0
for rank in range(1, keys + 1):
    total += 1.0 / rank**0.99
    cumulative.append(total)
rng = random.Random(7)

reads = writes = stale = 0
version = 0
started = time.perf_counter()
deadline = started + seconds
while True:
    for _ in range(256):
        name = names[bisect.bisect_left(cumulative, rng.random() * total)]
        if rng.random() < 0.01:
            version += 1
            value = str(version).encode()
            client.set(name, value)
            written[name] = value
            writes += 1
        else:
            if client.get(name) != written[name]:
                stale += 1
            reads += 1
    if time.perf_counter() >= deadline:
        break
elapsed = time.perf_counter() - started
print(f"ops={reads + writes} reads={reads} writes={writes} stale={stale} seconds={elapsed:.3f}")
