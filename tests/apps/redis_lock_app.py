"""python-redis-lock (unmodified, from PyPI) against a server on the port
given as argv[1] (logged in as the user and password of argv[2] and
argv[3] when given): its Lua scripts (unlock, extend, reset) and its
BLPOP-based waiting. Prints one line per check; exits 1 on a failure."""

import sys
import threading
import time

import redis
import redis_lock

# A user and password when the server has its default user off.
login = dict(zip(("username", "password"), sys.argv[2:4]))
conn = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), **login)
conn.flushall()
failures = 0
checks = 0


def check(name, ok):
    global failures, checks
    checks += 1
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        failures += 1


first = redis_lock.Lock(conn, "resource", expire=60, id="owner-a")
check("acquire a free lock", first.acquire(blocking=False) is True)
check("the lock key holds the owner id", conn.get("lock:resource") == b"owner-a")
rival = redis_lock.Lock(conn, "resource", expire=60, id="owner-b")
check("a second owner cannot take it", rival.acquire(blocking=False) is False)

first.extend(expire=100)
check("extend sets the new expiry (script)", 90 <= conn.ttl("lock:resource") <= 100)
try:
    rival.extend(expire=10)
    check("extending someone else's lock fails", False)
except redis_lock.NotAcquired:
    check("extending someone else's lock fails", True)

try:
    redis_lock.Lock(conn, "resource", id="owner-b").release()
    check("releasing someone else's lock fails (script)", False)
except redis_lock.NotAcquired:
    check("releasing someone else's lock fails (script)", True)
check("the lock is still held", conn.get("lock:resource") == b"owner-a")

# A waiter blocked in acquire() is woken by release() (signal list + BLPOP).
acquired = []


def wait_for_lock():
    waiter = redis_lock.Lock(conn, "resource", expire=60, id="owner-c")
    acquired.append(waiter.acquire(blocking=True, timeout=10))
    acquired.append(conn.get("lock:resource"))
    waiter.release()


thread = threading.Thread(target=wait_for_lock)
thread.start()
time.sleep(0.3)
first.release()
thread.join(15)
check("a blocked waiter gets the lock on release", acquired == [True, b"owner-c"])
check("the released lock is gone", conn.exists("lock:resource") == 0)

for name in ("x", "y"):
    redis_lock.Lock(conn, name, expire=60).acquire()
redis_lock.reset_all(conn)
check("reset_all removes every lock (script)", conn.keys("lock:*") == [])

with redis_lock.Lock(conn, "ctx", expire=5):
    check("context manager holds the lock", conn.exists("lock:ctx") == 1)
check("context manager releases it", conn.exists("lock:ctx") == 0)

print(f"python-redis-lock: {checks - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
