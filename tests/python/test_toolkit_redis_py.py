"""The test toolkit's RESP controls through redis-py (run by
tests/testing_toolkit.rs when python3 has redis and pytest; the README
example)."""
import socket
import subprocess
import tempfile
import time

import pytest
import redis


@pytest.fixture
def r():
    """A fresh respd per test, controls allowed, nothing written to disk."""
    with socket.socket() as s:  # a free port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        ["respd", "--port", str(port), "--save", "", "--dir", tempfile.mkdtemp(),
         "--enable-debug-command", "yes"])
    client = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
    for _ in range(100):  # ready within 5 s
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield client
    server.terminate()
    server.wait(timeout=10)


def test_session_expires_after_an_hour(r):
    r.execute_command("DEBUG", "CLOCK", "FREEZE")  # TTLs read exactly
    r.set("session", "x", ex=3600)
    r.execute_command("DEBUG", "CLOCK", "ADVANCE", 600_000)
    assert r.ttl("session") == 3000
    r.execute_command("DEBUG", "CLOCK", "ADVANCE", 3000 * 1000)
    assert r.exists("session") == 0


def test_random_picks_repeat_with_a_seed(r):
    r.execute_command("DEBUG", "SEED", 42)
    r.sadd("s", *range(100))
    first = [r.spop("s") for _ in range(5)]
    r.flushall()
    r.execute_command("DEBUG", "SEED", 42)
    r.sadd("s", *range(100))
    assert [r.spop("s") for _ in range(5)] == first


def test_code_survives_a_failing_redis(r):
    r.execute_command("DEBUG", "FAIL-NEXT", 1, "ERR injected")
    with pytest.raises(redis.ResponseError, match="injected"):
        r.get("k")
    assert r.get("k") is None  # the next command goes through


def test_records_what_the_code_sent(r):
    r.execute_command("DEBUG", "RECORD", "ON")
    r.set("k", "v")
    r.incr("n")
    assert r.execute_command("DEBUG", "RECORD", "GET") == [
        ["SET", "k", "v"], ["INCRBY", "n", "1"]]
