#!/usr/bin/env python3
"""Eviction quality: respd against redis-server under the same maxmemory.

A cache-aside client reads keys drawn from a zipf-like distribution over
three times more keys than fit; a miss writes the key back. After a warm-up
the hit rate and the throughput are measured, for allkeys-lru and
allkeys-lfu, on both servers.

    scripts/eviction-quality.py [--respd target/release/respd] [--maxmemory 16mb]

Standard library only (plus the two servers). Ports 24200-24201.
"""
import argparse, bisect, random, socket, subprocess, tempfile, time


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise SystemExit("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise SystemExit("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"-":
            return Exception(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        return rest

    def pipeline(self, commands):
        self.sock.sendall(b"".join(encode(*c) for c in commands))
        return [self.reply() for _ in commands]


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def zipf_cdf(n, s):
    weights = [1.0 / (i + 1) ** s for i in range(n)]
    total, acc, cdf = sum(weights), 0.0, []
    for w in weights:
        acc += w
        cdf.append(acc / total)
    return cdf


def run(port, policy, maxmemory, keys, ops, value, seed, cdf, perm):
    c = Conn(port)
    c.pipeline([["FLUSHALL"], ["CONFIG", "SET", "maxmemory", maxmemory],
                ["CONFIG", "SET", "maxmemory-policy", policy], ["CONFIG", "RESETSTAT"]])
    rng = random.Random(seed)
    batch = 200

    def phase(count):
        hits = 0
        done = 0
        while done < count:
            ids = [perm[bisect.bisect_left(cdf, rng.random())] for _ in range(batch)]
            replies = c.pipeline([["GET", f"key:{i}"] for i in ids])
            misses = [i for i, r in zip(ids, replies) if r is None]
            hits += batch - len(misses)
            if misses:
                for r in c.pipeline([["SET", f"key:{i}", value] for i in misses]):
                    if isinstance(r, Exception):
                        raise SystemExit(f"SET failed: {r}")
            done += batch
        return hits

    phase(ops)  # warm-up
    start = time.time()
    hits = phase(ops)
    elapsed = time.time() - start
    info = c.pipeline([["INFO", "stats"], ["DBSIZE"]])
    evicted = next(l for l in info[0].decode().splitlines() if l.startswith("evicted_keys:"))
    return hits / ops, ops / elapsed, int(evicted.split(":")[1]), info[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--respd", default="target/release/respd")
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--maxmemory", default="16mb")
    ap.add_argument("--keys", type=int, default=300_000, help="3x what fits in 16mb of Redis")
    ap.add_argument("--ops", type=int, default=300_000)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--zipf", type=float, default=0.9)
    a = ap.parse_args()
    value = "v" * a.value_size
    cdf = zipf_cdf(a.keys, a.zipf)
    perm = list(range(a.keys))
    random.Random(7).shuffle(perm)
    d = tempfile.mkdtemp()
    servers = [
        ("respd", subprocess.Popen([a.respd, "--port", "24200", "--save", "", "--appendonly", "no",
                                    "--dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), 24200),
        ("redis", subprocess.Popen([a.redis, "--port", "24201", "--save", "", "--appendonly", "no",
                                    "--dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), 24201),
    ]
    try:
        for _, _, port in servers:
            wait_port(port)
        print(f"maxmemory {a.maxmemory}, {a.keys} keys of {a.value_size} B, zipf s={a.zipf}, "
              f"{a.ops} measured ops after {a.ops} warm-up")
        print(f"{'policy':12} {'server':6} {'hit rate':>9} {'ops/s':>9} {'evicted':>8} {'keys':>7}")
        for policy in ["allkeys-lru", "allkeys-lfu"]:
            results = {}
            for name, _, port in servers:
                results[name] = run(port, policy, a.maxmemory, a.keys, a.ops, value, 42, cdf, perm)
                hit, rate, evicted, size = results[name]
                print(f"{policy:12} {name:6} {hit:9.4f} {rate:9.0f} {evicted:8} {size:7}", flush=True)
            ours, theirs = results["respd"], results["redis"]
            print(f"{policy:12} ratio  {ours[0] / theirs[0]:9.3f} {ours[1] / theirs[1]:9.2f}")
    finally:
        for _, proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
