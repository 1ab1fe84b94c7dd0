#!/usr/bin/env python3
"""Opens N idle clients (each sends one PING) against a server and prints its
RSS growth per connection.

    idle-clients.py PORT PID N           measure, close the clients, exit
    idle-clients.py PORT PID N --hold    measure, then keep the clients open
                                         until killed (SIGTERM), so that the
                                         caller can benchmark under that load
"""
import resource, signal, socket, sys, time

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
hold = "--hold" in sys.argv[4:]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 1000)), hard))
before = rss_kb(pid)
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"*1\r\n$4\r\nPING\r\n")
    conns.append(s)
# Every client got its answer, so the server has set each one up completely.
for s in conns:
    assert s.recv(16) == b"+PONG\r\n"
time.sleep(0.5)
after = rss_kb(pid)
print(f"clients={n} rss_before_kb={before} rss_after_kb={after} per_client_bytes={(after - before) * 1024 // n}",
      flush=True)
if hold:
    signal.pause()  # SIGTERM's default action ends the process and the sockets with it
for s in conns:
    s.close()
