#!/usr/bin/env python3
"""Loads N keys of each type into a fresh server and compares the growth of
INFO's used_memory with the growth of the process's RSS.

    scripts/memory-accuracy.py [--server target/release/respd] [--keys 1000000]

Uses only the standard library and redis-cli (for --pipe).
"""
import argparse, os, socket, subprocess, tempfile, time


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def commands(kind, n):
    for i in range(n):
        k = f"{kind}:{i:08d}"
        if kind == "string":
            yield resp("SET", k, f"value-{i}")
        elif kind == "list":
            yield resp("RPUSH", k, "a", "bb", "ccc", f"{i}")
        elif kind == "hash":
            yield resp("HSET", k, "f1", "v1", "f2", f"{i}")
        elif kind == "set":
            yield resp("SADD", k, "m1", "m2", f"x{i}")
        elif kind == "zset":
            yield resp("ZADD", k, 1, "a", 2, "b", 3, f"m{i}")


def info(port, field):
    out = subprocess.run(["redis-cli", "-p", str(port), "info", "memory"],
                         capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":")[1])
    raise SystemExit(f"no {field}")


def rss(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * 4096


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="target/release/respd")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--port", type=int, default=24150)
    ap.add_argument("--types", default="string,list,hash,set,zset")
    a = ap.parse_args()
    print(f"{'type':8} {'keys':>9} {'used_memory Δ':>14} {'RSS Δ':>14} {'error':>8}")
    for kind in a.types.split(","):
        d = tempfile.mkdtemp()
        server = subprocess.Popen([a.server, "--port", str(a.port), "--save", "", "--appendonly",
                                   "no", "--dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(a.port)
            used0, rss0 = info(a.port, "used_memory"), rss(server.pid)
            path = os.path.join(d, "load.resp")
            with open(path, "wb") as f:
                for c in commands(kind, a.keys):
                    f.write(c)
            with open(path, "rb") as f:
                subprocess.run(["redis-cli", "-p", str(a.port), "--pipe"], stdin=f,
                               stdout=subprocess.DEVNULL, timeout=600, check=True)
            os.remove(path)
            used1, rss1 = info(a.port, "used_memory"), rss(server.pid)
            du, dr = used1 - used0, rss1 - rss0
            print(f"{kind:8} {a.keys:>9} {du:>14} {dr:>14} {100.0 * (du - dr) / dr:>7.1f}%", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
