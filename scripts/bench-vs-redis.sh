#!/usr/bin/env bash
# Compares respd with a real redis-server.
#
#   scripts/bench-vs-redis.sh [--quick] [--json FILE] [--ports FIRST-LAST]
#
# Cells (ratio = respd/redis; for rps higher is better, for ms and bytes lower):
#   throughput  -t set,get,incr,lpush,lpop,sadd,hset,zadd,mset with redis-benchmark
#               at 50 clients, at 50 clients with -P 16, at 1 client (also its
#               p50/p99 latency), and SET/GET at 1,000 clients; with -P 16
#               also lrange_100, spop, zpopmin
#   commands    EVALSHA of a one-command script and FCALL (50 clients and
#               -P 16), XADD s * f v (50 clients and -P 16), XRANGE and XREAD
#               of 10 entries (50 clients)
#   hll/geo     PFADD and PFCOUNT (-P 16), PFCOUNT of three HLLs, GEOSEARCH
#               of ~1,600 points and with COUNT 10 (50 clients)
#   aof         SET at 50 clients with appendonly yes, appendfsync always and
#               everysec (a fresh server each)
#   twemproxy   SET/GET at 50 clients through nutcracker in front of 3 shards
#               (scripts/twemproxy.sh; skipped when nutcracker is missing)
#   memory      RSS growth per item after a `redis-cli --pipe` mass insert of
#               1,000,000 strings (10-byte values; also the insert's time,
#               in seconds), 1,000,000 hash fields
#               (10,000 hashes x 100) and 1,000,000 zset members (1,000 x 1,000),
#               each in a fresh server process (FLUSHALL gives no RSS back)
#   connections RSS per idle client with 10,000 idle clients held open, and
#               GET throughput at 50 clients while they are held
#
# Full run: 3 rounds, about 7 minutes on 2 cores. --quick: 1 round, fewer
# requests, memory cells with 100,000 items and 1,000 idle clients instead of
# 10,000 (about 3 minutes). --json FILE also writes every cell as JSON.
# --ports FIRST-LAST takes the servers' ports in turn from that range
# (default: free ports the kernel picks); twemproxy takes the one picked
# and the 4 after it. respd is built with the scripting feature.
#
# The runs alternate between the servers (redis, respd, redis, respd...) so
# that a noisy machine hurts both alike; the table shows the median of the
# rounds (memory and idle-RSS cells are measured once per server).
# Everything started here is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

quick=0
json_out=""
ports=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=1 ;;
        --json) json_out=$(realpath -m "${2:?--json needs a file}"); shift ;;
        --ports) ports=${2:?--ports needs FIRST-LAST}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

tests="set,get,incr,lpush,lpop,sadd,hset,zadd,mset"
pipe_tests="$tests,lrange_100,spop,zpopmin"
if ((quick)); then
    rounds=1
    n_c50=10000 n_pipe=20000 n_c1=2000 n_c1000=10000 n_slow=2000
    mem_items=100000 hash_fields=100 zset_members=1000
    idle_clients=1000
else
    rounds=3
    n_c50=100000 n_pipe=300000 n_c1=10000 n_c1000=100000 n_slow=10000
    mem_items=1000000 hash_fields=100 zset_members=1000
    idle_clients=10000
fi

for tool in redis-server redis-benchmark redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done

# 1,000 benchmark clients and 10,000 idle ones need more descriptors than the
# usual soft limit of 1024; the servers and clients started below inherit this.
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < idle_clients + 100 )); then
    echo "ulimit -n is $(ulimit -n) (hard limit); $idle_clients idle clients need more" >&2
    exit 1
fi

pids=()
workdir=$(mktemp -d)
results="$workdir/results.txt"   # lines: cell|unit|server|value
: >"$results"
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # runs the EXIT trap

