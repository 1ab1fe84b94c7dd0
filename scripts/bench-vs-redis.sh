#!/usr/bin/env bash
# Compares respd with a real redis-server using redis-benchmark.
#
#   scripts/bench-vs-redis.sh           3 rounds of 100,000 requests per test
#   scripts/bench-vs-redis.sh --quick   1 round of 10,000 (a smoke run)
#
# Both servers run on free loopback ports; the runs alternate (redis, respd,
# redis, respd...) so that a noisy machine hurts both alike, and the table
# shows the median of the rounds. Everything started here is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."

requests=100000
rounds=3
clients=50
tests="set,get,incr,mset"
if [[ "${1:-}" == "--quick" ]]; then
    requests=10000
    rounds=1
fi

for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pids=()
workdir=$(mktemp -d)
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

wait_for() {
    for _ in $(seq 100); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "nothing answers on port $1" >&2
    exit 1
}

echo "Building respd (release)..."
cargo build --release --quiet --bin respd
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$workdir" >"$workdir/redis.log" 2>&1 &
pids+=($!)
respd_port=$(free_port)
"$target_dir/release/respd" --port "$respd_port" --bind 127.0.0.1 \
    >"$workdir/respd.log" 2>&1 &
pids+=($!)
wait_for "$redis_port"
wait_for "$respd_port"

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //' || uname -m)"
echo "redis-server $(redis-server --version | grep -o 'v=[^ ]*' | cut -d= -f2), redis-benchmark -t $tests -n $requests -c $clients, $rounds round(s)"
echo

# One CSV line per test and round: server,test,rps (rps "failed" when the
# server answered with an error: redis-benchmark stops at the first one).
for round in $(seq "$rounds"); do
    for test in ${tests//,/ }; do
        for server in redis respd; do
            port=$redis_port
            [[ $server == respd ]] && port=$respd_port
            echo "round $round: $test on $server" >&2
            if out=$(redis-benchmark -p "$port" -t "$test" -n "$requests" -c "$clients" -q --csv 2>&1); then
                echo "$out" | tail -n +2 | tr -d '"' |
                    awk -F, -v s="$server" '{print s "," $1 "," $2}' >>"$workdir/results.csv"
            else
                echo "$out" | grep -m1 -i error >&2 || true
                echo "$server,${test^^},failed" >>"$workdir/results.csv"
            fi
        done
    done
done

python3 - "$workdir/results.csv" <<'PY'
import csv, statistics, sys
rps = {}
order = []
for server, test, value in csv.reader(open(sys.argv[1])):
    test = test.split(" ")[0]
    if test not in order:
        order.append(test)
    if value != "failed":
        rps.setdefault((server, test), []).append(float(value))
print(f"{'command':<16}{'redis rps':>14}{'respd rps':>14}{'respd/redis':>14}")
for test in order:
    redis = rps.get(("redis", test))
    respd = rps.get(("respd", test))
    if not redis or not respd:
        shown = lambda r: f"{statistics.median(r):,.0f}" if r else "failed"
        print(f"{test:<16}{shown(redis):>14}{shown(respd):>14}{'-':>14}")
        continue
    redis, respd = statistics.median(redis), statistics.median(respd)
    print(f"{test:<16}{redis:>14,.0f}{respd:>14,.0f}{respd / redis:>14.2f}")
PY
