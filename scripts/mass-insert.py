#!/usr/bin/env python3
"""Writes a RESP mass-insert file for `redis-cli --pipe` to stdout.

    mass-insert.py string N            N x SET key:<i> <10-byte value>
    mass-insert.py hash   N PER_KEY    N fields: N/PER_KEY hashes, HSET per field
    mass-insert.py zset   N PER_KEY    N members: N/PER_KEY zsets, ZADD per member

One command per item, so that no single huge command inflates the server's
query buffer (and with it the RSS being measured)."""
import sys

def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

kind, n = sys.argv[1], int(sys.argv[2])
per_key = int(sys.argv[3]) if len(sys.argv) > 3 else 1
w = sys.stdout.buffer
buf = []
for i in range(n):
    if kind == "string":
        buf.append(cmd(b"SET", b"key:%d" % i, b"v%09d" % i))
    elif kind == "hash":
        buf.append(cmd(b"HSET", b"hash:%d" % (i // per_key), b"field:%d" % (i % per_key), b"v%09d" % i))
    elif kind == "zset":
        buf.append(cmd(b"ZADD", b"zset:%d" % (i // per_key), b"%d" % i, b"member:%d" % (i % per_key)))
    else:
        sys.exit(f"unknown kind {kind}")
    if len(buf) >= 10000:
        w.write(b"".join(buf))
        buf.clear()
w.write(b"".join(buf))