# pick_port: sets srv_port to the next port of --ports (round robin), else
# to one the kernel picks. (Not $(...): the counter must outlive the call.)
next_port_index=0
pick_port() {
    if [[ -n $ports ]]; then
        local first=${ports%-*} last=${ports#*-}
        srv_port=$((first + next_port_index % (last - first + 1)))
        next_port_index=$((next_port_index + 1))
    else
        srv_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    fi
}

wait_for() {
    for _ in $(seq 100); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "nothing answers on port $1" >&2
    exit 1
}

# start_server redis|respd [--option value...]: starts a fresh server (the
# options override the defaults), sets srv_port and srv_pid.
start_server() {
    local kind=$1
    shift
    pick_port
    if [[ $kind == redis ]]; then
        redis-server --port "$srv_port" --bind 127.0.0.1 --save '' --appendonly no \
            --maxclients 20000 --dir "$workdir" "$@" >>"$workdir/redis.log" 2>&1 &
    else
        # Like redis-server above: no snapshot on exit (respd saves on
        # SIGTERM when save points are set), none loaded at start.
        "$target_dir/release/respd" --port "$srv_port" --bind 127.0.0.1 --save '' \
            --appendonly no --maxclients 20000 --dir "$workdir" "$@" >>"$workdir/respd.log" 2>&1 &
    fi
    srv_pid=$!
    pids+=("$srv_pid")
    wait_for "$srv_port"
    # A busy port would have us measure whoever holds it.
    if ! redis-cli -p "$srv_port" info server | grep -q "^process_id:$srv_pid"; then
        echo "port $srv_port answers, but not the $kind just started there" >&2
        exit 1
    fi
}

# stop_pid PID: stops one process we started and forgets it (no PID reuse later).
stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local kept=() p
    for p in "${pids[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
    pids=("${kept[@]}")
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

record() { echo "$1|$2|$3|$4" >>"$results"; }

# bench SERVER PORT LABEL LATENCY(0/1) redis-benchmark-args...
# Runs one redis-benchmark per test (so that an error in one test does not
# lose the others) and records "<TEST> <LABEL>" cells.
bench() {
    local server=$1 port=$2 label=$3 latency=$4 test out
    shift 4
    for test in ${tests//,/ }; do
        echo "  $test $label on $server" >&2
        # timeout: redis-benchmark waits forever if the server stops answering
        if out=$(timeout 120 redis-benchmark -p "$port" -t "$test" --csv "$@" 2>&1); then
            # "test","rps","avg","min","p50","p95","p99","max"
            while IFS=, read -r name rps _avg _min p50 _p95 p99 _max; do
                # lrange_* first fills its list: "LPUSH (needed to benchmark LRANGE)"
                [[ $name == *needed* ]] && continue
                # the header (not always the first line: a proxy makes
                # redis-benchmark warn about CONFIG GET first)
                [[ $rps =~ ^[0-9.]+$ ]] || continue
                name=${name%% *}
                record "$name $label" rps "$server" "$rps"
                if ((latency)); then
                    record "$name $label p50" ms "$server" "$p50"
                    record "$name $label p99" ms "$server" "$p99"
                fi
            done < <(echo "$out" | tr -d '"')
        else
            echo "$out" | grep -m1 -i error >&2 || true
            record "${test^^} $label" rps "$server" failed
        fi
    done
}

# bench_cmd SERVER PORT CELL redis-benchmark-args... (the command last):
# one redis-benchmark run of one command, recorded as CELL.
bench_cmd() {
    local server=$1 port=$2 cell=$3 out rps
    shift 3
    echo "  $cell on $server" >&2
    if out=$(timeout 120 redis-benchmark -p "$port" --csv "$@" 2>&1) &&
        rps=$(echo "$out" | tail -n +2 | tr -d '"' | cut -d, -f2 | grep -m1 '^[0-9.]\+$'); then
        record "$cell" rps "$server" "$rps"
    else
        echo "$out" | grep -m1 -i error >&2 || true
        record "$cell" rps "$server" failed
    fi
}

# The commands' cells; the scripts and the stream to read are set up first.
bench_commands() {
    local server=$1 port=$2 sha i
    sha=$(redis-cli -p "$port" script load "return redis.call('SET', KEYS[1], ARGV[1])")
    redis-cli -p "$port" function load replace \
        "#!lua name=benchlib
redis.register_function('bset', function(keys, args) return redis.call('SET', keys[1], args[1]) end)" >/dev/null
    redis-cli -p "$port" del r >/dev/null
    for i in $(seq 10); do redis-cli -p "$port" xadd r '*' f v >/dev/null; done
    bench_cmd "$server" "$port" "EVALSHA c50" -c 50 -n "$n_c50" evalsha "$sha" 1 k v
    bench_cmd "$server" "$port" "EVALSHA c50-P16" -c 50 -P 16 -n "$n_pipe" evalsha "$sha" 1 k v
    bench_cmd "$server" "$port" "FCALL c50" -c 50 -n "$n_c50" fcall bset 1 k v
    bench_cmd "$server" "$port" "FCALL c50-P16" -c 50 -P 16 -n "$n_pipe" fcall bset 1 k v
    bench_cmd "$server" "$port" "XADD c50" -c 50 -n "$n_c50" xadd s '*' f v
    bench_cmd "$server" "$port" "XADD c50-P16" -c 50 -P 16 -n "$n_pipe" xadd s '*' f v
    redis-cli -p "$port" del s >/dev/null   # XADD's entries are not kept between rounds
    bench_cmd "$server" "$port" "XRANGE x10 c50" -c 50 -n "$n_c50" xrange r - +
    bench_cmd "$server" "$port" "XREAD x10 c50" -c 50 -n "$n_c50" xread count 10 streams r 0
}

# HyperLogLog and geo cells on the same data in both servers: three HLLs of
# 100,000 elements (PFCOUNT of one is its cached cardinality, of three a
# merge) and 10,000 points (GEOSEARCH of 200 km around the middle finds
# about 1,600 of them; COUNT 10 the nearest).
hll_geo_data="$workdir/hll-geo.resp"
python3 - "$hll_geo_data" <<'PY'
import random, sys
def command(*args):
    return "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)
chance = random.Random(7)
with open(sys.argv[1], "w") as out:
    for start in range(0, 10000, 100):
        args = ["GEOADD", "geo"]
        for i in range(start, start + 100):
            args += ["%.6f" % chance.uniform(10, 20), "%.6f" % chance.uniform(33, 41), "p%d" % i]
        out.write(command(*args))
    for key in ("hll", "hll2", "hll3"):
        for start in range(0, 100000, 1000):
            out.write(command("PFADD", key, *("%s-%d" % (key, i) for i in range(start, start + 1000))))
PY
bench_hll_geo() {
    local server=$1 port=$2 search=(geosearch geo fromlonlat 15 37 byradius 200 km asc)
    redis-cli -p "$port" del geo hll hll2 hll3 hllb >/dev/null
    redis-cli -p "$port" --pipe <"$hll_geo_data" >/dev/null
    bench_cmd "$server" "$port" "PFADD c50-P16" -c 50 -P 16 -r 100000 -n "$n_pipe" pfadd hllb __rand_int__
    bench_cmd "$server" "$port" "PFCOUNT c50-P16" -c 50 -P 16 -n "$n_pipe" pfcount hll
    bench_cmd "$server" "$port" "PFCOUNT x3 c50" -c 50 -n "$n_slow" pfcount hll hll2 hll3
    bench_cmd "$server" "$port" "GEOSEARCH 200km c50" -c 50 -n "$n_slow" "${search[@]}"
    bench_cmd "$server" "$port" "GEOSEARCH COUNT 10 c50" -c 50 -n "$n_slow" "${search[@]}" count 10
}

echo "Building respd (release, with scripting)..."
cargo build --release --quiet --features scripting --bin respd
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //' || uname -m)"
echo "redis-server $(redis-server --version | grep -o 'v=[^ ]*' | cut -d= -f2), $rounds round(s), ulimit -n $(ulimit -n)"
echo

# --- throughput and latency: one long-lived server of each kind -------------
start_server redis; redis_port=$srv_port; redis_pid=$srv_pid
start_server respd; respd_port=$srv_port; respd_pid=$srv_pid
port_of() { if [[ $1 == redis ]]; then echo "$redis_port"; else echo "$respd_port"; fi; }

for round in $(seq "$rounds"); do
    echo "round $round/$rounds: throughput" >&2
    for server in redis respd; do bench "$server" "$(port_of $server)" c50 0 -c 50 -n "$n_c50"; done
    for server in redis respd; do tests=$pipe_tests bench "$server" "$(port_of $server)" c50-P16 0 -c 50 -P 16 -n "$n_pipe"; done
    for server in redis respd; do bench_commands "$server" "$(port_of $server)"; done
    for server in redis respd; do bench_hll_geo "$server" "$(port_of $server)"; done
    for server in redis respd; do bench "$server" "$(port_of $server)" c1 1 -c 1 -n "$n_c1"; done
    for server in redis respd; do tests=set,get bench "$server" "$(port_of $server)" c1000 0 -c 1000 -n "$n_c1000"; done
done
stop_pid "$redis_pid"
stop_pid "$respd_pid"

# --- the append-only file: a fresh server per policy and round ---------------
for round in $(seq "$rounds"); do
    for policy in always everysec; do
        for server in redis respd; do
            mkdir -p "$workdir/aof-$server"
            start_server "$server" --dir "$workdir/aof-$server" --appendonly yes --appendfsync "$policy"
            tests=set bench "$server" "$srv_port" "c50 aof-$policy" 0 -c 50 -n "$n_c50"
            stop_pid "$srv_pid"
            rm -rf "$workdir/aof-$server"
        done
    done
done

# --- twemproxy: nutcracker in front of 3 shards of each kind -----------------
if command -v nutcracker >/dev/null; then
    export TWEMPROXY_DIR="$workdir/twemproxy" RESPD_BIN="$target_dir/release/respd"
    pick_port; proxy_port=$srv_port   # uses the ports up to proxy_port+4
    ((next_port_index += 4)) || true
    for round in $(seq "$rounds"); do
        for server in redis respd; do
            if [[ $server == redis ]]; then backend=(--redis-server); else backend=(); fi
            if scripts/twemproxy.sh 3 --port "$proxy_port" "${backend[@]}" >"$workdir/twemproxy.log" 2>&1; then
                tests=set,get bench "$server" "$proxy_port" "c50 twemproxy" 0 -c 50 -n "$n_c50"
            else
                tail -n 3 "$workdir/twemproxy.log" >&2
                record "SET c50 twemproxy" rps "$server" failed
            fi
            scripts/twemproxy.sh stop >/dev/null 2>&1 || true
        done
    done
else
    echo "nutcracker is not installed: no twemproxy cells" >&2
fi

# --- memory: a fresh server per cell, RSS before and after a mass insert -----
# mem_cell KIND LABEL PER_KEY: the file is generated once and fed to both.
mem_cell() {
    local kind=$1 label=$2 per_key=$3 file="$workdir/$1.resp" server before after out
    python3 scripts/mass-insert.py "$kind" "$mem_items" "$per_key" >"$file"
    for server in redis respd; do
        echo "memory: $label on $server" >&2
        start_server "$server"
        before=$(rss_kb "$srv_pid")
        started=$(date +%s.%N)
        out=$(redis-cli -p "$srv_port" --pipe <"$file" 2>&1)
        if [[ $kind == string ]]; then
            record "mass insert x$mem_items" s "$server" "$(echo "$(date +%s.%N) - $started" | bc -l)"
        fi
        if ! grep -q 'errors: 0,' <<<"$out"; then
            echo "$out" | tail -n 3 >&2
            record "mem $label" B/item "$server" failed
        else
            sleep 0.5   # let the last replies drain before reading RSS
            after=$(rss_kb "$srv_pid")
            record "mem $label" B/item "$server" $(( (after - before) * 1024 / mem_items ))
        fi
        stop_pid "$srv_pid"
    done
    rm -f "$file"
}
mem_cell string "string x$mem_items" 1
mem_cell hash "hash field x$mem_items" "$hash_fields"
mem_cell zset "zset member x$mem_items" "$zset_members"

# --- connections: idle clients held open on both servers while GET runs ------
declare -A idle_port idle_holder
for server in redis respd; do
    echo "connections: $idle_clients idle clients on $server" >&2
    start_server "$server"
    idle_port[$server]=$srv_port
    python3 scripts/idle-clients.py "$srv_port" "$srv_pid" "$idle_clients" --hold \
        >"$workdir/idle-$server.txt" 2>&1 &
    idle_holder[$server]=$!
    pids+=("$!")
    # The holder prints its line once every client got its PONG. respd
    # accepts behind std's fixed backlog of 128, and a full backlog costs
    # a client a 1 s SYN retry: 10,000 clients take about a minute.
    for _ in $(seq 1800); do
        grep -q per_client_bytes "$workdir/idle-$server.txt" && break
        kill -0 "${idle_holder[$server]}" 2>/dev/null || break
        sleep 0.1
    done
    if per=$(grep -o 'per_client_bytes=[-0-9]*' "$workdir/idle-$server.txt"); then
        record "idle conn x$idle_clients" B/conn "$server" "${per#*=}"
    else
        cat "$workdir/idle-$server.txt" >&2
        record "idle conn x$idle_clients" B/conn "$server" failed
    fi
done
for round in $(seq "$rounds"); do
    for server in redis respd; do
        tests=get bench "$server" "${idle_port[$server]}" "c50 +${idle_clients}idle" 0 -c 50 -n "$n_c50"
    done
done
# (the servers and holders are stopped by the EXIT trap)

# --- the table (median of the rounds) and the optional JSON ------------------
echo
python3 - "$results" "$json_out" "$rounds" <<'PY'
import json, statistics, sys
path, json_out, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
order, units, values = [], {}, {}
for line in open(path):
    cell, unit, server, value = line.rstrip("\n").split("|")
    if cell not in order:
        order.append(cell)
    units[cell] = unit
    values.setdefault((cell, server), [])
    if value != "failed":
        values[(cell, server)].append(float(value))

def med(cell, server):
    v = values.get((cell, server))
    return statistics.median(v) if v else None

def fmt(x, unit):
    if x is None:
        return "failed"
    return f"{x:,.3f}" if unit in ("ms", "s") else f"{x:,.0f}"

cells = []
print(f"{'cell':<34}{'redis':>14}{'respd':>14}{'ratio':>8}")
for cell in order:
    unit = units[cell]
    r, p = med(cell, "redis"), med(cell, "respd")
    ratio = p / r if r and p is not None else None
    name = f"{cell} {unit}"
    print(f"{name:<34}{fmt(r, unit):>14}{fmt(p, unit):>14}{(f'{ratio:.2f}' if ratio is not None else '-'):>8}")
    cells.append({"cell": cell, "unit": unit, "redis": r, "respd": p, "ratio": ratio,
                  "samples": {"redis": values.get((cell, "redis"), []),
                              "respd": values.get((cell, "respd"), [])}})
print("\nratio = respd/redis: for rps higher is better, for ms, s, B/item and B/conn lower is better")
if json_out:
    with open(json_out, "w") as f:
        json.dump({"rounds": rounds, "cells": cells}, f, indent=1)
    print(f"wrote {json_out}")
PY
