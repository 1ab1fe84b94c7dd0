"""redis-py's client_tracking_on with a redirect to a RESP2 connection
subscribed to __redis__:invalidate, against a server on the port given as
argv[1] (logged in as the user and password of argv[2] and argv[3] when
given): a value is read, another client changes it, the invalidation
arrives with the key; a flush arrives as a null. Prints one line per check;
exits 1 on a failure."""

import sys

import redis

port = int(sys.argv[1])
# A user and password when the server has its default user off.
login = dict(zip(("username", "password"), sys.argv[2:4]))
failures = 0
checks = 0


def check(name, ok):
    global failures, checks
    checks += 1
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        failures += 1


# The redirect target: a plain connection that subscribes, as a caching
# layer's invalidation listener does.
listener = redis.Connection(host="127.0.0.1", port=port, socket_timeout=5, protocol=2, **login)
listener.send_command("CLIENT", "ID")
listener_id = listener.read_response()
listener.send_command("SUBSCRIBE", "__redis__:invalidate")
check(
    "the listener subscribes",
    listener.read_response() == [b"subscribe", b"__redis__:invalidate", 1],
)

reader = redis.Redis(host="127.0.0.1", port=port, single_connection_client=True, protocol=2, **login)
writer = redis.Redis(host="127.0.0.1", port=port, protocol=2, **login)
writer.set("user:1", "ann")
check("tracking on, redirected", reader.client_tracking_on(clientid=listener_id) in (True, b"OK", "OK"))
check("CLIENT GETREDIR names the listener", reader.client_getredir() == listener_id)
check("the value is read", reader.get("user:1") == b"ann")
writer.set("user:1", "bob")
check(
    "the invalidation arrives with the key",
    listener.read_response() == [b"message", b"__redis__:invalidate", [b"user:1"]],
)
reader.get("user:1")
writer.flushall()
check(
    "a flush arrives as a null",
    listener.read_response() == [b"message", b"__redis__:invalidate", None],
)
check("tracking off", reader.client_tracking_off() in (True, b"OK", "OK"))
check("CLIENT GETREDIR says -1", reader.client_getredir() == -1)

print(f"{checks} checks, {failures} failed")
sys.exit(1 if failures else 0)
